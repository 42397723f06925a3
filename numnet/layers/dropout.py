"""Dropout: randomly silence units while training, so no unit can rely on another."""

from __future__ import annotations

from typing import Any, Dict, Union

import numpy as np
from numpy.typing import ArrayLike

from .. import initializers
from ..validation import as_array, number
from .base import Layer


class Dropout(Layer):
    """Inverted dropout: zero each input with probability p in training, scale the rest by 1/(1 − p).

    Forward (training):  M ~ Bernoulli(1 − p) elementwise,  Y = X ⊙ M / (1 − p)
    Forward (inference): Y = X        (the scaling in training keeps the expected output the same)
    Backward:            dX = dY ⊙ M / (1 − p)   (dX = dY after an inference forward)
    Shapes:              X (N, ...) -> Y (N, ...).

    Args:
        p: probability of dropping a unit, in [0, 1).
        rng: a seed or numpy.random.Generator for the masks (None: fresh entropy).
    """

    def __init__(self, p: float = 0.5, *, rng: Union[None, int, np.random.Generator] = None) -> None:
        super().__init__()
        self.p = number("p", p, 0, 1, high_inclusive=False, owner="Dropout")
        self.rng = initializers.as_generator(rng)

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        X = as_array(x, self)
        if not training or self.p == 0:
            self._cache = (X.shape, 1)
            return X  # Y = X
        keep = 1 - self.p
        M = self.rng.random(X.shape, dtype=X.dtype) < keep  # M ~ Bernoulli(1 − p)
        scaled_mask = M / X.dtype.type(keep)  # M / (1 − p)
        self._cache = (X.shape, scaled_mask)
        return X * scaled_mask  # Y = X ⊙ M / (1 − p)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        shape, scaled_mask = self._cached()
        dY = self._checked_grad(grad_output, shape)
        return dY * scaled_mask  # dX = dY ⊙ M / (1 − p)

    def get_config(self) -> Dict[str, Any]:
        return {"p": self.p}

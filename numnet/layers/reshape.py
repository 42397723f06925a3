"""Layers that change an array's shape, not its values."""

from __future__ import annotations

import math
from typing import Optional, Tuple, cast

import numpy as np
from numpy.typing import ArrayLike

from .. import fastmath
from ..validation import as_array
from .base import Layer


class Flatten(Layer):
    """Flatten every sample into one row of features (images into vectors for Dense).

    Forward:  Y = X reshaped to (N, D), D = product of the per-sample dimensions
    Backward: dX = dY reshaped back to X's shape
    Shapes:   X (N, d₁, d₂, ...) -> Y (N, d₁·d₂·...).
    """

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        if None in input_shape:
            raise ValueError(
                f"{self!r}: cannot flatten per-sample shape {tuple(input_shape)}, whose None is a length known only "
                "from the data (a sequence after an Embedding); give the Sequential a fixed input_shape=(T,)"
            )
        return (int(np.prod(cast(Tuple[int, ...], input_shape))),)

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        X = self._cache = as_array(x, self)
        return X.reshape(X.shape[0], -1)  # Y = X reshaped to (N, D)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        X = self._cached()
        dY = self._checked_grad(grad_output, (X.shape[0], math.prod(X.shape[1:])))
        # dX = dY reshaped back, in X's memory layout (a conv layer's maps are batch-innermost)
        return fastmath.as_layout_of(dY.reshape(X.shape), X)

"""Dropout: randomly silence units while training, so no unit can rely on another."""

import numbers

from .. import initializers
from .base import Layer, as_array


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

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be a number in the range [0, 1). Received: p={p!r}")
        self.p = float(p)
        self.rng = initializers.as_generator(rng)
        self._cache = None

    def forward(self, x, training=False):
        x = as_array(x, self)
        if not training or self.p == 0:
            self._cache = (x.shape, 1)
            return x
        keep = 1 - self.p
        scaled_mask = (self.rng.random(x.shape, dtype=x.dtype) < keep) / x.dtype.type(keep)
        self._cache = (x.shape, scaled_mask)
        return x * scaled_mask

    def backward(self, grad_output):
        shape, scaled_mask = self._cached(self._cache)
        return self._checked_grad(grad_output, shape) * scaled_mask

    def get_config(self):
        return {"p": self.p}

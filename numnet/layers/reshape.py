"""Layers that change an array's shape, not its values."""

import math

import numpy as np

from .base import Layer, as_array


class Flatten(Layer):
    """Flatten every sample into one row of features (images into vectors for Dense).

    Forward:  Y = X reshaped to (N, D), D = product of the per-sample dimensions
    Backward: dX = dY reshaped back to X's shape
    Shapes:   X (N, d₁, d₂, ...) -> Y (N, d₁·d₂·...).
    """

    def __init__(self):
        super().__init__()
        self._x = None

    def output_shape(self, input_shape):
        if None in input_shape:
            raise ValueError(
                f"{self!r}: cannot flatten per-sample shape {tuple(input_shape)}, whose None is a length known only "
                "from the data (a sequence after an Embedding); give the Sequential a fixed input_shape=(T,)"
            )
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False):
        x = as_array(x, self)
        self._x = x
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output):
        x = self._cached(self._x)
        grad = self._checked_grad(grad_output, (x.shape[0], math.prod(x.shape[1:]))).reshape(x.shape)
        if x.flags.c_contiguous:
            return grad
        # dX in X's memory layout (a conv layer's maps are batch-innermost), so that the layers below
        # work on arrays of one layout: one copy here spares them slower strided loops
        d_x = np.empty_like(x, dtype=grad.dtype)
        d_x[...] = grad
        return d_x

"""Layers that change an array's shape, not its values."""

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
        self._shape = None

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False):
        x = as_array(x, self)
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output):
        return np.reshape(grad_output, self._cached(self._shape))

"""Activation layers: an elementwise (or, for Softmax, row-wise) function and its derivative.

None has parameters. Each returns arrays of its input's dtype.
"""

import numbers

import numpy as np

from .. import functional
from .base import Layer, as_array, zeros_in_layout_of


class Activation(Layer):
    """An activation built from a function and its derivative, as the texts write them.

    Forward:  Y = f(X)        Backward: dX = dY ⊙ f'(X)       (⊙: elementwise product)
    Shapes:   any, X (N, ...) -> Y (N, ...), the same shape.

    Args:
        function: f, applied elementwise to a NumPy array.
        derivative: f', applied elementwise to the same input X.

    Example:
        >>> tanh = Activation(np.tanh, lambda x: 1 - np.tanh(x) ** 2)
    """

    def __init__(self, function, derivative):
        super().__init__()
        if not callable(function) or not callable(derivative):
            raise TypeError(
                "Activation expects two callables, function and derivative. "
                f"Received: {type(function).__name__}, {type(derivative).__name__}"
            )
        self.function = function
        self.derivative = derivative
        self._x = None

    def forward(self, x, training=False):
        x = as_array(x, self)
        self._x = x
        return self.function(x)

    def backward(self, grad_output):
        x = self._cached(self._x)
        return self._checked_grad(grad_output, x.shape) * self.derivative(x)

    def __repr__(self):
        return f"Activation({getattr(self.function, '__name__', 'f')})"


class _OutputCachingActivation(Layer):
    """Base for activations whose derivative is cheapest in terms of their output Y."""

    def __init__(self):
        super().__init__()
        self._y = None

    def forward(self, x, training=False):
        self._y = self._function(as_array(x, self))
        return self._y


class Sigmoid(_OutputCachingActivation):
    """Logistic sigmoid, squashing any number into (0, 1).

    Forward:  Y = σ(X) = 1 / (1 + e⁻ˣ)        Backward: dX = dY ⊙ Y ⊙ (1 − Y)
    Shapes:   X (N, ...) -> Y (N, ...).
    """

    _function = staticmethod(functional.sigmoid)

    def backward(self, grad_output):
        y = self._cached(self._y)
        return self._checked_grad(grad_output, y.shape) * y * (1 - y)


class Tanh(_OutputCachingActivation):
    """Hyperbolic tangent, squashing into (−1, 1).

    Forward:  Y = tanh(X)        Backward: dX = dY ⊙ (1 − Y²)
    Shapes:   X (N, ...) -> Y (N, ...).
    """

    _function = staticmethod(np.tanh)

    def backward(self, grad_output):
        y = self._cached(self._y)
        return self._checked_grad(grad_output, y.shape) * (1 - y * y)


class ReLU(Layer):
    """Rectified linear unit.

    Forward:  Y = max(0, X)        Backward: dX = dY ⊙ [Y > 0]      (the derivative at 0 is taken as 0)
    Shapes:   X (N, ...) -> Y (N, ...).
    """

    def __init__(self):
        super().__init__()
        self._y = None
        self._zeros = np.zeros(0, np.float32)

    def forward(self, x, training=False):
        x = as_array(x, self)
        # max(X, 0) against an array of zeros, not the scalar 0: NumPy vectorizes maximum only
        # between two arrays, ~3x faster, and only when both share one memory layout (a conv layer's
        # output is batch-innermost). The zeros are kept for the next batch of the same shape and layout.
        if self._zeros.shape != x.shape or self._zeros.dtype != x.dtype or self._zeros.strides != x.strides:
            self._zeros = zeros_in_layout_of(x)
        self._y = np.maximum(x, self._zeros)  # Y > 0 exactly where X > 0: Y is all backward needs
        return self._y

    def backward(self, grad_output):
        y = self._cached(self._y)
        return self._checked_grad(grad_output, y.shape) * (y > 0)


class LeakyReLU(Layer):
    """ReLU with a small slope for negative inputs, so those units still get a gradient.

    Forward:  Y = X if X > 0 else α·X        Backward: dX = dY if X > 0 else α·dY
    Shapes:   X (N, ...) -> Y (N, ...).

    Args:
        negative_slope: α, default 0.01.
    """

    def __init__(self, negative_slope=0.01):
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real) or negative_slope < 0:
            raise ValueError(
                f"LeakyReLU: negative_slope must be a non-negative number. Received: negative_slope={negative_slope!r}"
            )
        self.negative_slope = float(negative_slope)
        self._mask = None

    def forward(self, x, training=False):
        x = as_array(x, self)
        self._mask = x > 0
        return np.where(self._mask, x, x * self.negative_slope)

    def backward(self, grad_output):
        mask = self._cached(self._mask)
        grad_output = self._checked_grad(grad_output, mask.shape)
        return np.where(mask, grad_output, grad_output * self.negative_slope)

    def get_config(self):
        return {"negative_slope": self.negative_slope}


class Softmax(_OutputCachingActivation):
    """Softmax over the last axis: turns a row of scores into probabilities that sum to 1.

    Forward:  Yᵢ = exp(Xᵢ) / Σⱼ exp(Xⱼ)
    Backward: dXᵢ = Yᵢ (dYᵢ − Σⱼ dYⱼ Yⱼ)     (the Jacobian diag(Y) − Y Yᵀ times dY, without building it)
    Shapes:   X (N, C) -> Y (N, C).

    For classification, end the model with Dense and use losses.CrossEntropy, which fuses
    softmax into the loss (a simpler, more stable gradient); use this layer for probabilities.
    """

    _function = staticmethod(functional.softmax)

    def backward(self, grad_output):
        y = self._cached(self._y)
        grad_output = self._checked_grad(grad_output, y.shape)
        return y * (grad_output - (grad_output * y).sum(axis=-1, keepdims=True))

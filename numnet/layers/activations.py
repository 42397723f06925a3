"""Activation layers: an elementwise (or, for Softmax, row-wise) function and its derivative.

None has parameters. Each returns arrays of its input's dtype.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np
from numpy.typing import ArrayLike

from .. import fastmath, functional
from ..validation import as_array, number
from .base import Layer


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

    def __init__(self, function: Callable[[np.ndarray], np.ndarray], derivative: Callable[[np.ndarray], np.ndarray]) -> None:
        super().__init__()
        if not callable(function) or not callable(derivative):
            raise TypeError(
                "Activation expects two callables, function and derivative. "
                f"Received: {type(function).__name__}, {type(derivative).__name__}"
            )
        self.function = function
        self.derivative = derivative

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        X = self._cache = as_array(x, self)
        return self.function(X)  # Y = f(X)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        X = self._cached()
        dY = self._checked_grad(grad_output, X.shape)
        return dY * self.derivative(X)  # dX = dY ⊙ f'(X)

    def __repr__(self) -> str:
        return f"Activation({getattr(self.function, '__name__', 'f')})"


class _OutputCachingActivation(Layer):
    """Base for activations whose derivative is cheapest in terms of their output Y."""

    #: Y = f(X), set by each subclass
    _function: Callable[..., np.ndarray]

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        Y = self._cache = self._function(as_array(x, self))
        return Y


class Sigmoid(_OutputCachingActivation):
    """Logistic sigmoid, squashing any number into (0, 1).

    Forward:  Y = σ(X) = 1 / (1 + e⁻ˣ)        Backward: dX = dY ⊙ Y ⊙ (1 − Y)
    Shapes:   X (N, ...) -> Y (N, ...).
    """

    _function = staticmethod(functional.sigmoid)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        Y = self._cached()
        dY = self._checked_grad(grad_output, Y.shape)
        return dY * Y * (1 - Y)  # dX = dY ⊙ Y ⊙ (1 − Y)


class Tanh(_OutputCachingActivation):
    """Hyperbolic tangent, squashing into (−1, 1).

    Forward:  Y = tanh(X)        Backward: dX = dY ⊙ (1 − Y²)
    Shapes:   X (N, ...) -> Y (N, ...).
    """

    _function = staticmethod(np.tanh)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        Y = self._cached()
        dY = self._checked_grad(grad_output, Y.shape)
        return dY * (1 - Y * Y)  # dX = dY ⊙ (1 − Y²)


class ReLU(Layer):
    """Rectified linear unit.

    Forward:  Y = max(0, X)        Backward: dX = dY ⊙ [Y > 0]      (the derivative at 0 is taken as 0)
    Shapes:   X (N, ...) -> Y (N, ...).
    """

    def __init__(self) -> None:
        super().__init__()
        self._zeros: Optional[np.ndarray] = None

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        X = as_array(x, self)
        # 0 as an array of zeros in X's layout (see fastmath.zeros_in_layout_of), kept for the next batch; only
        # read, so it takes no memory of its own and release_cache need not drop it
        zeros = self._zeros = fastmath.zeros_in_layout_of(X, reuse=self._zeros)
        Y = self._cache = np.maximum(X, zeros)  # Y = max(0, X); Y > 0 exactly where X > 0: Y is all backward needs
        return Y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        Y = self._cached()
        dY = self._checked_grad(grad_output, Y.shape)
        return dY * (Y > 0)  # dX = dY ⊙ [Y > 0]


class LeakyReLU(Layer):
    """ReLU with a small slope for negative inputs, so those units still get a gradient.

    Forward:  Y = X if X > 0 else α·X        Backward: dX = dY if X > 0 else α·dY
    Shapes:   X (N, ...) -> Y (N, ...).

    Args:
        negative_slope: α, default 0.01.
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = number("negative_slope", negative_slope, 0, owner="LeakyReLU")

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        X = as_array(x, self)
        alpha = self.negative_slope
        positive = self._cache = X > 0
        return np.where(positive, X, alpha * X)  # Y = X if X > 0 else α·X

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        positive = self._cached()
        dY = self._checked_grad(grad_output, positive.shape)
        alpha = self.negative_slope
        return np.where(positive, dY, alpha * dY)  # dX = dY if X > 0 else α·dY

    def get_config(self) -> Dict[str, Any]:
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

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        Y = self._cached()
        dY = self._checked_grad(grad_output, Y.shape)
        return Y * (dY - (dY * Y).sum(axis=-1, keepdims=True))  # dXᵢ = Yᵢ (dYᵢ − Σⱼ dYⱼ Yⱼ)

"""Check a backward pass against central finite differences, in float64."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, cast

import numpy as np
from numpy.typing import ArrayLike

from .layers.base import Layer
from .losses import Loss


#: Denominator floor: central differences carry noise of about 1e-10, so a gradient that is truly
#: zero (a bias before BatchNorm) is judged by its absolute error, ‖analytic − numeric‖ / 1e-3.
ZERO_GRADIENT_FLOOR = 1e-3


@dataclass
class GradcheckResult:
    """Relative error ‖analytic − numeric‖ / max(‖analytic‖ + ‖numeric‖, 1e-3) per checked gradient."""

    errors: Dict[str, float] = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        return max(self.errors.values())

    def __str__(self) -> str:
        rows = [f"{name:>16}  {error:.3e}" for name, error in self.errors.items()]
        return "\n".join(rows + [f"{'largest':>16}  {self.max_error:.3e}"])


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(float(np.linalg.norm(analytic) + np.linalg.norm(numeric)), ZERO_GRADIENT_FLOOR)
    return float(np.linalg.norm(analytic - numeric) / scale)


def _numeric_gradient(scalar: Callable[[], float], array: np.ndarray, eps: float) -> np.ndarray:
    """∂scalar/∂array by central differences (f(a + ε) − f(a − ε)) / 2ε, perturbing array in place."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):  # by index, not through reshape(-1): that copies non-C-ordered arrays
        original = array[index]
        array[index] = original + eps
        plus = scalar()
        array[index] = original - eps
        minus = scalar()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def gradcheck(target: Any, x: ArrayLike, y: Optional[ArrayLike] = None, *, loss: Optional[Loss] = None, eps: float = 1e-6,
              seed: int = 0, training: bool = False) -> GradcheckResult:
    """Compare the backward pass of a layer, a model or a loss with central finite differences.

    Works on a float64 copy of ``target`` (the original is untouched), so float32 layers can be
    checked too. For a layer or model the scalar differentiated is L = Σ Y ⊙ R with R random
    (a backward that ignores its upstream gradient fails), or loss(y, Y) when ``loss`` is given.
    For a loss, ``x`` are the predictions and ``y`` the targets.

    Args:
        target: a Layer, a Sequential (anything with ``.layers``) or a Loss.
        x: input batch (predictions, for a loss).
        y: targets; needed for a loss, or with ``loss``.
        loss: optional loss to put on top of a layer or model.
        eps: finite-difference step (default 1e-6).
        seed: seed of R (drawn from its own stream of that seed).
        training: run the layers in training mode (BatchNorm's batch statistics); layers that
            draw random numbers in training (Dropout) cannot be checked this way.

    Returns:
        GradcheckResult: ``errors`` per gradient ("input", "0.weight", ...) and ``max_error``;
        no "input" entry when the first layer's backward returns None (Embedding: indices have no gradient).
        Below about 1e-6 means the backward pass is right.

    Example:
        >>> gradcheck(Dense(4, 3), np.random.default_rng(0).normal(size=(5, 4))).max_error < 1e-6
        True
    """
    x = np.array(x, dtype=np.float64)
    if isinstance(target, Loss):
        if y is None:
            raise ValueError("gradcheck: checking a loss needs the targets y")
        result = GradcheckResult()
        result.errors["input"] = _relative_error(target.gradient(y, x), _numeric_gradient(lambda: target(y, x), x, eps))
        return result

    if isinstance(target, Layer):
        layers = [copy.deepcopy(target)]
    elif hasattr(target, "layers"):
        layers = copy.deepcopy(list(target.layers))
    else:
        raise TypeError(f"gradcheck expects a Layer, a model with .layers, or a Loss. Received: {type(target).__name__}")
    if loss is not None and y is None:
        raise ValueError("gradcheck: a loss needs the targets y")
    for layer in layers:
        for group in (layer.params, layer.buffers):
            for key, value in group.items():
                group[key] = value.astype(np.float64)

    def forward(inputs):
        for layer in layers:
            inputs = layer.forward(inputs, training=training)
        return inputs

    out = forward(x)
    # R gets a stream of its own: drawn like a test's input from the same seed, it would equal it
    weights = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,))).standard_normal(out.shape)
    if loss is None:
        upstream = weights

        def scalar():
            return float(np.sum(forward(x) * weights))

    else:
        upstream = loss.gradient(cast(ArrayLike, y), out)  # y is not None: checked above with the loss

        def scalar():
            return loss(y, forward(x))

    grad = upstream
    for layer in reversed(layers):
        grad = layer.backward(grad)
    analytic = {"input": grad}
    for index, layer in enumerate(layers):
        for key in layer.params:
            analytic[f"{index}.{key}" if len(layers) > 1 else key] = layer.grads[key].copy()

    result = GradcheckResult()
    if analytic["input"] is not None:  # None: the input has no gradient (an Embedding's token indices)
        result.errors["input"] = _relative_error(analytic["input"], _numeric_gradient(scalar, x, eps))
    for index, layer in enumerate(layers):
        for key, param in layer.params.items():
            name = f"{index}.{key}" if len(layers) > 1 else key
            result.errors[name] = _relative_error(analytic[name], _numeric_gradient(scalar, param, eps))
    return result

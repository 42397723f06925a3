"""Initial weights. Every function takes (shape, rng, dtype) and returns a new array.

For a weight of shape (fan_out, fan_in, ...) the fans are fan_in = shape[1]·receptive field and
fan_out = shape[0]·receptive field. The scales keep the variance of activations roughly constant
from layer to layer: Glorot for tanh/sigmoid, He for ReLU, LeCun for SELU-like units.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple, Union

import numpy as np
from numpy.typing import DTypeLike

#: an initializer: (shape, rng, dtype) -> a new array of that shape and dtype
Initializer = Callable[..., np.ndarray]


def _fans(shape: Tuple[int, ...]) -> Tuple[int, int]:
    receptive_field = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    fan_in = shape[1] * receptive_field if len(shape) > 1 else shape[0]
    return fan_in, shape[0] * receptive_field


def glorot_uniform(shape: Tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float32) -> np.ndarray:
    """U(−a, a), a = √(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape: Tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float32) -> np.ndarray:
    """N(0, σ²), σ = √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return (rng.standard_normal(shape) * np.sqrt(2 / (fan_in + fan_out))).astype(dtype)


def he_uniform(shape: Tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float32) -> np.ndarray:
    """U(−a, a), a = √(6 / fan_in)."""
    fan_in, _ = _fans(shape)
    limit = np.sqrt(6 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape: Tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float32) -> np.ndarray:
    """N(0, σ²), σ = √(2 / fan_in)."""
    fan_in, _ = _fans(shape)
    return (rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(dtype)


def lecun_normal(shape: Tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float32) -> np.ndarray:
    """N(0, σ²), σ = √(1 / fan_in)."""
    fan_in, _ = _fans(shape)
    return (rng.standard_normal(shape) * np.sqrt(1 / fan_in)).astype(dtype)


def lecun_uniform(shape: Tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float32) -> np.ndarray:
    """U(−a, a), a = √(3 / fan_in)."""
    fan_in, _ = _fans(shape)
    limit = np.sqrt(3 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def small_random(shape: Tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike = np.float32) -> np.ndarray:
    """N(0, 0.01²): the texts' "small random numbers"."""
    return (rng.standard_normal(shape) * 0.01).astype(dtype)


def zeros(shape: Tuple[int, ...], rng: Optional[np.random.Generator] = None, dtype: DTypeLike = np.float32) -> np.ndarray:
    """All zeros (biases; weights only in demonstrations, since identical units stay identical)."""
    return np.zeros(shape, dtype=dtype)


def constant(value: float) -> Initializer:
    """An initializer that fills every weight with ``value`` (for demonstrations such as the texts' all-ones network)."""

    def initializer(shape: Tuple[int, ...], rng: Optional[np.random.Generator] = None,
                    dtype: DTypeLike = np.float32) -> np.ndarray:
        return np.full(shape, value, dtype=dtype)

    initializer.__name__ = f"constant({value})"
    return initializer


INITIALIZERS: Dict[str, Initializer] = {
    f.__name__: f
    for f in (glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal, small_random, zeros)
}


#: the initializer that suits the activation after a weighted layer, by the activation layer's class
#: name: He keeps ReLU-family units alive (they halve the variance), Glorot suits the squashing functions
FOR_ACTIVATION: Dict[str, str] = {"ReLU": "he_normal", "LeakyReLU": "he_normal", "Tanh": "glorot_uniform", "Sigmoid": "glorot_uniform"}


def for_activation(activation: str) -> Optional[str]:
    """The initializer name for weights followed by ``activation`` (a layer class name such as "ReLU"),
    or None when numnet has no rule for it."""
    return FOR_ACTIVATION.get(activation)


def get(name: Union[str, Initializer]) -> Initializer:
    """Look up an initializer by name, or raise ValueError listing the choices."""
    if callable(name):
        return name
    if name not in INITIALIZERS:
        raise ValueError(f"unknown initializer {name!r}; expected one of {sorted(INITIALIZERS)}")
    return INITIALIZERS[name]


def as_generator(rng: Union[None, int, np.random.Generator]) -> np.random.Generator:
    """Accept a seed, a numpy Generator or None (fresh entropy) and return a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a seed (int), a numpy.random.Generator or None. Received: {rng!r}")

"""Argument checks shared by every part of numnet.

Each check returns the value, converted, or raises with one message in one style:
"<owner>: <name> must be <what>. Received: <name>=<value>" (scikit-learn's range messages, Keras's
"Received:"). ``owner`` is the class or function the argument belongs to; it may be empty.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Mapping, Optional

import numpy as np


def _prefix(owner: str) -> str:
    return f"{owner}: " if owner else ""


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(name: str, value: Any, owner: str = "") -> int:
    """``value`` as an int ≥ 1."""
    if type(value) is int and value > 0:  # the common case, without the abstract-class checks
        return value
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{_prefix(owner)}{name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


def non_negative_int(name: str, value: Any, owner: str = "") -> int:
    """``value`` as an int ≥ 0."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"{_prefix(owner)}{name} must be a non-negative integer. Received: {name}={value!r}")
    return int(value)


def shape(name: str, value: Any, owner: str = "") -> tuple:
    """``value`` as a non-empty tuple of positive ints, such as a per-sample shape (28, 28)."""
    try:
        dims = tuple(positive_int(name, d) for d in value)
    except (TypeError, ValueError):
        dims = ()
    if not dims:
        raise ValueError(f"{_prefix(owner)}{name} must be a tuple of positive integers. Received: {name}={value!r}")
    return dims


def number(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    integer: bool = False,
    owner: str = "",
) -> Any:
    """A finite real number (an int with ``integer=True``) in the range given by low, high and the
    inclusive flags; returned as float (or int)."""
    ok = (_is_int(value) if integer else isinstance(value, numbers.Real) and not isinstance(value, bool))
    ok = ok and math.isfinite(value)
    ok = ok and (value >= low if low_inclusive else value > low) and (value <= high if high_inclusive else value < high)
    if not ok:
        what = "an integer" if integer else "a number"
        if low == -math.inf and high == math.inf:
            where = ""
        else:
            left = ("[" if low_inclusive else "(") + f"{low:g}"
            right = f"{high:g}" + ("]" if high_inclusive else ")")
            where = f" in the range {left}, {right}".replace("inf]", "inf)").replace("[-inf", "(-inf")
        raise ValueError(f"{_prefix(owner)}{name} must be {what}{where}. Received: {name}={value!r}")
    return int(value) if integer else float(value)


def one_of(name: str, value: Any, choices: Iterable[Any], owner: str = "") -> Any:
    """``value`` if it is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        listed = ", ".join(map(repr, choices))
        raise ValueError(f"{_prefix(owner)}{name} must be one of {listed}. Received: {name}={value!r}")
    return value


def boolean(name: str, value: Any, owner: str = "") -> bool:
    """``value`` if it is True or False (not merely truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{_prefix(owner)}{name} must be True or False. Received: {name}={value!r}")
    return bool(value)


def float_dtype(owner: str, dtype: Any) -> np.dtype:
    """``dtype`` as a NumPy floating dtype."""
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"{_prefix(owner)}dtype must be a NumPy float type. Received: dtype={dtype!r}") from error
    if dtype.kind != "f":
        raise TypeError(f"{_prefix(owner)}dtype must be a NumPy float type such as float32. Received: dtype={dtype}")
    return dtype


def instance(name: str, value: Any, kind: type, what: str, owner: str = "") -> Any:
    """``value`` if it is an instance of ``kind``; ``what`` describes it for the message."""
    if not isinstance(value, kind):
        raise TypeError(f"{_prefix(owner)}{name} must be {what}. Received: {value!r}")
    return value


def as_array(x: Any, owner: object) -> np.ndarray:
    """``x`` as a floating NumPy array with at least one axis (integers become float32), or TypeError
    naming ``owner``. What every layer calls on its input."""
    if type(x) is np.ndarray and x.dtype.kind == "f" and x.ndim:
        return x  # the common case first: every layer calls this on every batch
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{owner!r}: expected an array of numbers, received {type(x).__name__}") from error
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{owner!r}: expected an array of numbers, received dtype {x.dtype}")
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    if x.ndim == 0:
        raise ValueError(f"{owner!r}: expected a batch of shape (N, ...), received a scalar")
    return x


def numeric_array(name: str, value: Any, owner: str = "") -> np.ndarray:
    """``value`` as a NumPy array of numbers (floats, integers or booleans), not yet cast."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{_prefix(owner)}{name} must be an array of numbers. Received: {type(value).__name__}") from error
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{_prefix(owner)}{name} must be an array of numbers. Received dtype {array.dtype}")
    return array


def as_batch(x: Any, dtype: np.dtype, input_shape: Optional[tuple] = None, name: str = "x") -> np.ndarray:
    """``x`` cast once, at a model's boundary, to ``dtype``: a batch (N, ...) of finite numbers whose
    per-sample shape is ``input_shape`` when that is known."""
    x = numeric_array(name, x)
    if x.ndim < 2:
        raise ValueError(f"{name} must be a batch of shape (N, features), got {x.shape}; for one sample use x[None]")
    if input_shape is not None and x.shape[1:] != tuple(input_shape):
        raise ValueError(f"{name} has shape {x.shape}; this model expects (N, {', '.join(map(str, input_shape))})")
    if x.dtype != dtype:
        with np.errstate(over="ignore"):  # values beyond float32's range become inf, reported just below
            x = x.astype(dtype)
    if not all_finite(x):
        raise ValueError(f"{name} contains NaN or infinite values (or values too large for {dtype})")
    return x


def all_finite(x: np.ndarray) -> bool:
    """Whether every entry of a float array is finite.

    First as one BLAS dot product x·x, finite unless an entry is NaN or ±inf (or huge values
    overflow it, which the exact elementwise check then settles): a single pass with no temporary
    array, where np.isfinite(x).all() writes a boolean array as large as x. vdot flattens x and,
    unlike dot, does not warn on overflow.
    """
    return math.isfinite(np.vdot(x, x)) or bool(np.isfinite(x).all())


def sample_weights(value: Any, samples: int, owner: str = "", name: str = "sample_weight") -> np.ndarray:
    """``value`` as a float64 vector of ``samples`` finite, non-negative weights, one per sample."""
    weights = numeric_array(name, value, owner)
    if weights.shape != (samples,):
        raise ValueError(f"{_prefix(owner)}{name} must hold one weight per sample, shape ({samples},). Received shape {weights.shape}")
    weights = weights.astype(np.float64)
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(
            f"{_prefix(owner)}{name} must be finite and non-negative. Received values from {weights.min()} to {weights.max()}"
        )
    return weights


def matching_tensors(expected: Mapping[str, np.ndarray], given: Mapping[str, Any]) -> None:
    """Checks that ``given`` holds a finite tensor for each name of ``expected``, with its shape and
    dtype, and nothing else (what loading weights into a model needs)."""
    if set(expected) != set(given):
        missing, unexpected = sorted(set(expected) - set(given)), sorted(set(given) - set(expected))
        raise ValueError(f"the weights do not match the architecture (missing: {missing}, unexpected: {unexpected})")
    for name, array in expected.items():
        tensor = np.asarray(given[name])
        if tensor.shape != array.shape or tensor.dtype != array.dtype:
            raise ValueError(f"tensor {name} has shape {tensor.shape} {tensor.dtype}, expected {array.shape} {array.dtype}")
        if not all_finite(tensor):
            raise ValueError(f"tensor {name} contains NaN or infinite values")

"""The geometry of sliding windows, shared by convolution and pooling: sizes, strides and offsets."""

from __future__ import annotations

import numbers
from typing import Any, Iterator, Tuple


def pair(layer_name: str, name: str, value: Any, minimum: int = 1) -> Tuple[int, int]:
    """An int or a pair of ints -> a pair of ints ≥ minimum."""
    values = (value, value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
    except TypeError:
        values = ()
    if len(values) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) >= minimum for v in values):
        raise ValueError(f"{layer_name}: {name} must be an integer ≥ {minimum} or a pair of them. Received: {name}={value!r}")
    first, second = values
    return int(first), int(second)


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """The number of window positions along one axis: ⌊(size + 2·padding − kernel) / stride⌋ + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def kernel_offsets(kernel: Tuple[int, int], stride: Tuple[int, int], out_h: int, out_w: int
                   ) -> Iterator[Tuple[Tuple[int, int], slice, slice]]:
    """For each kernel offset (p, q): the rows and the columns of the input that offset meets across
    all windows, as two strided slices. Looping over the kh·kw offsets with whole-array operations
    is what keeps convolution and pooling free of per-pixel Python loops."""
    (kh, kw), (sh, sw) = kernel, stride
    for p in range(kh):
        for q in range(kw):
            yield (p, q), slice(p, p + sh * out_h, sh), slice(q, q + sw * out_w, sw)

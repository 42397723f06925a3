"""Faster spellings of a few array operations, each a drop-in for the plain NumPy named in its docstring.

The layers, losses and optimizers write their formulas with these where the plain spelling is slow;
each docstring says what the helper computes and why it is faster. The tests compare every helper
with its plain formula (tests/test_fastmath.py).
"""

from __future__ import annotations

import functools
from typing import Any, Dict, Iterator, Optional, Tuple

import numpy as np
from numpy.typing import DTypeLike


@functools.lru_cache(maxsize=64)
def _ones(length: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ones, kept between calls."""
    vector = np.ones(length, dtype)
    vector.flags.writeable = False
    return vector


@functools.lru_cache(maxsize=64)
def _row_starts(rows: int, width: int) -> np.ndarray:
    """Flat index of each row's first entry in a C-contiguous (rows, width) array: 0, width, 2·width, …"""
    starts = np.arange(0, rows * width, width)
    starts.flags.writeable = False
    return starts


def column_sums(a: np.ndarray) -> np.ndarray:
    """Σₙ a[n], the sum over the rows of a 2-D array: a.sum(axis=0).

    Computed as 1ᵀ a, one BLAS matrix-vector product: NumPy's reduction over the rows of a short,
    wide array (a batch of gradients) is slower.
    """
    return _ones(a.shape[0], a.dtype).dot(a)


def row_sums(a: np.ndarray) -> np.ndarray:
    """The sum along the last axis: a.sum(axis=-1).

    Computed as a · 1, one BLAS matrix-vector product: NumPy reduces a short last axis (a row of
    class scores) with one inner-loop call per row, which costs more than the sums themselves.
    """
    return a.dot(_ones(a.shape[-1], a.dtype))


def row_max(a: np.ndarray) -> np.ndarray:
    """The maximum along the last axis: a.max(axis=-1) (NaN where a row holds a NaN, as there).

    Read at each row's argmax: NumPy's maximum over a short last axis pays one inner-loop call per
    row, while argmax scans all rows in one loop.
    """
    rows = a.reshape(-1, a.shape[-1])
    return pick(rows, rows.argmax(axis=1)).reshape(a.shape[:-1])


def _flat_indices(shape: Tuple[int, ...], columns: np.ndarray) -> np.ndarray:
    # columns may be unsigned: uint64 + int64 would give floats
    return _row_starts(*shape) + np.asarray(columns).astype(np.intp, copy=False)


def flat_indices(a: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Flat indices n·C + columns[n] of the entries a[n, columns[n]] of a C-contiguous (N, C) array, for
    a.ravel()[indices]: what ``pick`` reads and ``inplace_subtract_at`` writes, computed once where a
    formula needs both (the row offsets are kept between calls)."""
    return _flat_indices(a.shape, columns)


def pick(a: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """One entry per row of a 2-D array, a[n, columns[n]]: a[np.arange(N), columns].

    Read through flat indices n·C + columns[n] (the row offsets kept between calls), which costs
    less than NumPy's indexing with two index arrays.
    """
    if not a.flags.c_contiguous:
        return a[np.arange(a.shape[0]), columns]
    return a.ravel()[_flat_indices(a.shape, columns)]


def inplace_subtract_at(a: np.ndarray, columns: np.ndarray, value: float) -> None:
    """a[n, columns[n]] −= value for every row n of a 2-D array, in place: a − value · one_hot(columns).

    Written through flat indices, as ``pick`` reads (no one-hot rows are built).
    """
    if not a.flags.c_contiguous:
        a[np.arange(a.shape[0]), columns] -= value
    else:
        a.ravel()[_flat_indices(a.shape, columns)] -= value


def zeros_in_layout_of(x: np.ndarray, dtype: Optional[DTypeLike] = None, reuse: Optional[np.ndarray] = None) -> np.ndarray:
    """Zeros of x's shape, laid out in memory like x (its axes in the same order of strides);
    ``reuse`` itself when it already is such an array (then nothing is allocated).

    Elementwise operations between two arrays of one layout sweep both contiguously; with mixed
    layouts NumPy falls back to slower strided loops. np.maximum(x, zeros) with such zeros is
    faster than np.maximum(x, 0), because NumPy vectorizes maximum only between two arrays. np.zeros
    maps large arrays to the system's shared zero page, so zeros that are only read take no memory.
    """
    dtype = x.dtype if dtype is None else np.dtype(dtype)
    if reuse is not None and reuse.shape == x.shape and reuse.dtype == dtype and reuse.strides == x.strides:
        return reuse
    order = sorted(range(x.ndim), key=lambda axis: -x.strides[axis])  # outermost axis in memory first
    zeros = np.zeros([x.shape[axis] for axis in order], dtype=dtype)
    return zeros.transpose(np.argsort(order))


def as_layout_of(a: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``a`` (of like's shape) laid out in memory like ``like``: a copy when like is not C-ordered.

    The layers after a conv layer work on its batch-innermost maps; handing their gradients back in
    that same layout spares every elementwise operation there the slower strided loops.
    """
    if like.flags.c_contiguous:
        return a
    out = np.empty_like(like, dtype=a.dtype)
    out[...] = a
    return out


#: columns per slice in the products below: a few thousand keep a slice of each operand in cache
COLUMNS_PER_SLICE = 4096


def column_slices(columns: int) -> Iterator[slice]:
    """Slices of ``COLUMNS_PER_SLICE`` consecutive columns covering range(columns)."""
    return (slice(start, start + COLUMNS_PER_SLICE) for start in range(0, columns, COLUMNS_PER_SLICE))


def matmul_in_slices(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """left @ right, computed over slices of right's columns.

    For a short, very wide right (a conv layer's patches: tens of rows, 10⁴–10⁵ columns) OpenBLAS is
    faster on slices of a few thousand columns, which stay in cache, than on the whole.
    """
    product = np.empty((left.shape[0], right.shape[1]), dtype=np.result_type(left, right))
    for part in column_slices(right.shape[1]):
        np.matmul(left, right[:, part], out=product[:, part])
    return product


def matmul_transposed_in_slices(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """left @ rightᵀ for two short, very wide arrays, summed over slices of their shared columns
    (the same reason as ``matmul_in_slices``)."""
    product = np.zeros((left.shape[0], right.shape[0]), dtype=np.result_type(left, right))
    for part in column_slices(left.shape[1]):
        product += left[:, part] @ right[:, part].T
    return product


def work_array(cache: Dict[Any, np.ndarray], key: Any, like: np.ndarray) -> np.ndarray:
    """An uninitialized array shaped and laid out like ``like``, kept in the dict ``cache`` under ``key``
    and handed out again while shape, dtype and strides stay the same.

    Intermediate results written there (with ``out=``) need no new memory: a fresh temporary as large
    as a weight matrix costs an allocation, and often new pages from the system, on every step.
    """
    work = cache.get(key)
    if work is None or work.shape != like.shape or work.dtype != like.dtype or work.strides != like.strides:
        work = cache[key] = np.empty_like(like)
    return work


def inplace_moving_average(average: np.ndarray, x: np.ndarray, decay: float, work: np.ndarray) -> None:
    """average ← decay · average + (1 − decay) · x, in place.

    (1 − decay) · x goes to ``work`` (an array like x; x may be ``work`` itself), so no temporary
    array is made (see ``work_array``).
    """
    average *= decay
    average += np.multiply(x, 1 - decay, out=work)


def inplace_divided_step(w: np.ndarray, lr: float, numerator: np.ndarray, mean_square: np.ndarray, eps: float,
                         work: np.ndarray) -> None:
    """w ← w − lr · numerator / (√mean_square + eps), in place, with ``work`` (an array like w) for
    the quotient, so no temporary array is made (see ``work_array``).

    Formed as numerator · (lr / (√mean_square + eps)): the numerator, a running mean of gradients, may
    hold subnormal numbers (see ``inplace_flush_subnormals``), which some CPUs multiply at full speed
    but divide slowly.
    """
    np.sqrt(mean_square, out=work)
    work += eps
    np.divide(lr, work, out=work)
    work *= numerator
    w -= work


def inplace_flush_subnormals(a: np.ndarray, work: np.ndarray) -> None:
    """Sets the subnormal numbers of a float array to +0, in place: a[|a| < tiny] = 0, where tiny is
    the dtype's smallest normal number (np.finfo(a.dtype).tiny, about 1.2e-38 in float32), much as a
    CPU does in flush-to-zero mode. ``work`` is an array like a.

    A running average of a gradient that stays 0 (a weight of an always-dark pixel, of a dead ReLU
    unit) decays into the subnormal numbers, and stays there: near the smallest subnormal, β · a
    rounds back to a. Many CPUs multiply subnormal numbers through a microcode assist, many times
    slower than normal ones, and NumPy cannot switch on the CPU's flush-to-zero mode. Done on the
    bits: a number is zero or subnormal when its exponent bits are all 0, so a becomes a & mask with
    mask all ones where the exponent is not 0, all zeros where it is.
    """
    integer = np.dtype(f"i{a.dtype.itemsize}")
    bits, mask = a.view(integer), work.view(integer)
    np.bitwise_and(bits, _exponent_bits(a.dtype), out=mask)  # e, the exponent bits: 0 or positive
    np.negative(mask, out=mask)
    np.right_shift(mask, 8 * a.dtype.itemsize - 1, out=mask)  # −e's sign bit copied everywhere: all ones where e > 0
    bits &= mask


def _exponent_bits(dtype: np.dtype) -> int:
    """The bit mask of a float dtype's exponent field (0x7f800000 for float32)."""
    info = np.finfo(dtype)
    return ((1 << info.nexp) - 1) << info.nmant


@functools.lru_cache(maxsize=16)
def _lstm_gate_rows(hidden, dtype):
    """(scale, shift), each (4·hidden,): ½ and ½ for the sigmoid gates i, f, o; 1 and 0 for the tanh gate g."""
    half, one, zero = np.full(hidden, 0.5, dtype), np.ones(hidden, dtype), np.zeros(hidden, dtype)
    scale, shift = np.concatenate([half, half, one, half]), np.concatenate([half, half, zero, half])
    scale.flags.writeable = shift.flags.writeable = False
    return scale, shift


def lstm_gates(a, out):
    """An LSTM's gates from their pre-activations, into ``out``: for a = [aᵢ a_f a_g a_o] (N, 4H),
    out = [σ(aᵢ) σ(a_f) tanh(a_g) σ(a_o)], the plain spelling np.concatenate([sigmoid(aᵢ), sigmoid(a_f),
    np.tanh(a_g), sigmoid(a_o)], axis=1). Returns the four gates as views of out, each (N, H).

    Uses σ(x) = ½ + ½ tanh(x/2), so that all four gates come from one tanh over the whole block, scaled
    before and after by constant rows (½ for σ, 1 for tanh): four NumPy calls writing into ``out``,
    where the plain spelling makes a dozen calls and as many temporary arrays on every step of the
    sequence. tanh never overflows, and σ keeps an absolute error of a rounding unit.
    """
    hidden = a.shape[-1] // 4
    scale, shift = _lstm_gate_rows(hidden, out.dtype)
    np.multiply(a, scale, out=out)
    np.tanh(out, out=out)
    out *= scale
    out += shift
    return out[..., :hidden], out[..., hidden : 2 * hidden], out[..., 2 * hidden : 3 * hidden], out[..., 3 * hidden :]

"""Numerically stable elementwise and row-wise functions shared by layers and losses.

Each keeps the input's floating dtype and stays finite for inputs of any size (±1000 included)
without NumPy overflow warnings.
"""

import functools

import numpy as np


def sigmoid(x):
    """σ(x) = 1 / (1 + e⁻ˣ), computed from e^(−|x|) so that exp never overflows."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


@functools.lru_cache(maxsize=64)
def ones(length, dtype):
    """A read-only vector of ones, kept between calls. Sums along a short axis as products with it
    (ones.dot(a) over the rows, a.dot(ones) along them) take a third of the time of NumPy's sum there."""
    vector = np.ones(length, dtype)
    vector.flags.writeable = False
    return vector


@functools.lru_cache(maxsize=64)
def _row_starts(rows, width):
    """Flat index of each row's first entry in a C-contiguous (rows, width) array: 0, width, 2·width, …"""
    starts = np.arange(0, rows * width, width)
    starts.flags.writeable = False
    return starts


def row_entries(shape, columns):
    """Flat indices of the entries (i, columns[i]), one per row, of a C-contiguous array of 2-D shape (n, C).

    a.ravel()[row_entries(a.shape, columns)] reads them ~6x faster than NumPy's a[np.arange(n), columns]
    (0.25 against 1.6 µs for 64×10), and writes through the same view."""
    return _row_starts(*shape) + np.asarray(columns).astype(np.intp, copy=False)  # uint64 + int64 is float


def exp_shifted(x, axis=-1):
    """The parts of a stable softmax along ``axis``: shifted = x − max, e = exp(shifted) (every e ≤ 1, so
    exp never overflows) and total = Σ e, kept as an axis of length 1. softmax = e / total and
    log softmax = shifted − log total."""
    last = axis in (-1, x.ndim - 1)
    if not last:
        x = np.moveaxis(x, axis, -1)
    rows = x.reshape(-1, x.shape[-1])
    # NumPy's max and sum along a short last axis are slow (4 and 2 µs for 64×10 logits): the max read at
    # each row's argmax, and the sums as a product with a vector of ones, take 2 and 0.5 µs.
    row_max = rows.ravel()[row_entries(rows.shape, rows.argmax(axis=1))]
    shifted = x - row_max.reshape(x.shape[:-1] + (1,))
    e = np.exp(shifted)
    total = e.dot(ones(x.shape[-1], e.dtype))[..., None]
    if not last:
        shifted, e, total = (np.moveaxis(a, -1, axis) for a in (shifted, e, total))
    return shifted, e, total


def softmax(x, axis=-1):
    """softmax(x)ᵢ = exp(xᵢ − max) / Σⱼ exp(xⱼ − max)."""
    _, e, total = exp_shifted(x, axis)
    e /= total
    return e

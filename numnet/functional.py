"""Numerically stable elementwise and row-wise functions shared by layers and losses.

Each keeps the input's floating dtype and stays finite for inputs of any size (±1000 included)
without NumPy overflow warnings.
"""

from __future__ import annotations

import numpy as np

from . import fastmath


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e⁻ˣ), computed from e^(−|x|) so that exp never overflows."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(x)ᵢ = exp(xᵢ − max x) / Σⱼ exp(xⱼ − max x) along ``axis``.

    Subtracting the max changes nothing mathematically and keeps every exp ≤ 1, so it never overflows.
    """
    if axis not in (-1, x.ndim - 1):
        return np.moveaxis(softmax(np.moveaxis(x, axis, -1)), -1, axis)
    e = np.exp(x - fastmath.row_max(x)[..., None])
    e /= fastmath.row_sums(e)[..., None]
    return e

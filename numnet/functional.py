"""Numerically stable elementwise and row-wise functions shared by layers and losses.

Each keeps the input's floating dtype and stays finite for inputs of any size (±1000 included)
without NumPy overflow warnings.
"""

import numpy as np


def sigmoid(x):
    """σ(x) = 1 / (1 + e⁻ˣ), computed from e^(−|x|) so that exp never overflows."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


def log_softmax(x, axis=-1):
    """log softmax(x) = x − max − log Σ exp(x − max): the shift by the max keeps exp ≤ 1."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(x, axis=-1):
    """softmax(x)ᵢ = exp(xᵢ − max) / Σⱼ exp(xⱼ − max)."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_and_log_softmax(x, axis=-1):
    """Both from one exponential: e = exp(x − max), p = e / Σ e, log p = x − max − log Σ e."""
    shifted = x - x.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=axis, keepdims=True)
    e /= total
    return e, shifted - np.log(total)

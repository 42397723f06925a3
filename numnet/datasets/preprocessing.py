"""Turning raw arrays into what a network eats."""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike


def scale(images: ArrayLike) -> np.ndarray:
    """uint8 pixels 0..255 -> float32 in [0, 1]."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"scale expects uint8 pixels (0..255). Received dtype {images.dtype}")
    return images.astype(np.float32) / np.float32(255)


def flatten(images: ArrayLike) -> np.ndarray:
    """(N, h, w, ...) -> (N, h·w·...)."""
    images = np.asarray(images)
    if images.ndim < 2:
        raise ValueError(f"flatten expects a batch of shape (N, ...), got {images.shape}")
    return images.reshape(len(images), -1)


def one_hot(labels: ArrayLike, num_classes: Optional[int] = None, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Integer labels (N,) -> rows (N, C) with a 1 in each label's column."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"one_hot expects integer labels of shape (N,), got dtype {labels.dtype} and shape {labels.shape}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"one_hot: labels must be in the range [0, {num_classes - 1}]; got labels from {labels.min()} to {labels.max()}"
        )
    encoded = np.zeros((labels.size, num_classes), dtype=dtype)
    encoded[np.arange(labels.size), labels] = 1
    return encoded


def stratified_split(labels: ArrayLike, test_fraction: float, seed: Optional[int]) -> Tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) with each class split in the same proportion, reproducibly.

    The number of test samples per class is allocated by largest remainder, so the test set has
    exactly round(test_fraction · N) samples.
    """
    labels = np.asarray(labels)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in the range (0, 1). Received: {test_fraction!r}")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * test_fraction
    per_class = np.floor(exact).astype(int)
    shortfall = int(round(test_fraction * len(labels))) - per_class.sum()
    per_class[np.argsort(-(exact - per_class), kind="stable")[:shortfall]] += 1
    train, test = [], []
    for cls, n_test in zip(classes, per_class):
        members = rng.permutation(np.flatnonzero(labels == cls))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))

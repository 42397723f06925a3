"""Classification metrics computed from a model's raw outputs."""

from __future__ import annotations

from typing import Tuple

import numpy as np
from numpy.typing import ArrayLike


def predicted_classes(y_pred: ArrayLike, threshold: float = 0.5) -> np.ndarray:
    """Class of each row: the largest output for (N, C) outputs, output > threshold for one output."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        return y_pred.argmax(axis=1)
    return (y_pred.reshape(len(y_pred)) > threshold).astype(np.int64)


def true_classes(y_true: ArrayLike) -> np.ndarray:
    """Class labels from integer labels (N,), one-hot rows (N, C) or 0/1 targets (N, 1)."""
    y_true = np.asarray(y_true)
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        return y_true.argmax(axis=1)
    return np.rint(y_true.reshape(len(y_true))).astype(np.int64)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike, threshold: float = 0.5) -> float:
    """Fraction of rows whose predicted class equals the true class."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == 1 and y_true.dtype.kind in "iu" and y_pred.ndim == 2 and y_pred.shape[1] > 1:
        return float(np.count_nonzero(y_pred.argmax(axis=1) == y_true)) / len(y_true)  # the common case, fast
    return float(np.mean(predicted_classes(y_pred, threshold) == true_classes(y_true)))


def confusion_matrix(y_true: ArrayLike, y_pred_classes: ArrayLike, num_classes: int) -> np.ndarray:
    """C[i, j] = number of samples of true class i predicted as class j."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred_classes)), 1)
    return matrix


def precision_recall(matrix: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-class precision C[i,i]/Σⱼ C[j,i] and recall C[i,i]/Σⱼ C[i,j] (0 where nothing was predicted/present)."""
    correct = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    present = matrix.sum(axis=1)
    precision = np.divide(correct, predicted, out=np.zeros_like(correct), where=predicted > 0)
    recall = np.divide(correct, present, out=np.zeros_like(correct), where=present > 0)
    return precision, recall


def top_k_accuracy(y_true: ArrayLike, y_pred: ArrayLike, k: int = 5) -> float:
    """Fraction of rows whose true class is among the k largest outputs."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim != 2 or y_pred.shape[1] < 2:
        raise ValueError(f"top_k_accuracy needs one output per class, shape (N, C) with C ≥ 2; got {y_pred.shape}")
    k = min(k, y_pred.shape[1])
    top = np.argpartition(-y_pred, k - 1, axis=1)[:, :k]
    return float(np.mean((top == true_classes(y_true)[:, None]).any(axis=1)))

"""Metrics computed from a model's raw outputs: classification (accuracy, top-k) and regression
(mean absolute error, mean squared error, R²).

Each metric takes ``(y_true, y_pred, sample_weight=None)``; with weights it is the weighted mean
Σ wₙ mₙ / Σ wₙ of the per-sample values mₙ (for R², the weighted sums of squares), as scikit-learn's
metrics compute it.
"""

from __future__ import annotations

from typing import Optional, Tuple

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


def _mean(values: np.ndarray, sample_weight: Optional[ArrayLike]) -> float:
    """The mean of per-sample values, weighted by sample_weight when given."""
    if sample_weight is None:
        return float(np.mean(values))
    return float(np.average(values, weights=np.asarray(sample_weight)))


def accuracy(y_true: ArrayLike, y_pred: ArrayLike, threshold: float = 0.5, sample_weight: Optional[ArrayLike] = None) -> float:
    """Fraction of rows whose predicted class equals the true class (the weighted fraction with sample_weight)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if sample_weight is None and y_true.ndim == 1 and y_true.dtype.kind in "iu" and y_pred.ndim == 2 and y_pred.shape[1] > 1:
        return float(np.count_nonzero(y_pred.argmax(axis=1) == y_true)) / len(y_true)  # the common case, fast
    return _mean(predicted_classes(y_pred, threshold) == true_classes(y_true), sample_weight)


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


def top_k_accuracy(y_true: ArrayLike, y_pred: ArrayLike, k: int = 5, sample_weight: Optional[ArrayLike] = None) -> float:
    """Fraction of rows whose true class is among the k largest outputs."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim != 2 or y_pred.shape[1] < 2:
        raise ValueError(f"top_k_accuracy needs one output per class, shape (N, C) with C ≥ 2; got {y_pred.shape}")
    k = min(k, y_pred.shape[1])
    top = np.argpartition(-y_pred, k - 1, axis=1)[:, :k]
    return _mean((top == true_classes(y_true)[:, None]).any(axis=1), sample_weight)


def _regression_pair(y_true, y_pred, name):
    """y_true and y_pred as float64 arrays (N, outputs) of one shape; (N,) targets go with (N, 1) outputs."""
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape and y_true.size == y_pred.size and y_true.shape[:1] == y_pred.shape[:1]:
        y_true = y_true.reshape(y_pred.shape)
    if y_true.shape != y_pred.shape or y_pred.ndim == 0 or len(y_pred) == 0:
        raise ValueError(f"{name} compares outputs with targets of the same shape; got outputs {y_pred.shape} and targets {y_true.shape}")
    return y_true.reshape(len(y_true), -1), y_pred.reshape(len(y_pred), -1)


def mean_absolute_error(y_true, y_pred, sample_weight=None):
    """MAE = mean |ŷ − y| over all samples and outputs."""
    y_true, y_pred = _regression_pair(y_true, y_pred, "mean_absolute_error")
    return _mean(np.abs(y_pred - y_true).mean(axis=1), sample_weight)


def mean_squared_error(y_true, y_pred, sample_weight=None):
    """MSE = mean (ŷ − y)² over all samples and outputs."""
    y_true, y_pred = _regression_pair(y_true, y_pred, "mean_squared_error")
    return _mean(((y_pred - y_true) ** 2).mean(axis=1), sample_weight)


def r2_score(y_true, y_pred, sample_weight=None):
    """Coefficient of determination R² = 1 − Σ (y − ŷ)² / Σ (y − ȳ)², per output, averaged over the outputs.

    1 is a perfect fit, 0 is no better than predicting the mean ȳ, and it is negative when worse.
    For an output whose targets are all equal (Σ (y − ȳ)² = 0) R² is 1 for a perfect fit and 0 otherwise,
    as scikit-learn's r2_score (force_finite=True) gives.
    """
    y_true, y_pred = _regression_pair(y_true, y_pred, "r2_score")
    w = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    w = w[:, None]
    residual = (w * (y_true - y_pred) ** 2).sum(axis=0)
    mean = (w * y_true).sum(axis=0) / w.sum()
    total = (w * (y_true - mean) ** 2).sum(axis=0)
    scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), np.where(residual == 0, 1.0, 0.0))
    return float(scores.mean())

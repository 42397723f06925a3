"""Costs: how wrong a batch of predictions is, and the gradient that starts backpropagation.

Every loss is called as ``loss(y_true, y_pred, sample_weight=None)`` and has
``loss.gradient(y_true, y_pred, sample_weight=None)`` -> dL/dy_pred, the same shape and dtype as y_pred.

A loss is made of terms ℓ (one per element for MSE and BinaryCrossEntropy, one per sample, or per
position of a sequence, for CrossEntropy), each with a weight ω (1 unless ``sample_weight``, a class
weight or an ignored label says otherwise), reduced by ``reduction``:

    "mean" (default):  L = Σ ω ℓ / Σ ω      dL/dŷ = ω dℓ/dŷ / Σ ω
    "sum":             L = Σ ω ℓ            dL/dŷ = ω dℓ/dŷ
    "none":            the array ω ℓ        the gradient of its sum, ω dℓ/dŷ

With every ω = 1 the mean is the plain batch mean: its gradient carries the 1/N, and every
parameter gradient behind it is a batch mean. When every weight is 0 (a batch of ignored labels or
of zero sample weights) there is nothing to learn from: the mean is 0 and its gradient 0 (PyTorch
gives nan).
"""

from __future__ import annotations

import numbers
from typing import Any, Optional, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

from . import fastmath, validation
from .functional import sigmoid

REDUCTIONS = ("mean", "sum", "none")


class Loss:
    """Base class: validates the arrays, then computes the terms and reduces them.

    A subclass defines ``_terms(y_true, y_pred) -> (ℓ, dℓ/dŷ, ω)``: the terms, the derivative of each
    term by the predictions (y_pred's shape), and the terms' own weights (None when all are 1).

    Args:
        reduction: "mean" (default), "sum" or "none" (see the module docstring).
    """

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = validation.one_of("reduction", reduction, REDUCTIONS, owner=type(self).__name__)

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> Any:
        return self.value_and_gradient(y_true, y_pred, sample_weight)[0]

    def gradient(self, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> np.ndarray:
        return self.value_and_gradient(y_true, y_pred, sample_weight)[1]

    def value_and_gradient(self, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> Tuple[Any, np.ndarray]:
        """Both at once, checking the inputs once (what a training step needs). The value is a float,
        or for reduction="none" an array of the terms."""
        y_true, y_pred = self._check(y_true, y_pred)
        terms, d_terms, weights = self._terms(y_true, y_pred)
        if sample_weight is not None:
            weights = _times(weights, self._check_sample_weight(sample_weight, y_pred), terms.shape)
        if weights is None and self.reduction == "mean":  # the plain batch mean: L = Σ ℓ / M, dL/dŷ = dℓ/dŷ / M
            d_terms /= terms.size
            value: Union[float, np.ndarray] = float(terms.sum()) / terms.size
        else:
            value, d_terms = self._reduce(terms, d_terms, weights)
        return value, d_terms if d_terms.dtype == y_pred.dtype else d_terms.astype(y_pred.dtype)

    def _reduce(self, terms: np.ndarray, d_terms: np.ndarray, weights: Optional[np.ndarray]) -> Tuple[Union[float, np.ndarray], np.ndarray]:
        """The other reductions of the module docstring; d_terms is scaled in place (the loss's own array)."""
        if weights is None:
            return (float(terms.sum()) if self.reduction == "sum" else terms), d_terms
        weights = weights.astype(d_terms.dtype, copy=False)
        weighted = weights * terms
        d_terms *= weights.reshape(weights.shape + (1,) * (d_terms.ndim - weights.ndim))  # ω per class row
        if self.reduction == "none":
            return weighted, d_terms
        if self.reduction == "sum":
            return float(weighted.sum()), d_terms
        total = weights.sum()
        if total == 0:  # nothing weighs: nothing to learn from this batch
            return 0.0, np.zeros_like(d_terms)
        d_terms /= total
        return float(weighted.sum() / total), d_terms

    def _terms(self, y_true: np.ndarray, y_pred: np.ndarray) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """(ℓ, dℓ/dŷ, ω) for checked arrays: the terms, their derivative by y_pred, their weights (None: all 1)."""
        raise NotImplementedError(f"{type(self).__name__} must define _terms(y_true, y_pred)")

    def _check(self, y_true: ArrayLike, y_pred: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
        y_pred = np.asarray(y_pred)
        if y_pred.dtype.kind != "f":
            y_pred = y_pred.astype(np.float64)
        y_true = np.asarray(y_true)
        if y_true.dtype.kind not in "fiub":
            raise TypeError(f"{self!r}: y_true must be numeric. Received dtype {y_true.dtype}")
        if y_pred.ndim == 0 or y_pred.shape[0] == 0:
            raise ValueError(f"{self!r}: expected a non-empty batch of predictions, got shape {y_pred.shape}")
        if y_true.shape != y_pred.shape and y_true.size == y_pred.size and y_true.shape[:1] == y_pred.shape[:1]:
            y_true = y_true.reshape(y_pred.shape)  # (N,) targets against an (N, 1) output
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{self!r}: expected y_true of the same shape as y_pred {y_pred.shape}, got {y_true.shape}"
            )
        return y_true.astype(y_pred.dtype, copy=False), y_pred

    def _check_sample_weight(self, sample_weight: ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        """sample_weight as one finite, non-negative weight per sample, in y_pred's dtype."""
        return validation.sample_weights(sample_weight, len(y_pred), owner=repr(self)).astype(y_pred.dtype, copy=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._options()})"

    def _options(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


def _times(weights: Optional[np.ndarray], sample_weight: np.ndarray, shape: Tuple[int, ...]) -> np.ndarray:
    """The terms' weights (of ``shape``) times each sample's weight, repeated over a sample's terms."""
    sample_weight = np.broadcast_to(sample_weight.reshape(shape[:1] + (1,) * (len(shape) - 1)), shape)
    return sample_weight if weights is None else weights * sample_weight


class MSE(Loss):
    """Mean squared error over all elements.

    Terms:    ℓ = (ŷ − y)², one per element (M = N·outputs of them)
    Loss:     L = (1/M) Σ (ŷ − y)²          (reduction="mean", no weights)
    Gradient: dL/dŷ = 2 (ŷ − y) / M

    Args:
        reduction: "mean" (default), "sum" or "none" (the (N, outputs) squared errors).
    """

    def _terms(self, y_true: np.ndarray, y_pred: np.ndarray) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        error = y_pred - y_true
        return error**2, 2 * error, None


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy for yes/no targets y ∈ [0, 1].

    Terms:    ℓ = −[y log p + (1 − y) log(1 − p)], one per element (M of them)
    Loss:     L = (1/M) Σ ℓ                                   (reduction="mean", no weights)
    Gradient: dL/dp = (p − y) / (p (1 − p)) / M               (p: probabilities, after Sigmoid)
              dL/dz = (σ(z) − y) / M                          (only used when from_logits=True)

    Args:
        from_logits: False (default) when y_pred holds probabilities, True when it holds the raw
            scores z before a sigmoid; the fused form is stable for any z.
        reduction: "mean" (default), "sum" or "none" (the elementwise terms).

    With probabilities, log p is bounded below by −100 and p(1 − p) by 1e-12, as PyTorch's
    BCELoss does, so a saturated sigmoid gives a large finite loss instead of inf.
    """

    def __init__(self, from_logits: bool = False, reduction: str = "mean") -> None:
        self.from_logits = validation.boolean("from_logits", from_logits, owner="BinaryCrossEntropy")
        super().__init__(reduction)

    def _check(self, y_true: ArrayLike, y_pred: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
        y_true, y_pred = super()._check(y_true, y_pred)
        if np.any((y_true < 0) | (y_true > 1)):
            raise ValueError(f"{self!r}: targets must lie in [0, 1], got values from {y_true.min()} to {y_true.max()}")
        if not self.from_logits and np.any((y_pred < 0) | (y_pred > 1)):
            raise ValueError(
                f"{self!r}: predictions must be probabilities in [0, 1], got values from {y_pred.min()} "
                f"to {y_pred.max()}; end the model with Sigmoid or use BinaryCrossEntropy(from_logits=True)"
            )
        return y_true, y_pred

    def _terms(self, y_true: np.ndarray, y_pred: np.ndarray) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        if self.from_logits:
            # log(1 + e^z) − y z, written so that exp never overflows
            z = y_pred
            terms = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
            return terms, sigmoid(z) - y_true, None
        p = y_pred
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_1mp = np.maximum(np.log1p(-p), -100)
        terms = -(y_true * log_p + (1 - y_true) * log_1mp)
        return terms, (p - y_true) / np.maximum(p * (1 - p), 1e-12), None

    def _options(self) -> str:
        reduction = super()._options()
        return f"from_logits={self.from_logits}" + (f", {reduction}" if reduction else "")


class CrossEntropy(Loss):
    """Softmax cross-entropy on logits, for one-of-C classification.

    Terms:    ℓₙ = −Σ꜀ yₙ꜀ log softmax(zₙ)꜀,  which for a label is  ℓₙ = log Σ exp zₙ − zₙ,label
    Loss:     L = Σ ωₙ ℓₙ / Σ ωₙ, with ωₙ = class_weight[label] (1 without class weights, 0 where
              the label is ignore_index); plain labels give L = mean(log Σ exp z − z_label)
    Gradient: dL/dzₙ = ωₙ (softmax(zₙ) − yₙ) / Σ ω    (y: the one-hot rows of the labels)
    Shapes:   z (N, C) logits, or (N, T, C) for a sequence (any axes between N and C: one term per
              position, the mean taken over all of them); targets either integer labels (N,) or
              (N, T) in [0, C), or one-hot / probability rows of z's shape.

    Args:
        class_weight: optional C non-negative weights, one per class: a weighted mean as in
            torch.nn.CrossEntropyLoss(weight=...). With probability rows the weights go inside the
            sum, ℓₙ = −Σ꜀ w꜀ yₙ꜀ log softmax(zₙ)꜀, and the mean divides by N (as PyTorch does).
        ignore_index: optional label whose positions contribute nothing (padding in a sequence);
            the mean is over the other positions. Only used with integer labels.
        reduction: "mean" (default), "sum" or "none" (the ωₙ ℓₙ: shape (N,) or (N, T)).

    Softmax is fused in: pass the raw outputs of the last Dense layer, not Softmax outputs (to turn
    logits into probabilities, use numnet.functional.softmax). The fused gradient is simple and stays
    finite for logits of any size. Both formulas are computed on z − max z (per row), which leaves
    them unchanged and keeps exp from overflowing.
    """

    def __init__(self, class_weight: Optional[ArrayLike] = None, ignore_index: Optional[int] = None, reduction: str = "mean") -> None:
        if class_weight is not None:
            weights = np.asarray(class_weight)
            if weights.ndim != 1 or weights.size == 0 or weights.dtype.kind not in "fiu":
                raise ValueError(f"CrossEntropy: class_weight must be a 1-D array of one weight per class. Received: {class_weight!r}")
            weights = weights.astype(np.float64)
            if not np.isfinite(weights).all() or (weights < 0).any():
                raise ValueError(f"CrossEntropy: class_weight must be finite and non-negative. Received: {class_weight!r}")
            class_weight = weights
        if ignore_index is not None and (not isinstance(ignore_index, numbers.Integral) or isinstance(ignore_index, bool)):
            raise TypeError(f"CrossEntropy: ignore_index must be an integer label or None. Received: ignore_index={ignore_index!r}")
        self.class_weight = class_weight
        self.ignore_index = None if ignore_index is None else int(ignore_index)
        super().__init__(reduction)

    def _check(self, y_true: ArrayLike, y_pred: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
        y_pred = np.asarray(y_pred)
        if y_pred.dtype.kind != "f":
            y_pred = y_pred.astype(np.float64)
        if y_pred.ndim < 2 or y_pred.shape[0] == 0:
            raise ValueError(
                f"CrossEntropy: expected a non-empty batch of logits of shape (N, C) or (N, T, C), got {y_pred.shape}"
            )
        classes = y_pred.shape[-1]
        if self.class_weight is not None and self.class_weight.size != classes:
            raise ValueError(
                f"CrossEntropy: class_weight has {self.class_weight.size} weights, the logits {classes} classes {y_pred.shape}"
            )
        y_true = np.asarray(y_true)
        if y_true.ndim == y_pred.ndim - 1:
            if y_true.dtype.kind not in "iu":
                raise TypeError(
                    f"CrossEntropy: targets of shape {y_true.shape} must be integer class labels, got dtype {y_true.dtype}; "
                    f"pass labels as integers or one-hot rows of shape {y_pred.shape}"
                )
            if y_true.shape != y_pred.shape[:-1]:
                raise ValueError(f"CrossEntropy: expected labels of shape {y_pred.shape[:-1]} for logits of shape {y_pred.shape}, got {y_true.shape}")
            counted = y_true if self.ignore_index is None else y_true[y_true != self.ignore_index]
            if counted.size and (counted.min() < 0 or counted.max() >= classes):
                raise ValueError(
                    f"CrossEntropy: labels must be in the range [0, {classes - 1}] for {classes} classes, "
                    f"got labels from {counted.min()} to {counted.max()}"
                )
            return y_true, y_pred  # labels stay labels: no one-hot rows are built
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"CrossEntropy: expected integer labels of shape {y_pred.shape[:-1]} or one-hot targets of shape {y_pred.shape}, "
                f"got {y_true.shape}"
            )
        return y_true.astype(y_pred.dtype, copy=False), y_pred

    def _terms(self, y: np.ndarray, z: np.ndarray) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        labels = y.ndim < z.ndim
        if z.ndim > 2:  # (N, T, C) logits: the terms of the (N·T, C) rows, reshaped back to (N, T)
            rows = z.reshape(-1, z.shape[-1])
            terms, dz, weights = self._terms(y.reshape(-1) if labels else y.reshape(rows.shape), rows)
            return terms.reshape(z.shape[:-1]), dz.reshape(z.shape), None if weights is None else weights.reshape(z.shape[:-1])
        weights = None
        if labels and self.ignore_index is not None:
            kept = y != self.ignore_index
            weights = kept.astype(z.dtype)
            y = np.where(kept, y, 0)  # any class: the weight 0 removes the term
        if labels and self.class_weight is not None:
            class_weight = self.class_weight.astype(z.dtype)[y]
            weights = class_weight if weights is None else class_weight * weights
        terms, dz = self._row_terms(y, z)
        return terms, dz, weights

    def _row_terms(self, y: np.ndarray, z: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """ℓₙ and dℓₙ/dzₙ for rows z (N, C) and labels (N,) or probability rows (N, C)."""
        # z − max z: ℓ and softmax(z) are unchanged, exp cannot overflow; in C order, for the flat indices below
        z = np.subtract(z, fastmath.row_max(z)[:, None], order="C")
        e = np.exp(z)
        total = fastmath.row_sums(e)  # Σ exp z
        e /= total[:, None]
        softmax = e
        if y.ndim == 1:  # labels
            label = fastmath.flat_indices(z, y)  # where z[n, yₙ] sits in z and in dz (both C-ordered)
            terms = np.log(total) - z.ravel()[label]  # log Σ exp z − z_label
            dz = softmax
            dz.ravel()[label] -= 1  # softmax(z) − y, y the labels' one-hot rows
            return terms, dz
        if self.class_weight is not None:  # ℓ = −Σ w y log softmax(z):  dℓ/dz = (Σ w y) softmax(z) − w y
            y = y * self.class_weight.astype(z.dtype)
            return -(y * (z - np.log(total)[:, None])).sum(axis=1), fastmath.row_sums(y)[:, None] * softmax - y
        return -(y * (z - np.log(total)[:, None])).sum(axis=1), softmax - y  # −Σ y log softmax(z)

    def _options(self) -> str:
        options = []
        if self.class_weight is not None:
            options.append(f"class_weight={self.class_weight.tolist()}")
        if self.ignore_index is not None:
            options.append(f"ignore_index={self.ignore_index}")
        reduction = super()._options()
        return ", ".join(options + ([reduction] if reduction else []))

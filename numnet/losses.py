"""Costs: how wrong a batch of predictions is, and the gradient that starts backpropagation.

Every loss is called as ``loss(y_true, y_pred) -> float`` (a mean over the batch) and has
``loss.gradient(y_true, y_pred)`` -> dL/dy_pred, the same shape and dtype as y_pred. Because the
loss is a mean, its gradient carries the 1/N, and every parameter gradient behind it is a batch mean.
"""

import numpy as np

from . import fastmath, validation
from .functional import sigmoid


class Loss:
    """Base class: validates the pair of arrays, then computes value or gradient."""

    def __call__(self, y_true, y_pred):
        y_true, y_pred = self._check(y_true, y_pred)
        return float(self._value(y_true, y_pred))

    def gradient(self, y_true, y_pred):
        y_true, y_pred = self._check(y_true, y_pred)
        return self._gradient(y_true, y_pred).astype(y_pred.dtype, copy=False)

    def value_and_gradient(self, y_true, y_pred):
        """Both at once, checking the inputs once (what a training step needs)."""
        y_true, y_pred = self._check(y_true, y_pred)
        return float(self._value(y_true, y_pred)), self._gradient(y_true, y_pred).astype(y_pred.dtype, copy=False)

    def _check(self, y_true, y_pred):
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

    def __repr__(self):
        return f"{type(self).__name__}()"


class MSE(Loss):
    """Mean squared error over all elements.

    Loss:     L = (1/M) Σ (ŷ − y)²         (M = number of elements, N·outputs)
    Gradient: dL/dŷ = 2 (ŷ − y) / M
    """

    def _value(self, y_true, y_pred):
        return np.mean((y_pred - y_true) ** 2)

    def _gradient(self, y_true, y_pred):
        return 2 * (y_pred - y_true) / y_pred.size


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy for yes/no targets y ∈ [0, 1].

    Loss:     L = −(1/M) Σ [y log p + (1 − y) log(1 − p)]
    Gradient: dL/dp = (p − y) / (p (1 − p)) / M               (p: probabilities, after Sigmoid)
              dL/dz = (σ(z) − y) / M                          (only used when from_logits=True)

    Args:
        from_logits: False (default) when y_pred holds probabilities, True when it holds the raw
            scores z before a sigmoid; the fused form is stable for any z.

    With probabilities, log p is bounded below by −100 and p(1 − p) by 1e-12, as PyTorch's
    BCELoss does, so a saturated sigmoid gives a large finite loss instead of inf.
    """

    def __init__(self, from_logits=False):
        self.from_logits = validation.boolean("from_logits", from_logits, owner="BinaryCrossEntropy")

    def _check(self, y_true, y_pred):
        y_true, y_pred = super()._check(y_true, y_pred)
        if np.any((y_true < 0) | (y_true > 1)):
            raise ValueError(f"{self!r}: targets must lie in [0, 1], got values from {y_true.min()} to {y_true.max()}")
        if not self.from_logits and np.any((y_pred < 0) | (y_pred > 1)):
            raise ValueError(
                f"{self!r}: predictions must be probabilities in [0, 1], got values from {y_pred.min()} "
                f"to {y_pred.max()}; end the model with Sigmoid or use BinaryCrossEntropy(from_logits=True)"
            )
        return y_true, y_pred

    def _value(self, y_true, y_pred):
        if self.from_logits:
            # log(1 + e^z) − y z, written so that exp never overflows
            z = y_pred
            return np.mean(np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z))))
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(y_pred), -100)
            log_1mp = np.maximum(np.log1p(-y_pred), -100)
        return -np.mean(y_true * log_p + (1 - y_true) * log_1mp)

    def _gradient(self, y_true, y_pred):
        if self.from_logits:
            return (sigmoid(y_pred) - y_true) / y_pred.size
        return (y_pred - y_true) / np.maximum(y_pred * (1 - y_pred), 1e-12) / y_pred.size

    def __repr__(self):
        return f"BinaryCrossEntropy(from_logits={self.from_logits})"


class CrossEntropy(Loss):
    """Softmax cross-entropy on logits, for one-of-C classification.

    Loss:     L = −(1/N) Σₙ Σ꜀ yₙ꜀ log softmax(zₙ)꜀,  which for labels is  L = mean(log Σ exp z − z_label)
    Gradient: dL/dz = (softmax(z) − y) / N
    Shapes:   z (N, C) logits; targets either integer labels (N,) in [0, C) or one-hot /
              probability rows (N, C) (y above: the one-hot rows of the labels).

    Softmax is fused in: pass the raw outputs of the last Dense layer, not Softmax outputs.
    The fused gradient is simple and stays finite for logits of any size. Both formulas are
    computed on z − max z (per row), which leaves them unchanged and keeps exp from overflowing.
    """

    def _check(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        if y_pred.dtype.kind != "f":
            y_pred = y_pred.astype(np.float64)
        if y_pred.ndim != 2 or y_pred.shape[0] == 0:
            raise ValueError(f"CrossEntropy: expected a non-empty batch of logits of shape (N, C), got {y_pred.shape}")
        n, classes = y_pred.shape
        y_true = np.asarray(y_true)
        if y_true.ndim == 1:
            if y_true.dtype.kind not in "iu":
                raise TypeError(
                    f"CrossEntropy: 1-D targets must be integer class labels, got dtype {y_true.dtype}; "
                    "pass labels as integers or one-hot rows of shape (N, C)"
                )
            if y_true.shape[0] != n:
                raise ValueError(f"CrossEntropy: expected {n} labels for logits of shape {y_pred.shape}, got {y_true.shape[0]}")
            if (y_true.min() < 0 or y_true.max() >= classes):
                raise ValueError(
                    f"CrossEntropy: labels must be in the range [0, {classes - 1}] for {classes} classes, "
                    f"got labels from {y_true.min()} to {y_true.max()}"
                )
            return y_true, y_pred  # labels stay labels: no one-hot rows are built
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"CrossEntropy: expected integer labels of shape ({n},) or one-hot targets of shape {y_pred.shape}, "
                f"got {y_true.shape}"
            )
        return y_true.astype(y_pred.dtype, copy=False), y_pred

    def value_and_gradient(self, y_true, y_pred):
        """Both from one exponential (what a training step needs)."""
        return self._value_and_gradient(*self._check(y_true, y_pred))

    def _value_and_gradient(self, y, z):
        N = z.shape[0]
        z = z - fastmath.row_max(z)[:, None]  # z − max z: L and softmax(z) are unchanged, exp cannot overflow
        e = np.exp(z)
        total = fastmath.row_sums(e)  # Σ exp z
        softmax = e / total[:, None]
        if y.ndim == 1:  # labels
            L = (np.log(total) - fastmath.pick(z, y)).sum() / N  # mean(log Σ exp z − z_label)
            dz = softmax
            fastmath.inplace_subtract_at(dz, y, 1)  # softmax(z) − y, y the labels' one-hot rows
        else:
            L = -(y * (z - np.log(total)[:, None])).sum() / N  # −(1/N) Σ y log softmax(z)
            dz = softmax - y
        dz /= N
        return float(L), dz

    def _value(self, y_true, y_pred):
        return self._value_and_gradient(y_true, y_pred)[0]

    def _gradient(self, y_true, y_pred):
        return self._value_and_gradient(y_true, y_pred)[1]

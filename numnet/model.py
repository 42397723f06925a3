"""Sequential: a list of layers run forward in order and backward in reverse, and the training loop."""

import contextlib
import numbers
import signal
import sys
import threading

import numpy as np

from . import metrics
from .layers.base import Layer
from .losses import BinaryCrossEntropy, CrossEntropy, Loss
from .optimizers import Optimizer
from .progress import EpochProgress


class History:
    """What ``fit`` returns: ``history`` maps each metric ("loss", "accuracy", "val_loss", ...) to one value per epoch."""

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.interrupted = False

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, metrics={list(self.history)})"


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


@contextlib.contextmanager
def _stop_after_batch_on_ctrl_c():
    """Turn the first Ctrl-C into a request to stop after the current batch; a second one stops at once."""
    request = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request["stop"]:
            raise KeyboardInterrupt
        request["stop"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


class Sequential:
    """A network as a list of layers: forward runs them in order, backward in reverse (the chain rule).

    Forward:  Y = fₖ(…f₂(f₁(X)))        Backward: dX = f₁ᵀ(f₂ᵀ(…fₖᵀ(dY)))  where fᵢᵀ is layer i's backward.

    Args:
        layers: the layers, in order. Consecutive shapes are checked when they can be known.
        input_shape: optional per-sample input shape, such as (28, 28); checked on every batch.

    Example:
        >>> model = Sequential([Dense(2, 3, rng=0), Tanh(), Dense(3, 1, rng=1), Tanh()])
        >>> history = model.fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=500, batch_size=4, verbose=0)
    """

    def __init__(self, layers, input_shape=None):
        if isinstance(layers, Layer) or not hasattr(layers, "__iter__"):
            raise TypeError(f"Sequential expects a list of layers. Received: {type(layers).__name__}")
        if input_shape is not None:
            try:
                input_shape = tuple(int(d) for d in input_shape)
            except (TypeError, ValueError):
                raise TypeError(f"input_shape must be a tuple of positive integers. Received: {input_shape!r}") from None
            if not input_shape or min(input_shape) <= 0:
                raise ValueError(f"input_shape must be a tuple of positive integers. Received: {input_shape!r}")
        self.input_shape = input_shape
        self.layers = []
        #: JSON-able facts saved with the model (what it was trained on, class names, ...)
        self.metadata = {}
        for layer in layers:
            self.add(layer)

    def add(self, layer):
        """Append a layer, checking that it is one and that it fits the output of the layer before."""
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential: item {len(self.layers)} must be a numnet layer (Dense, ReLU, ...). "
                f"Received: {layer!r} of type {type(layer).__name__}"
            )
        self.layers.append(layer)
        try:
            self.output_shapes()
        except ValueError as error:
            self.layers.pop()
            raise ValueError(f"Sequential: layer {len(self.layers)} does not fit: {error}") from None

    # -- shapes and dtype -------------------------------------------------------------------------

    def output_shapes(self):
        """Per-sample output shape of each layer, None where it cannot be known before data arrives."""
        shapes, shape = [], self.input_shape
        for layer in self.layers:
            if shape is None and layer.input_shape is not None:
                shape = layer.input_shape
            shape = layer.output_shape(shape) if shape is not None else None
            shapes.append(shape)
        return shapes

    @property
    def dtype(self):
        """The dtype of the parameters (float32 unless the layers were created otherwise)."""
        for layer in self.layers:
            for param in layer.params.values():
                return param.dtype
        return np.dtype(np.float32)

    def _as_input(self, x, name="x"):
        """Cast once, at the boundary, to the parameters' dtype; reject what cannot be a batch."""
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be an array of numbers. Received: {type(x).__name__}") from error
        if x.dtype.kind not in "fiub":
            raise TypeError(f"{name} must be an array of numbers. Received dtype {x.dtype}")
        if x.ndim < 2:
            raise ValueError(f"{name} must be a batch of shape (N, features), got {x.shape}; for one sample use x[None]")
        if self.input_shape is not None and x.shape[1:] != self.input_shape:
            raise ValueError(
                f"{name} has shape {x.shape}; this model expects (N, {', '.join(map(str, self.input_shape))})"
            )
        x = x.astype(self.dtype, copy=False)
        if not np.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        return x

    # -- the two passes ---------------------------------------------------------------------------

    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    __call__ = forward

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def predict(self, x, batch_size=256):
        """Outputs for x, computed in batches in inference mode (no dropout)."""
        x = self._as_input(x)
        batch_size = _positive_int("batch_size", batch_size)
        outputs = [self.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        if not outputs:
            raise ValueError("x is empty: nothing to predict")
        return np.concatenate(outputs)

    # -- training ---------------------------------------------------------------------------------

    @staticmethod
    def _accuracy(loss, y_true, y_pred):
        """Accuracy for classification losses, None for regression."""
        if isinstance(loss, CrossEntropy):
            return metrics.accuracy(y_true, y_pred)
        if isinstance(loss, BinaryCrossEntropy):
            return metrics.accuracy(y_true, y_pred, threshold=0.0 if loss.from_logits else 0.5)
        return None

    def _check_xy(self, x, y, name="x"):
        x = self._as_input(x, name)
        y = np.asarray(y)
        if len(y) != len(x):
            raise ValueError(f"{name} and its targets must have the same number of samples: got {len(x)} and {len(y)}")
        if len(x) == 0:
            raise ValueError(f"{name} is empty: nothing to train or evaluate on")
        return x, y

    def fit(
        self, x, y, *, loss, optimizer, epochs, batch_size=32, shuffle=True, seed=None, validation_data=None, verbose=1
    ):
        """Train with mini-batch gradient descent and return a History of per-epoch metrics.

        Each step: forward a batch, L = loss(y, ŷ), backward dL/dŷ through the layers, optimizer.step.
        batch_size=1 is per-sample SGD; batch_size=len(x) is full-batch gradient descent.

        Args:
            x, y: training inputs (N, ...) and targets (N, ...).
            loss: a numnet.losses loss. optimizer: a numnet.optimizers optimizer.
            epochs: passes over the data. batch_size: samples per step (default 32).
            shuffle: reshuffle the order every epoch (default True). seed: seed of that order.
            validation_data: (x_val, y_val) evaluated after each epoch into val_loss, val_accuracy.
            verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.

        A non-finite loss stops training with FloatingPointError naming the epoch and batch.
        Ctrl-C stops after the current batch; the model keeps what it learned and
        ``history.interrupted`` is True.
        """
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be a numnet.losses loss such as CrossEntropy(). Received: {loss!r}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a numnet.optimizers optimizer such as SGD(0.1). Received: {optimizer!r}")
        epochs = _positive_int("epochs", epochs)
        batch_size = _positive_int("batch_size", batch_size)
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2. Received: verbose={verbose!r}")
        x, y = self._check_xy(x, y)
        if batch_size > len(x):
            raise ValueError(
                f"batch_size must be at most the number of samples ({len(x)}). Received: batch_size={batch_size}"
            )
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            validation_data = self._check_xy(*validation_data, name="validation x")

        rng = np.random.default_rng(seed)
        history = History()
        batches = range(0, len(x), batch_size)
        # overflow in a diverging run surfaces as the non-finite-loss error below, not as NumPy warnings
        with _stop_after_batch_on_ctrl_c() as request, np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(1, epochs + 1):
                order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
                progress = EpochProgress(epoch, epochs, len(batches), verbose)
                loss_sum, correct_sum, seen = 0.0, 0.0, 0
                for batch, start in enumerate(batches, 1):
                    index = order[start : start + batch_size]
                    xb, yb = x[index], y[index]
                    out = self.forward(xb, training=True)
                    value, grad = loss.value_and_gradient(yb, out)
                    if not np.isfinite(value):
                        progress.close({})
                        raise FloatingPointError(
                            f"the loss became {value} at epoch {epoch}, batch {batch}: training diverged. "
                            f"Try a lower learning rate (lr={optimizer.lr:g} now)."
                        )
                    self.backward(grad)
                    optimizer.step(self)
                    seen += len(index)
                    loss_sum += value * len(index)
                    logs = {"loss": loss_sum / seen}
                    batch_accuracy = self._accuracy(loss, yb, out)
                    if batch_accuracy is not None:
                        correct_sum += batch_accuracy * len(index)
                        logs["accuracy"] = correct_sum / seen
                    progress.update(logs)
                    if request["stop"]:
                        break
                if request["stop"]:
                    progress.close(logs)
                    history.interrupted = True
                    print(
                        f"Training interrupted in epoch {epoch}/{epochs} after batch {batch}/{len(batches)}; "
                        f"the model keeps the weights learned so far ({len(history.epoch)} full epochs recorded).",
                        file=sys.stderr,
                    )
                    break
                self._check_finite_params(epoch)
                if validation_data is not None:
                    logs.update({f"val_{k}": v for k, v in self.evaluate(*validation_data, loss=loss).items()})
                history.append(epoch, logs)
                progress.close(logs)
        return history

    def _check_finite_params(self, epoch):
        for index, layer in enumerate(self.layers):
            for key, param in layer.params.items():
                if not np.isfinite(param).all():
                    raise FloatingPointError(
                        f"parameter {index}.{key} became NaN or infinite in epoch {epoch}: training diverged. "
                        "Try a lower learning rate."
                    )

    def evaluate(self, x, y, *, loss, batch_size=256):
        """Mean loss (and accuracy for classification losses) over x, y in inference mode."""
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be a numnet.losses loss such as CrossEntropy(). Received: {loss!r}")
        x, y = self._check_xy(x, y)
        out = self.predict(x, batch_size=batch_size)
        results = {"loss": loss(y, out)}
        accuracy = self._accuracy(loss, y, out)
        if accuracy is not None:
            results["accuracy"] = accuracy
        return results

    # -- files ------------------------------------------------------------------------------------

    def save(self, path, metadata=None):
        """Save to a safetensors model file (atomically); reload with numnet.load(path)."""
        from .serialization import save_model

        save_model(self, path, metadata)

    # -- description ------------------------------------------------------------------------------

    def count_params(self):
        return sum(p.size for layer in self.layers for p in layer.params.values())

    def summary(self, print_fn=print):
        """Print a table of the layers, their output shapes and parameter counts."""
        rows = [("#", "Layer", "Output shape", "Params")]
        for i, (layer, shape) in enumerate(zip(self.layers, self.output_shapes())):
            shown = "(N, " + ", ".join(map(str, shape)) + ")" if shape is not None else "?"
            rows.append((str(i), repr(layer), shown, f"{sum(p.size for p in layer.params.values()):,}"))
        widths = [max(len(row[c]) for row in rows) for c in range(4)]
        line = "-" * (sum(widths) + 6)
        text = [line]
        for n, row in enumerate(rows):
            text.append("  ".join(cell.rjust(w) if c in (0, 3) else cell.ljust(w) for c, (cell, w) in enumerate(zip(row, widths))))
            if n == 0:
                text.append(line)
        text += [line, f"Total params: {self.count_params():,}  ({self.dtype})"]
        for row in text:
            print_fn(row)

    def __repr__(self):
        return "Sequential([" + ", ".join(map(repr, self.layers)) + "])"

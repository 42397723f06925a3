"""Callbacks: code that ``fit`` calls at fixed points of training, with Keras's hook names.

Epochs and batches are numbered from 1. ``logs`` holds the metrics so far ("loss", "accuracy",
"val_loss", ...). Before training, ``fit`` sets ``callback.model``, ``callback.optimizer`` and
``callback.loop`` (the running loop's state: numnet.training.LoopState). A callback stops training
by setting ``self.model.stop_training = True``. Callbacks with state (best value so far, patience
left) expose ``state_dict()`` / ``load_state_dict()`` so that a resumed run continues exactly where
it stopped.
"""

import csv
import math
import sys
from typing import Any

from tqdm.auto import tqdm

from ._files import atomic_write
from .improvement import Improvement, resolve_mode
from .schedules import ReduceLROnPlateau
from .validation import non_negative_int


class Callback:
    """Base class: every hook does nothing."""

    model: Any = None
    optimizer: Any = None
    loop: Any = None

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def defines(callback, hook):
    """Whether a callback does something in ``hook``: its class or the instance replaces Callback's no-op."""
    return getattr(type(callback), hook) is not getattr(Callback, hook) or hook in vars(callback)


class CallbackList:
    """Calls the hooks of several callbacks, in order, and tells which define the per-batch hooks
    (the loop builds running logs for a batch only when some callback reads them)."""

    def __init__(self, callbacks, model=None, optimizer=None, loop=None):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be numnet.callbacks.Callback objects. Received: {callback!r}")
            callback.model, callback.optimizer, callback.loop = model, optimizer, loop
        self.batch_begin = [c for c in self.callbacks if defines(c, "on_train_batch_begin")]
        self.batch_end = [c for c in self.callbacks if defines(c, "on_train_batch_end")]

    def on_train_begin(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        for callback in self.batch_begin:
            callback.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        for callback in self.batch_end:
            callback.on_train_batch_end(batch, logs)


def _format(logs):
    return "  ".join(f"{k} {v:.4g}" if k == "lr" else f"{k} {v:.4f}" for k, v in logs.items())


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running metrics and time left (verbose=1), or one line per epoch (verbose=2)."""

    def __init__(self, verbose=1):
        self.verbose = verbose
        self.bar = None

    def on_train_begin(self, logs=None):
        self.epochs = logs.get("epochs", "?") if logs else "?"
        self.batches = logs.get("batches") if logs else None

    def on_epoch_begin(self, epoch, logs=None):
        self.prefix = f"Epoch {epoch}/{self.epochs}"
        if self.verbose == 1:
            self.bar = tqdm(total=self.batches, desc=self.prefix, unit="batch", dynamic_ncols=True,
                            initial=(logs or {}).get("resumed_batches", 0))

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.set_postfix_str(_format(logs), refresh=False)
            self.bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.set_postfix_str(_format(logs))
            self.bar.close()
            self.bar = None
        elif self.verbose == 2:
            print(f"{self.prefix}  {_format(logs)}", file=sys.stdout, flush=True)

    def on_train_end(self, logs=None):
        if self.bar is not None:  # stopped inside an epoch
            self.bar.close()
            self.bar = None


def _monitored(callback, logs):
    if callback.monitor not in logs:
        raise ValueError(
            f"{type(callback).__name__}: the monitored metric {callback.monitor!r} is not among the logged "
            f"metrics {sorted(logs)}; pass validation data for 'val_*' metrics or choose another monitor"
        )
    return logs[callback.monitor]


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: the metric to watch (default "val_loss").
        patience: epochs without improvement before stopping (default 0).
        min_delta: smallest change that counts as an improvement (default 0).
        mode: "min", "max" or "auto" (max for accuracies, min otherwise).
        restore_best_weights: at the end of training, put back the weights of the best epoch.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto", restore_best_weights=False):
        patience = non_negative_int("patience", patience, owner="EarlyStopping")
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(float(min_delta))
        self.mode = resolve_mode(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.improvement = Improvement(self.mode, self.min_delta)
        self.best_epoch, self.wait, self.stopped_epoch = None, 0, None
        self.best_weights = None

    @property
    def best(self):
        return self.improvement.best

    def on_epoch_end(self, epoch, logs=None):
        if self.improvement.update(_monitored(self, logs)):
            self.best_epoch, self.wait = epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch is not None:
            print(f"Early stopping in epoch {self.stopped_epoch}: {self.monitor} has not improved since epoch "
                  f"{self.best_epoch} ({self.best:.4f}).", file=sys.stderr)
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state):
        self.improvement.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]


class ModelCheckpoint(Callback):
    """Save the model after every epoch, or only when ``monitor`` improves (``save_best_only``).

    Args:
        path: file to write; may contain "{epoch}" and metric names, e.g. "model-{epoch:02d}-{val_loss:.3f}.safetensors".
        monitor: metric for save_best_only (default "val_loss"). mode: "min", "max" or "auto".
        save_best_only: write only when the monitored metric improves (default False).
    """

    def __init__(self, path, monitor="val_loss", save_best_only=False, mode="auto"):
        self.path, self.monitor, self.save_best_only = str(path), monitor, save_best_only
        self.mode = resolve_mode(monitor, mode)
        self.improvement = Improvement(self.mode)

    @property
    def best(self):
        return self.improvement.best

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only and not self.improvement.update(_monitored(self, logs)):
            return
        self.model.save(self.path.format(epoch=epoch, **logs))

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.improvement.best = state["best"]


class LearningRateScheduler(Callback):
    """Change the learning rate after every epoch and log it as "lr".

    Args:
        schedule: a numnet.schedules schedule (StepLR, ExponentialLR, CosineAnnealingLR,
            ReduceLROnPlateau) built on the same optimizer, or a function (epoch, lr) -> new lr.
        monitor: metric fed to ReduceLROnPlateau (default "val_loss").
    """

    def __init__(self, schedule, monitor="val_loss"):
        if not (callable(schedule) or hasattr(schedule, "step")):
            raise TypeError(f"LearningRateScheduler expects a schedule or a function (epoch, lr) -> lr. Received: {schedule!r}")
        self.schedule, self.monitor = schedule, monitor

    def on_train_begin(self, logs=None):
        owner = getattr(self.schedule, "optimizer", self.optimizer)
        if owner is not self.optimizer:
            raise ValueError("LearningRateScheduler: the schedule was built on a different optimizer than the one passed to fit")

    def on_epoch_end(self, epoch, logs=None):
        logs["lr"] = self.optimizer.lr
        if isinstance(self.schedule, ReduceLROnPlateau):
            self.schedule.step(_monitored(self, logs))
        elif hasattr(self.schedule, "step"):
            self.schedule.step()
        else:
            lr = float(self.schedule(epoch, self.optimizer.lr))
            if not (math.isfinite(lr) and lr > 0):
                raise ValueError(f"LearningRateScheduler: the schedule function returned lr={lr} for epoch {epoch}; expected a positive number")
            self.optimizer.lr = lr

    def state_dict(self):
        return self.schedule.state_dict() if hasattr(self.schedule, "state_dict") else {}

    def load_state_dict(self, state):
        if hasattr(self.schedule, "load_state_dict"):
            self.schedule.load_state_dict(state)


class CSVLogger(Callback):
    """Write the metrics of every epoch to a CSV file (rewritten atomically after each epoch)."""

    def __init__(self, path):
        self.path = path
        self.rows = []

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **{k: float(v) for k, v in logs.items()}})
        columns = list(dict.fromkeys(k for row in self.rows for k in row))
        with atomic_write(self.path, "w") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)

    def state_dict(self):
        return {"rows": self.rows}

    def load_state_dict(self, state):
        self.rows = list(state["rows"])


from .diagnostics import Diagnostics  # noqa: E402  (defined in its own module, offered here with the other callbacks)

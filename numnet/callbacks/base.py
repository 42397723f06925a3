"""The callback contract and its dispatcher. Callbacks are code that ``fit`` calls at fixed points of
training, with Keras's hook names.

Epochs and batches are numbered from 1. ``logs`` holds the metrics so far ("loss", "accuracy",
"val_loss", ...). Before training, ``fit`` sets ``callback.model``, ``callback.optimizer`` and
``callback.loop`` (the running loop's state: numnet.training.LoopState). A callback stops training
by setting ``self.model.stop_training = True``. Callbacks with state (best value so far, patience
left) expose ``state_dict()`` / ``load_state_dict()`` so that a resumed run continues exactly where
it stopped.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, cast


class Callback:
    """Base class: every hook does nothing."""

    model: Any = None
    optimizer: Any = None
    loop: Any = None

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        pass

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        pass

    def on_train_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None:
        pass

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        pass

    def state_dict(self) -> Dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        pass


def defines(callback: Callback, hook: str) -> bool:
    """Whether a callback does something in ``hook``: its class or the instance replaces Callback's no-op."""
    return getattr(type(callback), hook) is not getattr(Callback, hook) or hook in vars(callback)


class CallbackList:
    """Calls the hooks of several callbacks, in order, and tells which define the per-batch hooks
    (the loop builds running logs for a batch only when some callback reads them)."""

    def __init__(self, callbacks: Iterable[Callback], model: Any = None, optimizer: Any = None, loop: Any = None) -> None:
        self.callbacks: List[Callback] = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be numnet.callbacks.Callback objects. Received: {callback!r}")
            callback.model, callback.optimizer, callback.loop = model, optimizer, loop
        self.batch_begin = [c for c in self.callbacks if defines(c, "on_train_batch_begin")]
        self.batch_end = [c for c in self.callbacks if defines(c, "on_train_batch_end")]

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None:
        for callback in self.batch_begin:
            callback.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        for callback in self.batch_end:
            callback.on_train_batch_end(batch, logs)


def monitored(callback: Any, logs: Optional[dict]) -> Any:
    """The value of ``callback.monitor`` in ``logs``, or an error listing the metrics there are."""
    logs = cast(dict, logs)  # fit passes logs to every hook
    if callback.monitor not in logs:
        raise ValueError(
            f"{type(callback).__name__}: the monitored metric {callback.monitor!r} is not among the logged "
            f"metrics {sorted(logs)}; pass validation data for 'val_*' metrics or choose another monitor"
        )
    return logs[callback.monitor]

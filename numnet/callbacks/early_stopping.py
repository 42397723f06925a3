"""EarlyStopping: end training when a monitored metric stops improving."""

from __future__ import annotations

import sys
from typing import Any, Dict, Mapping, Optional

import numpy as np

from ..improvement import Improvement, resolve_mode
from ..validation import non_negative_int
from .base import Callback, monitored


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: the metric to watch (default "val_loss").
        patience: epochs without improvement before stopping (default 0).
        min_delta: smallest change that counts as an improvement (default 0).
        mode: "min", "max" or "auto" (max for accuracies, min otherwise).
        restore_best_weights: at the end of training, put back the weights of the best epoch.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = False) -> None:
        patience = non_negative_int("patience", patience, owner="EarlyStopping")
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(float(min_delta))
        self.mode = resolve_mode(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.improvement = Improvement(self.mode, self.min_delta)
        self.best_epoch: Optional[int] = None
        self.wait = 0
        self.stopped_epoch: Optional[int] = None
        self.best_weights: Optional[Dict[str, np.ndarray]] = None

    @property
    def best(self) -> Optional[float]:
        return self.improvement.best

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        if self.improvement.update(monitored(self, logs)):
            self.best_epoch, self.wait = epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        if self.stopped_epoch is not None:
            print(f"Early stopping in epoch {self.stopped_epoch}: {self.monitor} has not improved since epoch "
                  f"{self.best_epoch} ({self.best:.4f}).", file=sys.stderr)
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    def state_dict(self) -> Dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.improvement.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]

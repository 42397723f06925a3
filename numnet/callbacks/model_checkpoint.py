"""ModelCheckpoint: save the model every epoch, or when a monitored metric improves."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Optional, cast

from ..improvement import Improvement, resolve_mode
from .base import Callback, monitored


class ModelCheckpoint(Callback):
    """Save the model after every epoch, or only when ``monitor`` improves (``save_best_only``).

    Args:
        path: file to write; may contain "{epoch}" and metric names, e.g. "model-{epoch:02d}-{val_loss:.3f}.safetensors".
        monitor: metric for save_best_only (default "val_loss"). mode: "min", "max" or "auto".
        save_best_only: write only when the monitored metric improves (default False).
    """

    def __init__(self, path: str | Path, monitor: str = "val_loss", save_best_only: bool = False, mode: str = "auto") -> None:
        self.path, self.monitor, self.save_best_only = str(path), monitor, save_best_only
        self.mode = resolve_mode(monitor, mode)
        self.improvement = Improvement(self.mode)

    @property
    def best(self) -> Optional[float]:
        return self.improvement.best

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        logs = cast(dict, logs)  # fit passes logs to every hook
        if self.save_best_only and not self.improvement.update(monitored(self, logs)):
            return
        self.model.save(self.path.format(epoch=epoch, **logs))

    def state_dict(self) -> Dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.improvement.best = state["best"]

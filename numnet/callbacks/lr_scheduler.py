"""LearningRateScheduler: change the optimizer's learning rate after every epoch."""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Mapping, Optional, Union, cast

from ..schedules import ReduceLROnPlateau, Schedule
from .base import Callback, monitored


class LearningRateScheduler(Callback):
    """Change the learning rate after every epoch and log it as "lr".

    Args:
        schedule: a numnet.schedules schedule (StepLR, ExponentialLR, CosineAnnealingLR,
            ReduceLROnPlateau) built on the same optimizer, or a function (epoch, lr) -> new lr.
        monitor: metric fed to ReduceLROnPlateau (default "val_loss").
    """

    def __init__(self, schedule: Union[Schedule, ReduceLROnPlateau, Callable[[int, float], float]],
                 monitor: str = "val_loss") -> None:
        if not (callable(schedule) or hasattr(schedule, "step")):
            raise TypeError(f"LearningRateScheduler expects a schedule or a function (epoch, lr) -> lr. Received: {schedule!r}")
        self.schedule, self.monitor = schedule, monitor

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        owner = getattr(self.schedule, "optimizer", self.optimizer)
        if owner is not self.optimizer:
            raise ValueError("LearningRateScheduler: the schedule was built on a different optimizer than the one passed to fit")

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        logs = cast(dict, logs)  # fit passes logs to every hook
        logs["lr"] = self.optimizer.lr
        if isinstance(self.schedule, ReduceLROnPlateau):
            self.schedule.step(monitored(self, logs))
        elif hasattr(self.schedule, "step"):
            self.schedule.step()
        else:
            lr = float(self.schedule(epoch, self.optimizer.lr))
            if not (math.isfinite(lr) and lr > 0):
                raise ValueError(f"LearningRateScheduler: the schedule function returned lr={lr} for epoch {epoch}; expected a positive number")
            self.optimizer.lr = lr

    def state_dict(self) -> Dict[str, Any]:
        return self.schedule.state_dict() if hasattr(self.schedule, "state_dict") else {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if hasattr(self.schedule, "load_state_dict"):
            self.schedule.load_state_dict(state)

"""Learning-rate schedules: each sets ``optimizer.lr`` from the epoch count, once per ``step()``.

Use them from ``fit`` through ``callbacks.LearningRateScheduler(schedule)``, or call ``step()`` at the
end of every epoch yourself. Epoch 0 is the start of training; after the k-th ``step()`` the
learning rate is ``lr_at(k)``. The formulas are torch.optim.lr_scheduler's.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Mapping, Optional

from .improvement import Improvement
from .optimizers import Optimizer
from .validation import non_negative_int, number, one_of, positive_int


class Schedule:
    """Base class for schedules that depend on the epoch alone (subclasses define ``lr_at``)."""

    #: the learning rate after ``epoch`` steps
    lr_at: Callable[[int], float]

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0

    def step(self) -> float:
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)
        return self.optimizer.lr

    def state_dict(self) -> Dict[str, Any]:
        return {"base_lr": self.base_lr, "epoch": self.epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.base_lr, self.epoch = float(state["base_lr"]), int(state["epoch"])
        self.optimizer.lr = self.lr_at(self.epoch)


class StepLR(Schedule):
    """Multiply the learning rate by γ every ``step_size`` epochs: lr = lr₀ · γ^⌊epoch / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = positive_int("step_size", step_size, owner="StepLR")
        self.gamma = number("gamma", gamma, 0, low_inclusive=False, owner="StepLR")

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(Schedule):
    """Multiply the learning rate by γ every epoch: lr = lr₀ · γ^epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = number("gamma", gamma, 0, low_inclusive=False, owner="ExponentialLR")

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealingLR(Schedule):
    """Half a cosine from lr₀ down to eta_min over T_max epochs, optionally after a linear warm-up.

    Without warm-up:  lr = eta_min + (lr₀ − eta_min) · (1 + cos(π · epoch / T_max)) / 2
    With warm-up (w = warmup_epochs, only used when > 0):
        epoch < w:    lr = lr₀ · (epoch + 1) / (w + 1)          (rising linearly towards lr₀)
        epoch ≥ w:    the cosine above over the remaining T_max − w epochs, starting at lr₀

    Args:
        T_max: epochs of the whole schedule (warm-up included).
        eta_min: the final learning rate (default 0).
        warmup_epochs: epochs of linear warm-up (default 0).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, warmup_epochs: int = 0) -> None:
        super().__init__(optimizer)
        self.T_max = positive_int("T_max", T_max, owner="CosineAnnealingLR")
        self.eta_min = number("eta_min", eta_min, 0, owner="CosineAnnealingLR")
        self.warmup_epochs = number("warmup_epochs", warmup_epochs, 0, self.T_max - 1, integer=True, owner="CosineAnnealingLR")
        optimizer.lr = self.lr_at(0)

    def lr_at(self, epoch: int) -> float:
        w = self.warmup_epochs
        if epoch < w:
            return self.base_lr * (epoch + 1) / (w + 1)
        progress = (epoch - w) / (self.T_max - w)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2


class ReduceLROnPlateau:
    """Multiply the learning rate by ``factor`` when a monitored value stops improving.

    After each ``step(value)``: if value beats the best so far (by ``threshold``, relative or absolute),
    it becomes the best; otherwise a bad epoch is counted. More than ``patience`` bad epochs in a row
    set lr ← max(lr · factor, min_lr) and start ``cooldown`` epochs in which bad epochs are not counted.

    Args:
        mode: "min" (losses) or "max" (accuracies). factor: in (0, 1), default 0.1. patience: default 10.
        threshold: default 1e-4. threshold_mode: "rel" (default) or "abs". cooldown: default 0. min_lr: default 0.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0) -> None:
        owner = "ReduceLROnPlateau"
        self.optimizer = optimizer
        self.mode = one_of("mode", mode, ("min", "max"), owner=owner)
        self.factor = number("factor", factor, 0, 1, low_inclusive=False, high_inclusive=False, owner=owner)
        self.patience = non_negative_int("patience", patience, owner=owner)
        self.threshold = number("threshold", threshold, 0, owner=owner)
        self.threshold_mode = one_of("threshold_mode", threshold_mode, ("rel", "abs"), owner=owner)
        self.cooldown = non_negative_int("cooldown", cooldown, owner=owner)
        self.min_lr = number("min_lr", min_lr, 0, owner=owner)
        self.improvement = Improvement(self.mode, self.threshold, self.threshold_mode)
        self.bad_epochs = 0
        self.cooldown_left = 0
        self.epoch = 0

    @property
    def best(self) -> Optional[float]:
        return self.improvement.best

    def step(self, value: float) -> float:
        self.epoch += 1
        if self.improvement.update(float(value)):
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.patience:
            reduced = max(self.optimizer.lr * self.factor, self.min_lr)
            if self.optimizer.lr - reduced > 1e-8:
                self.optimizer.lr = reduced
            self.cooldown_left, self.bad_epochs = self.cooldown, 0
        return self.optimizer.lr

    def state_dict(self) -> Dict[str, Any]:
        return {"best": self.best, "bad_epochs": self.bad_epochs, "cooldown_left": self.cooldown_left,
                "epoch": self.epoch, "lr": self.optimizer.lr}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.improvement.best = None if state["best"] is None else float(state["best"])
        self.bad_epochs = int(state["bad_epochs"])
        self.cooldown_left, self.epoch = int(state["cooldown_left"]), int(state["epoch"])
        self.optimizer.lr = float(state["lr"])

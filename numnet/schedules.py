"""Learning-rate schedules: each sets ``optimizer.lr`` from the epoch count, once per ``step()``.

Use them from ``fit`` through ``callbacks.LearningRateScheduler(schedule)``, or call ``step()`` at the
end of every epoch yourself. Epoch 0 is the start of training; after the k-th ``step()`` the
learning rate is ``lr_at(k)``. The formulas are torch.optim.lr_scheduler's.
"""

import math
import numbers

from .improvement import Improvement


def _check(owner, name, value, low, high=None, low_inclusive=True, integer=False):
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= low if low_inclusive else value > low) and (high is None or value <= high)
    if not ok:
        what = "an integer" if integer else "a number"
        raise ValueError(f"{owner}: {name} must be {what} ≥ {low}{f' and ≤ {high}' if high is not None else ''}. Received: {name}={value!r}")
    return value


class Schedule:
    """Base class for schedules that depend on the epoch alone (subclasses define ``lr_at``)."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0

    def step(self):
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)
        return self.optimizer.lr

    def state_dict(self):
        return {"base_lr": self.base_lr, "epoch": self.epoch}

    def load_state_dict(self, state):
        self.base_lr, self.epoch = float(state["base_lr"]), int(state["epoch"])
        self.optimizer.lr = self.lr_at(self.epoch)


class StepLR(Schedule):
    """Multiply the learning rate by γ every ``step_size`` epochs: lr = lr₀ · γ^⌊epoch / step_size⌋."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        super().__init__(optimizer)
        self.step_size = _check("StepLR", "step_size", step_size, 1, integer=True)
        self.gamma = _check("StepLR", "gamma", gamma, 0, low_inclusive=False)

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(Schedule):
    """Multiply the learning rate by γ every epoch: lr = lr₀ · γ^epoch."""

    def __init__(self, optimizer, gamma):
        super().__init__(optimizer)
        self.gamma = _check("ExponentialLR", "gamma", gamma, 0, low_inclusive=False)

    def lr_at(self, epoch):
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

    def __init__(self, optimizer, T_max, eta_min=0.0, warmup_epochs=0):
        super().__init__(optimizer)
        self.T_max = _check("CosineAnnealingLR", "T_max", T_max, 1, integer=True)
        self.eta_min = _check("CosineAnnealingLR", "eta_min", eta_min, 0)
        self.warmup_epochs = _check("CosineAnnealingLR", "warmup_epochs", warmup_epochs, 0, T_max - 1, integer=True)
        optimizer.lr = self.lr_at(0)

    def lr_at(self, epoch):
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

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max'. Received: mode={mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs'. Received: threshold_mode={threshold_mode!r}")
        if not (isinstance(factor, numbers.Real) and 0 < factor < 1):
            raise ValueError(f"ReduceLROnPlateau: factor must be a number in (0, 1). Received: factor={factor!r}")
        self.optimizer, self.mode, self.factor = optimizer, mode, float(factor)
        self.patience = _check("ReduceLROnPlateau", "patience", patience, 0, integer=True)
        self.threshold = _check("ReduceLROnPlateau", "threshold", threshold, 0)
        self.threshold_mode = threshold_mode
        self.cooldown = _check("ReduceLROnPlateau", "cooldown", cooldown, 0, integer=True)
        self.min_lr = _check("ReduceLROnPlateau", "min_lr", min_lr, 0)
        self.improvement = Improvement(mode, self.threshold, threshold_mode)
        self.bad_epochs = 0
        self.cooldown_left = 0
        self.epoch = 0

    @property
    def best(self):
        return self.improvement.best

    def step(self, value):
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

    def state_dict(self):
        return {"best": self.best, "bad_epochs": self.bad_epochs, "cooldown_left": self.cooldown_left,
                "epoch": self.epoch, "lr": self.optimizer.lr}

    def load_state_dict(self, state):
        self.improvement.best = None if state["best"] is None else float(state["best"])
        self.bad_epochs = int(state["bad_epochs"])
        self.cooldown_left, self.epoch = int(state["cooldown_left"]), int(state["epoch"])
        self.optimizer.lr = float(state["lr"])

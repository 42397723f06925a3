"""The one rule for "has the monitored value improved?", shared by EarlyStopping, ModelCheckpoint and
ReduceLROnPlateau."""

from __future__ import annotations

import math
from typing import Optional

from . import validation


def resolve_mode(monitor: str, mode: str) -> str:
    """"min" or "max" for a metric name: "auto" means max for accuracies, min for everything else."""
    validation.one_of("mode", mode, ("auto", "min", "max"))
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


class Improvement:
    """Whether a value beats the best so far by more than a margin.

    mode "min":  value < best − δ  (threshold_mode "abs")  or  value < best · (1 − δ)  ("rel")
    mode "max":  value > best + δ                          or  value > best · (1 + δ)
    The first value always improves (best starts at None).

    Args:
        mode: "min" (losses) or "max" (accuracies).
        delta: δ ≥ 0, the margin (default 0).
        threshold_mode: "abs" (default) or "rel".
    """

    def __init__(self, mode: str = "min", delta: float = 0.0, threshold_mode: str = "abs") -> None:
        self.mode = validation.one_of("mode", mode, ("min", "max"))
        self.delta = validation.number("delta", abs(delta) if isinstance(delta, (int, float)) else delta, 0)
        self.threshold_mode = validation.one_of("threshold_mode", threshold_mode, ("abs", "rel"))
        self.best: Optional[float] = None

    def bound(self) -> float:
        """The value to beat."""
        if self.best is None:
            return math.inf if self.mode == "min" else -math.inf
        sign = -1 if self.mode == "min" else 1
        if self.threshold_mode == "rel":
            return self.best * (1 + sign * self.delta)
        return self.best + sign * self.delta

    def improves(self, value: float) -> bool:
        return value < self.bound() if self.mode == "min" else value > self.bound()

    def update(self, value: float) -> bool:
        """Record ``value`` as the best if it improves; return whether it did."""
        better = self.improves(value)
        if better:
            self.best = float(value)
        return better

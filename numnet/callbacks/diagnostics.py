"""Training diagnostics: what each layer does while a network trains, and plain warnings when it goes wrong.

``Diagnostics(probe)`` is a callback. At the start and after every epoch it traces a fixed probe
batch through the model (numnet.trace: the layers' own forward passes) and records, per layer,
the mean and spread of the outputs, the fraction of dead ReLU units and of saturated sigmoid/tanh
outputs. On a few training batches per epoch it reads the real gradients and measures each
weight's update: gradient norm and update-to-weight ratio ‖ΔW‖/‖W‖ (rule of thumb: about 1e-3).

Rules, each with the fix, checked after every epoch (and when training stops early):
    inputs not scaled        the probe's values reach far beyond ±10 (pixels 0–255 into a Dense layer)
    dead ReLUs               most units of a hidden ReLU layer output 0 for every probe sample
    saturated units          most outputs of a hidden sigmoid/tanh layer sit on its flat ends
    vanishing gradients      the first weighted layer's gradients are < 1/1000 of the last one's (RMS)
    exploding gradients      ... > 1000 times the last one's, or not finite
    learning rate too high   updates move the weights by more than 10 % a step (‖ΔW‖/‖W‖ > 0.1)
    learning rate too low    updates move every weight by less than 1e-6 of itself a step
"""

from __future__ import annotations

import csv
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import numpy as np

from .. import plots
from .._files import atomic_write
from .base import Callback
from ..layers.activations import ReLU, Sigmoid, Tanh
from ..layers.base import Layer, WeightedLayer
from ..layers.conv import Conv2D
from ..layers.dense import Dense
from ..layers.dropout import Dropout
from ..layers.reshape import Flatten
from ..trace import trace

#: the rule of thumb for ‖ΔW‖/‖W‖ per step
GOOD_UPDATE_RATIO = 1e-3
#: an update ratio above this is a learning rate far too high (100× the rule of thumb)
HIGH_UPDATE_RATIO = 0.1
#: an update ratio below this, in every layer, is a learning rate far too low
LOW_UPDATE_RATIO = 1e-6
#: a 99th percentile of |input| above this means the inputs were not scaled
INPUT_SCALE_LIMIT = 10.0
#: fraction of dead ReLU units or of saturated sigmoid/tanh outputs that makes "most"
MOST = 0.5
#: first-to-last ratio of RMS gradients beyond which gradients vanish (below 1/this) or explode (above this)
GRADIENT_RATIO_LIMIT = 1e3
#: a sigmoid output below this or above 1 − this, or a |tanh| above 1 − 2·this, has σ' < 5 % of its peak
SATURATION_MARGIN = 0.0128

COLUMNS = ["epoch", "layer", "name", "kind", "activation_mean", "activation_std", "dead_fraction",
           "saturated_fraction", "gradient_norm", "weight_norm", "update_ratio"]


@dataclass
class Finding:
    """A rule that fired: where, what it means in plain words, and what to do."""

    rule: str
    epoch: int
    layer: Optional[int]
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"epoch {self.epoch}" + (f", layer {self.layer}" if self.layer is not None else "")
        return f"[{where}] {self.message}\n    Fix: {self.fix}"


def _unit_axes(output: np.ndarray) -> Tuple[int, ...]:
    """Axes over which a unit is the same unit: the batch, and for (N, C, H, W) maps the positions too."""
    return (0, 2, 3) if output.ndim == 4 else tuple(axis for axis in range(output.ndim) if axis != 1)


def dead_fraction(output: np.ndarray) -> float:
    """Fraction of units (columns, or channels of a feature map) that are 0 for every sample."""
    alive = (output > 0).any(axis=_unit_axes(output))
    return float(1 - alive.mean())


def saturated_fraction(layer: Layer, output: np.ndarray) -> float:
    """Fraction of a sigmoid's or tanh's outputs on its flat ends, where its derivative is < 5 % of the peak."""
    if isinstance(layer, Sigmoid):
        return float(((output < SATURATION_MARGIN) | (output > 1 - SATURATION_MARGIN)).mean())
    return float((np.abs(output) > 1 - 2 * SATURATION_MARGIN).mean())


def _print_to_stderr(text: str) -> None:
    print(text, file=sys.stderr)


def _norm(array: np.ndarray) -> float:
    return float(np.sqrt(np.vdot(array, array)))


class Diagnostics(Callback):
    """Record per layer and epoch how a network trains, and warn in plain words when a rule fires.

    Per layer and epoch (epoch 0 is before training): activation mean and spread on the probe,
    fraction of dead ReLUs, fraction of saturated sigmoid/tanh outputs, and for weighted layers
    the gradient norm ‖∂L/∂W‖ and the update-to-weight ratio ‖ΔW‖/‖W‖ of one step, averaged over
    ``batches_per_epoch`` training batches spread over the epoch.

    Args:
        probe: a small fixed batch of training inputs (a few hundred samples), in the form the
            model is trained on; traced in inference mode after every epoch.
        folder: if given, diagnostics.csv, diagnostics.txt (the warnings) and diagnostics.png
            are written there.
        batches_per_epoch: training batches per epoch whose gradients and updates are measured.
        print_fn: where the report goes at the end of training (default: printed to stderr); None for silence.

    ``rows`` holds the records, ``findings`` the rules that fired (each rule once, at its first epoch).

    Example:
        >>> diagnostics = Diagnostics(x_train[:256], folder="runs/diagnosed")
        >>> model.fit(x_train, y_train, loss=CrossEntropy(), optimizer=Adam(1e-3), epochs=5, callbacks=[diagnostics])
        >>> for finding in diagnostics.findings: print(finding)
    """

    #: set by on_train_begin: the rules fired so far, and how many batches apart updates are measured
    _fired: Set[str]
    _every: int

    def __init__(self, probe: Any, folder: Optional[str | Path] = None, batches_per_epoch: int = 10,
                 print_fn: Optional[Callable[[str], Any]] = _print_to_stderr) -> None:
        probe = np.asarray(probe)
        if probe.dtype.kind not in "fiub" or probe.ndim < 2 or len(probe) == 0:
            raise ValueError(f"Diagnostics: probe must be a non-empty batch of inputs (N, ...). Received shape {probe.shape} "
                             f"and dtype {probe.dtype}")
        if isinstance(batches_per_epoch, bool) or not isinstance(batches_per_epoch, int) or batches_per_epoch < 1:
            raise ValueError(f"Diagnostics: batches_per_epoch must be a positive integer. Received: {batches_per_epoch!r}")
        self.probe = probe
        self.folder = folder
        self.batches_per_epoch = batches_per_epoch
        self.print_fn = print_fn
        self.rows: List[Dict[str, Any]] = []
        self.findings: List[Finding] = []
        self.files: List[Path] = []
        self._epoch = 0
        # layer index -> list of (gradient norm, weight norm, update ratio) this epoch
        self._measured: Dict[int, List[Tuple[float, float, float]]] = {}
        self._before: Optional[Dict[int, np.ndarray]] = None

    # -- hooks ----------------------------------------------------------------------------------------

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        self.rows, self.findings, self._fired = [], [], set()
        batches = (logs or {}).get("batches") or 1
        self._every = max(1, batches // self.batches_per_epoch)
        self._check_inputs()
        self._record(0)

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        self._epoch = epoch
        self._measured = {}

    def on_train_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None:
        if (batch - 1) % self._every == 0:
            self._before = {i: layer.params["weight"].copy() for i, layer in self._weighted()}

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        if self._before is None:
            return
        for i, layer in self._weighted():
            before, weight = self._before[i], layer.params["weight"]
            weight_norm = _norm(before)
            update = _norm(weight - before)
            self._measured.setdefault(i, []).append(
                (_norm(layer.grads["weight"]), weight_norm, update / weight_norm if weight_norm else math.inf)
            )
        self._before = None

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        self._record(epoch)
        self._check(epoch)
        self._write()

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        if self._measured and not any(row["epoch"] == self._epoch for row in self.rows):  # stopped inside an epoch
            self._record(self._epoch)
            self._check(self._epoch)
        self._write(picture=True)
        if self.print_fn is not None:
            self.print_fn(self.report())

    # -- measuring ------------------------------------------------------------------------------------

    def _weighted(self) -> List[Tuple[int, WeightedLayer]]:
        return [(i, layer) for i, layer in enumerate(self.model.layers) if isinstance(layer, WeightedLayer)]

    def _record(self, epoch: int) -> None:
        with np.errstate(all="ignore"):  # a diverging run is reported by the rules, not by NumPy warnings
            t = trace(self.model, self.probe)
        for record, layer in zip(t, self.model.layers):
            output = record.output
            row = {"epoch": epoch, "layer": record.index, "name": record.name, "kind": record.kind,
                   "activation_mean": float(np.mean(output)), "activation_std": float(np.std(output)),
                   "dead_fraction": dead_fraction(output) if isinstance(layer, ReLU) else None,
                   "saturated_fraction": saturated_fraction(layer, output) if isinstance(layer, (Sigmoid, Tanh)) else None,
                   "gradient_norm": None, "weight_norm": None, "update_ratio": None}
            measured = self._measured.get(record.index)
            if measured:
                gradient, weight, ratio = np.mean(np.array(measured), axis=0)
                row.update(gradient_norm=float(gradient), weight_norm=float(weight), update_ratio=float(ratio))
            self.rows.append(row)

    # -- the rules ------------------------------------------------------------------------------------

    def _fire(self, rule: str, epoch: int, layer: Optional[int], message: str, fix: str) -> None:
        if rule in self._fired:
            return
        self._fired.add(rule)
        self.findings.append(Finding(rule, epoch, layer, message, fix))

    def _check_inputs(self) -> None:
        first = next((layer for layer in self.model.layers if not isinstance(layer, (Flatten, Dropout))), None)
        if not isinstance(first, (Dense, Conv2D)):
            return
        values = np.abs(self.probe.astype(np.float64))
        if not np.isfinite(values).all():
            return
        high = float(np.percentile(values, 99))
        if high > INPUT_SCALE_LIMIT:
            self._fire(
                "inputs not scaled", 0, None,
                f"The inputs are not scaled: 1 % of the input values are above {high:.4g} (largest {values.max():.4g}). "
                "Big inputs make big pre-activations: sigmoid and tanh units saturate, ReLU steps jump, and one "
                "learning rate cannot suit every weight.",
                "scale the inputs before training: divide pixels by 255 (numnet.datasets.scale) or standardize "
                "each feature to mean 0 and spread 1.",
            )

    def _check(self, epoch: int) -> None:
        rows = [row for row in self.rows if row["epoch"] == epoch]
        last_layer = len(self.model.layers) - 1
        weighted = [row for row in rows if row["gradient_norm"] is not None]
        ratios = [row["update_ratio"] for row in weighted]
        # a layer without gradient (dead units, a diverged run) says nothing about the step size
        moving = [row["update_ratio"] for row in weighted if row["gradient_norm"] > 0]
        if ratios and (max(ratios) > HIGH_UPDATE_RATIO or not all(math.isfinite(r) for r in ratios)):
            worst = max(weighted, key=lambda row: row["update_ratio"] if math.isfinite(row["update_ratio"]) else math.inf)
            self._fire(
                "learning rate too high", epoch, worst["layer"],
                f"The learning rate is far too high: one step changes layer {worst['layer']}'s weights by "
                f"{worst['update_ratio']:.2g} of their size (‖ΔW‖/‖W‖; about {GOOD_UPDATE_RATIO:g} is healthy). "
                "Training jumps around or diverges.",
                f"divide the learning rate by 10 to 100 (lr={self._lr():g} now), or use Adam with lr=1e-3.",
            )
        if moving and all(math.isfinite(r) for r in moving) and max(moving) < LOW_UPDATE_RATIO:
            self._fire(
                "learning rate too low", epoch, None,
                f"The learning rate is far too low: one step changes the weights by at most {max(moving):.1e} of their "
                f"size (‖ΔW‖/‖W‖; about {GOOD_UPDATE_RATIO:g} is healthy), so training crawls.",
                f"multiply the learning rate by 10 to 100 (lr={self._lr():g} now), or use Adam with lr=1e-3.",
            )
        for row in rows:
            hidden = row["layer"] != last_layer
            if hidden and row["dead_fraction"] is not None and row["dead_fraction"] > MOST:
                self._fire(
                    "dead ReLUs", epoch, row["layer"],
                    f"Most ReLUs are dead: {row['dead_fraction']:.0%} of the units of layer {row['layer']} output 0 for "
                    "every probe sample, so they pass no gradient and stop learning.",
                    "lower the learning rate, start biases at 0 (not negative), keep He initialisation "
                    "(init='he_normal'), or use LeakyReLU.",
                )
            if hidden and row["saturated_fraction"] is not None and row["saturated_fraction"] > MOST:
                self._fire(
                    "saturated units", epoch, row["layer"],
                    f"Most {row['kind']} outputs of layer {row['layer']} are saturated ({row['saturated_fraction']:.0%} "
                    "on the flat ends, where the derivative is < 5 % of its peak): the gradient barely passes.",
                    "scale the inputs, use Glorot initialisation (init='glorot_uniform'), lower the learning rate, "
                    "or use ReLU in hidden layers.",
                )
        if len(weighted) >= 2:
            first, last = weighted[0], weighted[-1]
            sizes = {i: layer.params["weight"].size for i, layer in self._weighted()}
            rms_first = first["gradient_norm"] / math.sqrt(sizes[first["layer"]])
            rms_last = last["gradient_norm"] / math.sqrt(sizes[last["layer"]])
            if not (math.isfinite(rms_first) and math.isfinite(rms_last)):
                ratio = math.inf
            else:
                ratio = rms_first / rms_last if rms_last > 0 else (math.inf if rms_first > 0 else 1.0)
            if ratio < 1 / GRADIENT_RATIO_LIMIT:
                self._fire(
                    "vanishing gradients", epoch, first["layer"],
                    f"The gradients vanish before they reach the early layers: layer {first['layer']}'s are "
                    f"{ratio:.1e} times layer {last['layer']}'s (RMS per weight), so the first layers hardly learn.",
                    "use ReLU instead of sigmoid/tanh in hidden layers, He or Glorot initialisation, fewer layers, "
                    "or BatchNorm between them.",
                )
            if ratio > GRADIENT_RATIO_LIMIT:
                self._fire(
                    "exploding gradients", epoch, first["layer"],
                    f"The gradients explode on their way to the early layers: layer {first['layer']}'s are "
                    + ("not finite" if math.isinf(ratio) else f"{ratio:.1e} times layer {last['layer']}'s (RMS per weight)")
                    + ", so the first layers take huge, erratic steps.",
                    "lower the learning rate, check the initialisation (He for ReLU, Glorot for tanh/sigmoid; no "
                    "oversized weights), or add BatchNorm.",
                )
    def _lr(self) -> float:
        return getattr(self.optimizer, "lr", float("nan"))

    # -- output ---------------------------------------------------------------------------------------

    def report(self) -> str:
        """The warnings in plain words, or a line saying that no rule fired."""
        if not self.findings:
            return "Diagnostics: no problems found (inputs scaled, ReLUs alive, gradients and step sizes in range)."
        return "\n".join([f"Diagnostics: {len(self.findings)} problem(s) found."] + [str(f) for f in self.findings])

    def _write(self, picture: bool = False) -> None:
        if self.folder is None:
            return
        folder = Path(self.folder)
        csv_path, text_path, picture_path = folder / "diagnostics.csv", folder / "diagnostics.txt", folder / "diagnostics.png"
        with atomic_write(csv_path, "w") as file:
            writer = csv.DictWriter(file, fieldnames=COLUMNS)
            writer.writeheader()
            for row in self.rows:
                writer.writerow({k: ("" if v is None else f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        with atomic_write(text_path, "w") as file:
            file.write(self.report() + "\n")
        self.files = [csv_path, text_path]
        if picture and self.rows:
            plots.plot_diagnostics(self.rows, picture_path, GOOD_UPDATE_RATIO)
            self.files.append(picture_path)

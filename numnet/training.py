"""The training loop: mini-batch gradient descent over a model, with callbacks, Ctrl-C and divergence checks.

``fit(model, x, y, ...)`` is what ``Sequential.fit`` runs. Each step: forward a batch,
L = loss(y, ŷ), backward dL/dŷ through the layers, optimizer.step. Around the steps: callbacks
(one CallbackList calls them all), the running metrics, the validation pass after each epoch, and
the state a checkpoint needs (LoopState, read and restored by checkpoints.BackupAndRestore).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import signal
import sys
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import numpy as np

from . import metrics as metric_functions
from . import validation
from .callbacks import Callback, CallbackList, ProgressBar
from .checkpoints import BackupAndRestore
from .layers import Softmax
from .losses import BinaryCrossEntropy, CrossEntropy, Loss
from .optimizers import Optimizer

#: an epoch whose mean training loss exceeds DIVERGENCE_FACTOR × max(L₀, DIVERGENCE_FLOOR), L₀ the loss of
#: the run's first batch (before any step), stops training as diverged. Normal runs stay far below: their
#: loss falls from L₀, and a badly tuned one that merely oscillates reaches a few hundred times L₀. The
#: floor keeps a run that starts almost perfect (L₀ near 0, fine-tuning) from tripping on ordinary noise.
DIVERGENCE_FACTOR = 1e4
DIVERGENCE_FLOOR = 1e-3


class History(Callback):
    """What ``fit`` returns: ``history`` maps each metric ("loss", "accuracy", "val_loss", ...) to one value per epoch."""

    def __init__(self) -> None:
        self.history: Dict[str, List[float]] = {}
        self.epoch: List[int] = []
        self.interrupted = False

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, metrics={list(self.history)})"


@dataclass
class LoopState:
    """Where a fit is: what a checkpoint saves and a resumed fit restores.

    ``epoch`` is the epoch running (or to run next) and ``batches_done`` how many of its batches are
    done; ``sums`` are that epoch's running metric sums; ``epoch_rng_state`` the shuffling generator's
    state at the start of the epoch (so a resumed epoch draws the same order).
    """

    run: Dict[str, Any]
    history: History
    order_rng: np.random.Generator
    augment_rng: np.random.Generator
    layer_rngs: Dict[str, np.random.Generator]
    callbacks: List[Callback]
    epoch: int = 1
    batches_done: int = 0
    sums: Optional[Dict[str, float]] = None
    epoch_rng_state: Dict[str, Any] = field(default_factory=dict)
    #: set by the first Ctrl-C: stop after the current batch
    stop_requested: bool = False
    #: L₀, the loss of the run's first batch before any step: the scale of the divergence rule
    initial_loss: Optional[float] = None
    #: set when training diverged (a non-finite loss or parameter, or the loss exploding past the rule)
    diverged: bool = False


@contextlib.contextmanager
def stop_after_batch_on_ctrl_c(state: LoopState) -> Iterator[None]:
    """Turn the first Ctrl-C into a request to stop after the current batch; a second one stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if state.stop_requested:
            raise KeyboardInterrupt
        state.stop_requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


CLASSIFICATION_METRICS = ("accuracy", "top_k_accuracy")
REGRESSION_METRICS = ("mae", "mse", "r2")


def choose_metrics(loss: Loss, names: Any) -> Dict[str, Callable[..., float]]:
    """{name: f(y_true, y_pred, sample_weight=None)} for the requested metric names (default: accuracy
    for classification). "accuracy" and "top_k_accuracy" need a classification loss; "mae", "mse"
    and "r2" compare outputs with targets of the same shape, so any loss but CrossEntropy (whose
    outputs are logits)."""
    classification = isinstance(loss, (CrossEntropy, BinaryCrossEntropy))
    if names is None:
        names = ["accuracy"] if classification else []
    if isinstance(names, str):
        names = [names]
    threshold = 0.0 if isinstance(loss, BinaryCrossEntropy) and loss.from_logits else 0.5
    available: Dict[str, Callable[..., float]] = {
        "accuracy": lambda y, out, sample_weight=None: metric_functions.accuracy(y, out, threshold, sample_weight),
        "top_k_accuracy": metric_functions.top_k_accuracy,
        "mae": metric_functions.mean_absolute_error,
        "mse": metric_functions.mean_squared_error,
        "r2": metric_functions.r2_score,
    }
    chosen = {}
    for name in names:
        if name not in available:
            raise ValueError(f"unknown metric {name!r}; expected one of {sorted(available)}")
        if name in CLASSIFICATION_METRICS and not classification:
            raise ValueError(f"metric {name!r} needs a classification loss (CrossEntropy or BinaryCrossEntropy); got {loss!r}")
        if name in REGRESSION_METRICS and isinstance(loss, CrossEntropy):
            raise ValueError(
                f"metric {name!r} compares outputs with targets of the same shape, a regression metric; "
                f"CrossEntropy's outputs are logits of classes: use 'accuracy'"
            )
        chosen[name] = available[name]
    return chosen


def check_data(model: Any, x: Any, y: Any, name: str = "x") -> tuple:
    """x as the model's input batch and y as its targets: same length, non-empty, finite."""
    x = validation.as_batch(x, model.dtype, model.input_shape, name)
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(x):
        raise ValueError(f"{name} and its targets must have the same number of samples: got {len(x)} and {len(y) if y.ndim else 'a scalar'}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty: nothing to train or evaluate on")
    if y.dtype.kind not in "fiub":
        raise TypeError(f"the targets of {name} must be numbers. Received dtype {y.dtype}")
    if y.dtype.kind == "f" and not validation.all_finite(y):
        rows = np.flatnonzero(~np.isfinite(y.reshape(len(y), -1)).all(axis=1))
        shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
        raise ValueError(f"the targets of {name} contain NaN or infinite values in {len(rows)} rows: {shown}")
    return x, y


def split_validation(x: np.ndarray, y: np.ndarray, fraction: Any) -> tuple:
    """(x_train, y_train), (x_val, y_val): the last ``fraction`` of the rows held out, before shuffling."""
    if not (isinstance(fraction, numbers.Real) and 0 < float(fraction) < 1):
        raise ValueError(f"validation_split must be a number in the range (0, 1). Received: {fraction!r}")
    cut = len(x) - int(round(len(x) * float(fraction)))
    if cut <= 0 or cut >= len(x):
        raise ValueError(f"validation_split={fraction} leaves no training or no validation samples out of {len(x)}")
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def _classes(loss: Loss, y: np.ndarray) -> np.ndarray:
    """The distinct classes among targets y of a classification loss."""
    if isinstance(loss, CrossEntropy):
        labels = y if y.dtype.kind in "iu" else y.argmax(axis=-1)
        if loss.ignore_index is not None:
            labels = labels[labels != loss.ignore_index]
        return np.unique(labels)
    return np.unique(np.rint(y).reshape(len(y), -1), axis=0)


def warn_if_one_class_held_out(loss: Loss, y_train: np.ndarray, y_val: np.ndarray, fraction: float) -> None:
    """Warn when validation_split's held-out tail has a single class while the rest has several:
    the rows are most likely sorted by class, and the validation scores say nothing."""
    if not isinstance(loss, (CrossEntropy, BinaryCrossEntropy)):
        return
    held_out = _classes(loss, y_val)
    if len(held_out) == 1 and len(_classes(loss, y_train)) > 1:
        shown = held_out[0].tolist()
        warnings.warn(
            f"validation_split={fraction} holds out the last {len(y_val)} rows, and all their targets are class {shown}: "
            "the data look sorted by class, so the validation scores measure one class only. "
            "Shuffle x and y together before fit (or pass validation_data).",
            UserWarning,
            stacklevel=3,
        )


def warn_if_softmax_before_cross_entropy(model: Any, loss: Loss) -> None:
    """Warn when the model ends with Softmax and the loss is CrossEntropy, which applies softmax itself."""
    if isinstance(loss, CrossEntropy) and model.layers and isinstance(model.layers[-1], Softmax):
        warnings.warn(
            "the model ends with a Softmax layer and the loss is CrossEntropy, which expects logits and applies "
            "softmax itself: softmax is applied twice, which slows or stalls learning. Remove the last Softmax "
            "layer; for probabilities, apply numnet.functional.softmax to model.predict(x).",
            UserWarning,
            stacklevel=3,
        )


def clip_grad_norm(model: Any, max_norm: float) -> float:
    """Clip the gradients by their global norm, in place; return the norm before clipping.

    ‖g‖ = √(Σ over every parameter gradient of Σ g²);  if ‖g‖ > max_norm:  g ← g · max_norm / ‖g‖ for each g.
    One factor for all the gradients keeps the update's direction and bounds its length: the cure for
    the rare huge step of a recurrent network (as torch.nn.utils.clip_grad_norm_).
    """
    grads = [(layer, key) for layer in model.layers for key in layer.params]
    norm = math.sqrt(sum(float(np.vdot(layer.grads[key], layer.grads[key])) for layer, key in grads))
    if norm > max_norm:
        scale = max_norm / norm
        for layer, key in grads:
            layer.grads[key] = layer.grads[key] * np.asarray(scale, dtype=layer.grads[key].dtype)
    return norm


def fit(
    model: Any, x: Any, y: Any, *, loss: Loss, optimizer: Optimizer, epochs: int, batch_size: int = 32,
    shuffle: bool = True, seed: Optional[int] = None, validation_data: Optional[Sequence[Any]] = None,
    validation_split: Optional[float] = None, metrics: Any = None, callbacks: Optional[Sequence[Callback]] = None,
    augment: Optional[Callable[[np.ndarray, np.random.Generator], np.ndarray]] = None,
    checkpoint_dir: Any = None, checkpoint_every: int = 1, resume: bool = False, verbose: int = 1,
    sample_weight: Any = None,
    clip_norm: Optional[float] = None,
) -> History:
    """Train with mini-batch gradient descent and return a History of per-epoch metrics.

    Each step: forward a batch, L = loss(y, ŷ), backward dL/dŷ through the layers, optimizer.step.
    batch_size=1 is per-sample SGD; batch_size=len(x) is full-batch gradient descent.

    Args:
        x, y: training inputs (N, ...) and targets (N, ...).
        loss: a numnet.losses loss. optimizer: a numnet.optimizers optimizer.
        epochs: passes over the data. batch_size: samples per step (default 32).
        shuffle: reshuffle the order every epoch (default True). seed: seed of that order and of
            the augmentation (with seeded layers, the whole run is reproducible).
        validation_data: (x_val, y_val) or (x_val, y_val, sample_weight_val) evaluated after each
            epoch into val_loss, val_accuracy, ...
        validation_split: instead, hold out this fraction of x (its last rows, before shuffling;
            a warning says when they all hold one class).
        metrics: names among "accuracy", "top_k_accuracy" (classification) and "mae", "mse", "r2"
            (regression); default: accuracy for classification.
        callbacks: numnet.callbacks objects (EarlyStopping, ModelCheckpoint, ...).
        augment: a function (x_batch, rng) -> x_batch applied to training batches only,
            e.g. numnet.augmentation.ImageAugmenter().
        checkpoint_dir: save a checkpoint there every ``checkpoint_every`` epochs and on Ctrl-C
            (a checkpoints.BackupAndRestore callback).
        resume: continue from the checkpoint in checkpoint_dir if there is one (else start fresh).
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        sample_weight: optional non-negative weight of each sample (N,): each batch's loss is the
            weighted mean Σ wₙ ℓₙ / Σ wₙ over its samples, and the logged loss and metrics are
            weighted means.
        clip_norm: after each backward pass, scale the gradients down to this global norm when
            theirs is larger (clip_grad_norm); default None, no clipping.

    A model ending in Softmax trained with CrossEntropy gets a warning (softmax would be applied twice).
    Divergence stops training with FloatingPointError naming the epoch (and batch) and the learning
    rate: a loss or parameter that is no longer finite, or an epoch whose mean training loss exceeds
    DIVERGENCE_FACTOR × max(L₀, DIVERGENCE_FLOOR) = 10⁴ × max(L₀, 10⁻³), where L₀ is the loss of the
    run's first batch before any step (kept in checkpoints, so a resumed run applies the same rule).
    The check comes before the epoch's callbacks, so a diverged epoch is never checkpointed.
    Ctrl-C stops after the current batch; the model keeps what it learned,
    ``history.interrupted`` is True, and a checkpoint is saved when checkpoint_dir is set.
    """
    validation.instance("loss", loss, Loss, "a numnet.losses loss such as CrossEntropy()")
    validation.instance("optimizer", optimizer, Optimizer, "a numnet.optimizers optimizer such as SGD(0.1)")
    epochs = validation.positive_int("epochs", epochs)
    batch_size = validation.positive_int("batch_size", batch_size)
    checkpoint_every = validation.positive_int("checkpoint_every", checkpoint_every)
    validation.one_of("verbose", verbose, (0, 1, 2))
    if clip_norm is not None:
        clip_norm = validation.number("clip_norm", clip_norm, 0, low_inclusive=False)
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs a checkpoint_dir to resume from")
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be a function (x_batch, rng) -> x_batch. Received: {augment!r}")
    user_callbacks = list(callbacks or [])
    CallbackList(user_callbacks)  # checks them before any work
    _check_reduces_to_a_number(loss)
    chosen_metrics = choose_metrics(loss, metrics)
    x, y = check_data(model, x, y)
    if sample_weight is not None:
        sample_weight = _checked_weights(sample_weight, len(x), "train on")
    warn_if_softmax_before_cross_entropy(model, loss)
    if validation_split is not None:
        if validation_data is not None:
            raise ValueError("pass either validation_data or validation_split, not both")
        (x, y), validation_data = split_validation(x, y, validation_split)
        warn_if_one_class_held_out(loss, y, validation_data[1], validation_split)
        if sample_weight is not None:
            sample_weight, weight_val = sample_weight[: len(x)], sample_weight[len(x) :]
            validation_data = (*validation_data, weight_val)
    if batch_size > len(x):
        raise ValueError(f"batch_size must be at most the number of samples ({len(x)}). Received: batch_size={batch_size}")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a pair (x_val, y_val) or a triple (x_val, y_val, sample_weight_val)")
        x_val, y_val = check_data(model, validation_data[0], validation_data[1], name="validation x")
        weight_val = None
        if len(validation_data) == 3 and validation_data[2] is not None:
            weight_val = validation.sample_weights(validation_data[2], len(x_val), name="the validation sample_weight")
        validation_data = (x_val, y_val, weight_val)

    order_rng = np.random.default_rng(seed)
    history = History()
    state = LoopState(
        run={"epochs": epochs, "batch_size": batch_size, "samples": len(x), "shuffle": shuffle},
        history=history,
        order_rng=order_rng,
        augment_rng=np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)) if seed is not None else None),
        layer_rngs={str(i): layer.rng for i, layer in enumerate(model.layers)
                    if isinstance(getattr(layer, "rng", None), np.random.Generator)},
        callbacks=user_callbacks,
        epoch_rng_state=dict(order_rng.bit_generator.state),
    )
    backup = [BackupAndRestore(checkpoint_dir, checkpoint_every, resume)] if checkpoint_dir is not None else []
    # History after the user's callbacks (it records what they add to the logs, "lr"), the backup after
    # History (it saves the history with the epoch), the progress bar last (it shows the final logs)
    dispatch = CallbackList(
        user_callbacks + [history] + backup + ([ProgressBar(verbose)] if verbose else []),
        model=model, optimizer=optimizer, loop=state,
    )
    batches = range(0, len(x), batch_size)
    model.stop_training = False
    dispatch.on_train_begin({"epochs": epochs, "batches": len(batches)})
    try:
        # overflow in a diverging run surfaces as the non-finite-loss error below, not as NumPy warnings
        with stop_after_batch_on_ctrl_c(state), np.errstate(over="ignore", invalid="ignore"):
            _run_epochs(model, x, y, sample_weight, loss, optimizer, augment, validation_data, chosen_metrics, state,
                        dispatch, batches, batch_size, shuffle, clip_norm)
    except FloatingPointError:
        state.diverged = True
        dispatch.on_train_end({})
        raise
    dispatch.on_train_end(history.history)
    if history.interrupted:
        _report_interrupt(state, len(batches), checkpoint_dir)
    return history


def _run_epochs(model: Any, x: np.ndarray, y: np.ndarray, sample_weight: Optional[np.ndarray], loss: Loss,
                optimizer: Optimizer, augment: Any,
                validation_data: Any, chosen_metrics: dict, state: LoopState, dispatch: CallbackList,
                batches: range, batch_size: int, shuffle: bool, clip_norm: Optional[float] = None) -> None:
    epochs = state.run["epochs"]
    for epoch in range(state.epoch, epochs + 1):
        state.epoch = epoch
        if not state.batches_done or state.sums is None:
            state.sums = {"loss": 0.0, "seen": 0, **{name: 0.0 for name in chosen_metrics}}
        sums = state.sums
        dispatch.on_epoch_begin(epoch, {"resumed_batches": state.batches_done})
        state.order_rng.bit_generator.state = state.epoch_rng_state
        order = state.order_rng.permutation(len(x)) if shuffle else np.arange(len(x))
        for batch in range(state.batches_done + 1, len(batches) + 1):
            dispatch.on_train_batch_begin(batch, {})
            index = order[batches[batch - 1] : batches[batch - 1] + batch_size]
            xb, yb = x.take(index, axis=0), y.take(index, axis=0)
            if augment is not None:
                xb = augment(xb, state.augment_rng)
            wb = None if sample_weight is None else sample_weight.take(index)
            out = model.forward(xb, training=True)
            value, grad = loss.value_and_gradient(yb, out, wb)
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"the loss became {value} at epoch {epoch}, batch {batch}: training diverged. "
                    f"Try a lower learning rate (lr={optimizer.lr:g} now)."
                )
            if state.initial_loss is None:
                state.initial_loss = value
            model.backward(grad, input_grad=False)
            if clip_norm is not None:
                clip_grad_norm(model, clip_norm)
            optimizer.step(model)
            state.batches_done = batch
            weight = len(index) if wb is None else float(wb.sum())  # the batch's share of the epoch's means
            sums["seen"] += weight
            sums["loss"] += value * weight
            if weight:
                for name, function in chosen_metrics.items():
                    sums[name] += function(yb, out, sample_weight=wb) * weight
            if dispatch.batch_end:
                dispatch.on_train_batch_end(batch, _running_logs(sums))
            if state.stop_requested or (model.stop_training and batch < len(batches)):
                break
        if state.batches_done < len(batches):  # stopped inside the epoch, by Ctrl-C or by a callback
            state.history.interrupted = state.stop_requested
            return
        _check_finite_params(model, epoch)
        logs = _running_logs(sums)
        _check_loss_growth(logs["loss"], state.initial_loss, epoch, optimizer)
        if validation_data is not None:
            x_val, y_val, weight_val = validation_data
            results = evaluate(model, x_val, y_val, loss=loss, metrics=list(chosen_metrics), sample_weight=weight_val)
            logs.update({f"val_{k}": v for k, v in results.items()})
        state.epoch_rng_state = state.order_rng.bit_generator.state
        state.batches_done = 0
        dispatch.on_epoch_end(epoch, logs)
        if state.stop_requested:
            state.history.interrupted = True
            return
        if model.stop_training:
            return


def _running_logs(sums: Dict[str, float]) -> Dict[str, float]:
    return {key: value / sums["seen"] for key, value in sums.items() if key != "seen"}


def _check_finite_params(model: Any, epoch: int) -> None:
    for index, layer in enumerate(model.layers):
        for key, param in layer.params.items():
            if not validation.all_finite(param):
                raise FloatingPointError(
                    f"parameter {index}.{key} became NaN or infinite in epoch {epoch}: training diverged. "
                    "Try a lower learning rate."
                )


def _check_loss_growth(mean_loss: float, initial_loss: Optional[float], epoch: int, optimizer: Optimizer) -> None:
    """FloatingPointError when the epoch's mean loss exceeds DIVERGENCE_FACTOR × max(L₀, DIVERGENCE_FLOOR)."""
    if initial_loss is None:
        return
    limit = DIVERGENCE_FACTOR * max(initial_loss, DIVERGENCE_FLOOR)
    if mean_loss > limit:
        raise FloatingPointError(
            f"the mean training loss of epoch {epoch} is {mean_loss:.3g}, more than {DIVERGENCE_FACTOR:g} times "
            f"the first batch's {initial_loss:.3g}: training diverged. Try a lower learning rate (lr={optimizer.lr:g} now)."
        )


def _report_interrupt(state: LoopState, batches: int, checkpoint_dir: Any) -> None:
    epochs, done = state.run["epochs"], len(state.history.epoch)
    where = f"after batch {state.batches_done}/{batches}" if state.batches_done else "at its end"
    saved = f" A checkpoint is in {checkpoint_dir} to resume from." if checkpoint_dir else ""
    print(
        f"Training interrupted in epoch {state.epoch}/{epochs} {where}; the model keeps the "
        f"weights learned so far ({done} full epochs recorded).{saved}",
        file=sys.stderr,
    )


def _check_reduces_to_a_number(loss: Loss) -> None:
    if getattr(loss, "reduction", "mean") == "none":
        raise ValueError(
            f"fit and evaluate need a loss that reduces to one number; {loss!r} gives one loss per term. "
            "Use reduction='mean' (the default) or 'sum'"
        )


def _checked_weights(sample_weight: Any, samples: int, purpose: str) -> np.ndarray:
    """sample_weight checked (validation.sample_weights) and not all zero: a weighted mean needs Σ wₙ > 0."""
    weights = validation.sample_weights(sample_weight, samples)
    if not weights.sum() > 0:
        raise ValueError(f"sample_weight is 0 for every sample: nothing to {purpose}")
    return weights


def evaluate(model: Any, x: Any, y: Any, *, loss: Loss, batch_size: int = 256, metrics: Any = None,
             sample_weight: Any = None) -> Dict[str, float]:
    """Mean loss and metrics (default: accuracy for classification losses) over x, y in inference mode;
    with sample_weight (N,), weighted means."""
    validation.instance("loss", loss, Loss, "a numnet.losses loss such as CrossEntropy()")
    _check_reduces_to_a_number(loss)
    chosen = choose_metrics(loss, metrics)
    x, y = check_data(model, x, y)
    if sample_weight is not None:
        sample_weight = _checked_weights(sample_weight, len(x), "evaluate")
    out = model.predict(x, batch_size=batch_size)
    return {"loss": loss(y, out, sample_weight), **{name: function(y, out, sample_weight=sample_weight) for name, function in chosen.items()}}

"""Sequential: a list of layers run forward in order and backward in reverse, and the training loop."""

import contextlib
import math
import numbers
import signal
import sys
import threading

import numpy as np

from . import metrics as metric_functions
from .callbacks import Callback, ProgressBar
from .layers.activations import LeakyReLU, ReLU
from .layers.base import Layer, WeightedLayer
from .losses import BinaryCrossEntropy, CrossEntropy, Loss
from .optimizers import Optimizer
from .trace import trace as trace_passes


class History:
    """What ``fit`` returns: ``history`` maps each metric ("loss", "accuracy", "val_loss", ...) to one value per epoch."""

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.interrupted = False

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, metrics={list(self.history)})"


def _positive_int(name, value):
    if type(value) is int and value > 0:  # the common case, without the slower abstract-class check
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


@contextlib.contextmanager
def _stop_after_batch_on_ctrl_c():
    """Turn the first Ctrl-C into a request to stop after the current batch; a second one stops at once."""
    request = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request["stop"]:
            raise KeyboardInterrupt
        request["stop"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


def _defines(callback, hook):
    """Whether a callback does something in ``hook``: its class or the instance replaces Callback's no-op."""
    return getattr(type(callback), hook) is not getattr(Callback, hook) or hook in vars(callback)


#: activations after which an init="auto" Dense layer draws He-normal weights (they halve the variance)
RELU_FAMILY = (ReLU, LeakyReLU)


def _random_generators(layers):
    """The layers' own generators (Dropout masks), by layer index."""
    return {str(i): layer.rng for i, layer in enumerate(layers) if isinstance(getattr(layer, "rng", None), np.random.Generator)}


class Sequential:
    """A network as a list of layers: forward runs them in order, backward in reverse (the chain rule).

    Forward:  Y = fₖ(…f₂(f₁(X)))        Backward: dX = f₁ᵀ(f₂ᵀ(…fₖᵀ(dY)))  where fᵢᵀ is layer i's backward.

    Args:
        layers: the layers, in order. Consecutive shapes are checked when they can be known.
        input_shape: optional per-sample input shape, such as (28, 28); checked on every batch.

    Example:
        >>> model = Sequential([Dense(2, 3, rng=0), Tanh(), Dense(3, 1, rng=1), Tanh()])
        >>> history = model.fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=500, batch_size=4, verbose=0)
    """

    def __init__(self, layers, input_shape=None):
        if isinstance(layers, Layer) or not hasattr(layers, "__iter__"):
            raise TypeError(f"Sequential expects a list of layers. Received: {type(layers).__name__}")
        if input_shape is not None:
            try:
                input_shape = tuple(int(d) for d in input_shape)
            except (TypeError, ValueError):
                raise TypeError(f"input_shape must be a tuple of positive integers. Received: {input_shape!r}") from None
            if not input_shape or min(input_shape) <= 0:
                raise ValueError(f"input_shape must be a tuple of positive integers. Received: {input_shape!r}")
        self.input_shape = input_shape
        self.layers = []
        #: JSON-able facts saved with the model (what it was trained on, class names, ...)
        self.metadata = {}
        #: the mode forward() uses when not told: set by train() and eval()
        self.training = False
        #: set by a callback to end fit after the current batch or epoch
        self.stop_training = False
        for layer in layers:
            self.add(layer)

    def add(self, layer):
        """Append a layer, checking that it is one and that it fits the output of the layer before."""
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential: item {len(self.layers)} must be a numnet layer (Dense, ReLU, ...). "
                f"Received: {layer!r} of type {type(layer).__name__}"
            )
        if self.layers and isinstance(self.layers[-1], WeightedLayer) and isinstance(layer, RELU_FAMILY):
            self.layers[-1].adopt_activation("he_normal")
        self.layers.append(layer)
        try:
            self.output_shapes()
        except ValueError as error:
            self.layers.pop()
            raise ValueError(f"Sequential: layer {len(self.layers)} does not fit: {error}") from None

    def train(self):
        """Training mode for forward(): Dropout drops, BatchNorm uses batch statistics."""
        self.training = True
        return self

    def eval(self):
        """Inference mode for forward() (the default)."""
        self.training = False
        return self

    # -- shapes, dtype, weights -------------------------------------------------------------------

    def output_shapes(self):
        """Per-sample output shape of each layer, None where it cannot be known before data arrives."""
        shapes, shape = [], self.input_shape
        for layer in self.layers:
            if shape is None and layer.input_shape is not None:
                shape = layer.input_shape
            shape = layer.output_shape(shape) if shape is not None else None
            shapes.append(shape)
        return shapes

    @property
    def dtype(self):
        """The dtype of the parameters (float32 unless the layers were created otherwise)."""
        for layer in self.layers:
            for param in layer.params.values():
                return param.dtype
        return np.dtype(np.float32)

    def get_weights(self):
        """Copies of every parameter and buffer, as {"<layer>.<key>": array}."""
        return {f"{i}.{k}": v.copy() for i, layer in enumerate(self.layers) for k, v in {**layer.params, **layer.buffers}.items()}

    def set_weights(self, weights):
        """Copy arrays from get_weights() back into the layers (in place)."""
        from .serialization import assign_tensors

        assign_tensors(self.layers, weights)

    def _as_input(self, x, name="x"):
        """Cast once, at the boundary, to the parameters' dtype; reject what cannot be a batch."""
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be an array of numbers. Received: {type(x).__name__}") from error
        if x.dtype.kind not in "fiub":
            raise TypeError(f"{name} must be an array of numbers. Received dtype {x.dtype}")
        if x.ndim < 2:
            raise ValueError(f"{name} must be a batch of shape (N, features), got {x.shape}; for one sample use x[None]")
        if self.input_shape is not None and x.shape[1:] != self.input_shape:
            raise ValueError(
                f"{name} has shape {x.shape}; this model expects (N, {', '.join(map(str, self.input_shape))})"
            )
        dtype = self.dtype
        if x.dtype != dtype:
            with np.errstate(over="ignore"):  # values beyond float32's range become inf, reported just below
                x = x.astype(dtype)
        # one BLAS dot product: x·x is finite unless an entry is NaN or ±inf (or huge values overflow
        # it, which the exact elementwise check then clears); several times cheaper than np.isfinite(x.sum()).
        # vdot flattens x and, unlike dot, does not warn on overflow.
        if not math.isfinite(np.vdot(x, x)) and not np.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values (or values too large for {dtype})")
        return x

    # -- the two passes ---------------------------------------------------------------------------

    def forward(self, x, training=None):
        """Run the layers in order; ``training`` defaults to the mode set by train()/eval()."""
        training = self.training if training is None else training
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    __call__ = forward

    def backward(self, grad, input_grad=True):
        """Run the layers' backward passes in reverse and return dL/dX (None when input_grad=False,
        which spares the first layer's dX: training never needs the gradient of the data)."""
        for index in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[index]
            if index == 0 and not input_grad and hasattr(layer, "backward_params"):
                layer.backward_params(grad)
                return None
            grad = layer.backward(grad)
        return grad if input_grad else None

    def trace(self, x, y=None, *, loss=None):
        """Every layer's input, output and gradients from one real forward (and backward) pass: numnet.trace.trace."""
        return trace_passes(self, x, y, loss=loss)

    def predict(self, x, batch_size=256):
        """Outputs for x, computed in batches in inference mode (no dropout)."""
        x = self._as_input(x)
        batch_size = _positive_int("batch_size", batch_size)
        if len(x) == 0:
            raise ValueError("x is empty: nothing to predict")
        if len(x) <= batch_size:  # one batch: no list, no concatenation (single-sample latency)
            return self.forward(x, training=False)
        return np.concatenate([self.forward(x[i : i + batch_size], training=False) for i in range(0, len(x), batch_size)])

    # -- metrics ----------------------------------------------------------------------------------

    @staticmethod
    def _metrics(loss, names):
        """{name: f(y_true, y_pred)} for the requested metric names (default: accuracy for classification)."""
        classification = isinstance(loss, (CrossEntropy, BinaryCrossEntropy))
        if names is None:
            names = ["accuracy"] if classification else []
        if isinstance(names, str):
            names = [names]
        threshold = 0.0 if isinstance(loss, BinaryCrossEntropy) and loss.from_logits else 0.5
        available = {
            "accuracy": lambda y, out: metric_functions.accuracy(y, out, threshold=threshold),
            "top_k_accuracy": metric_functions.top_k_accuracy,
        }
        chosen = {}
        for name in names:
            if name not in available:
                raise ValueError(f"unknown metric {name!r}; expected one of {sorted(available)}")
            if not classification:
                raise ValueError(f"metric {name!r} needs a classification loss (CrossEntropy or BinaryCrossEntropy); got {loss!r}")
            chosen[name] = available[name]
        return chosen

    def _check_xy(self, x, y, name="x"):
        x = self._as_input(x, name)
        y = np.asarray(y)
        if len(y) != len(x):
            raise ValueError(f"{name} and its targets must have the same number of samples: got {len(x)} and {len(y)}")
        if len(x) == 0:
            raise ValueError(f"{name} is empty: nothing to train or evaluate on")
        return x, y

    # -- training ---------------------------------------------------------------------------------

    def fit(
        self, x, y, *, loss, optimizer, epochs, batch_size=32, shuffle=True, seed=None, validation_data=None,
        validation_split=None, metrics=None, callbacks=None, augment=None, checkpoint_dir=None, checkpoint_every=1,
        resume=False, verbose=1,
    ):
        """Train with mini-batch gradient descent and return a History of per-epoch metrics.

        Each step: forward a batch, L = loss(y, ŷ), backward dL/dŷ through the layers, optimizer.step.
        batch_size=1 is per-sample SGD; batch_size=len(x) is full-batch gradient descent.

        Args:
            x, y: training inputs (N, ...) and targets (N, ...).
            loss: a numnet.losses loss. optimizer: a numnet.optimizers optimizer.
            epochs: passes over the data. batch_size: samples per step (default 32).
            shuffle: reshuffle the order every epoch (default True). seed: seed of that order and of
                the augmentation (with seeded layers, the whole run is reproducible).
            validation_data: (x_val, y_val) evaluated after each epoch into val_loss, val_accuracy, ...
            validation_split: instead, hold out this fraction of x (its last rows, before shuffling).
            metrics: names among "accuracy", "top_k_accuracy" (default: accuracy for classification).
            callbacks: numnet.callbacks objects (EarlyStopping, ModelCheckpoint, ...).
            augment: a function (x_batch, rng) -> x_batch applied to training batches only,
                e.g. numnet.augmentation.ImageAugmenter().
            checkpoint_dir: save a checkpoint there every ``checkpoint_every`` epochs and on Ctrl-C.
            resume: continue from the checkpoint in checkpoint_dir if there is one (else start fresh).
            verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.

        A non-finite loss stops training with FloatingPointError naming the epoch and batch.
        Ctrl-C stops after the current batch; the model keeps what it learned,
        ``history.interrupted`` is True, and a checkpoint is saved when checkpoint_dir is set.
        """
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be a numnet.losses loss such as CrossEntropy(). Received: {loss!r}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a numnet.optimizers optimizer such as SGD(0.1). Received: {optimizer!r}")
        epochs = _positive_int("epochs", epochs)
        batch_size = _positive_int("batch_size", batch_size)
        checkpoint_every = _positive_int("checkpoint_every", checkpoint_every)
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2. Received: verbose={verbose!r}")
        if resume and checkpoint_dir is None:
            raise ValueError("resume=True needs a checkpoint_dir to resume from")
        if augment is not None and not callable(augment):
            raise TypeError(f"augment must be a function (x_batch, rng) -> x_batch. Received: {augment!r}")
        callbacks = list(callbacks or [])
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be numnet.callbacks.Callback objects. Received: {callback!r}")
        chosen_metrics = self._metrics(loss, metrics)
        x, y = self._check_xy(x, y)
        if validation_split is not None:
            if validation_data is not None:
                raise ValueError("pass either validation_data or validation_split, not both")
            if not (isinstance(validation_split, numbers.Real) and 0 < validation_split < 1):
                raise ValueError(f"validation_split must be a number in the range (0, 1). Received: {validation_split!r}")
            cut = len(x) - int(round(len(x) * validation_split))
            if cut <= 0 or cut >= len(x):
                raise ValueError(f"validation_split={validation_split} leaves no training or no validation samples out of {len(x)}")
            validation_data, x, y = (x[cut:], y[cut:]), x[:cut], y[:cut]
        if batch_size > len(x):
            raise ValueError(
                f"batch_size must be at most the number of samples ({len(x)}). Received: batch_size={batch_size}"
            )
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            validation_data = self._check_xy(*validation_data, name="validation x")

        rng = np.random.default_rng(seed)
        augment_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)) if seed is not None else None)
        layer_rngs = _random_generators(self.layers)
        history = History()
        run = {"epochs": epochs, "batch_size": batch_size, "samples": len(x), "shuffle": shuffle}
        start_epoch, resumed_batches, sums = 1, 0, None
        epoch_rng_state = rng.bit_generator.state

        if resume:
            from .checkpoints import CheckpointError, load_checkpoint

            state = load_checkpoint(checkpoint_dir, self, optimizer)
            if state is not None:
                if state["run"] != run:
                    raise CheckpointError(f"the checkpoint in {checkpoint_dir} belongs to a different run: {state['run']}, not {run}")
                start_epoch, resumed_batches, sums = state["epoch"], state["batches_done"], state["sums"]
                epoch_rng_state = state["epoch_rng_state"]
                augment_rng.bit_generator.state = state["augment_rng"]
                for index, generator_state in state["layer_rngs"].items():
                    layer_rngs[index].bit_generator.state = generator_state
                history.history, history.epoch = state["history"], state["history_epochs"]
                for callback, callback_state in zip(callbacks, state["callbacks"]):
                    callback.load_state_dict(callback_state)

        def running_logs(sums):
            return {key: sums[key] / sums["seen"] for key in ("loss", *chosen_metrics)}

        def save(epoch, batches_done, epoch_start_state, partial):
            from .checkpoints import save_checkpoint

            save_checkpoint(checkpoint_dir, self, optimizer, {
                "run": run, "epoch": epoch, "batches_done": batches_done, "epoch_rng_state": epoch_start_state,
                "sums": partial, "augment_rng": augment_rng.bit_generator.state,
                "layer_rngs": {i: g.bit_generator.state for i, g in layer_rngs.items()},
                "history": history.history, "history_epochs": history.epoch,
                "callbacks": [callback.state_dict() for callback in callbacks],
            })

        all_callbacks = callbacks + ([ProgressBar(verbose)] if verbose else [])
        for callback in all_callbacks:
            callback.model, callback.optimizer = self, optimizer
        # the per-batch hooks go only to the callbacks that define them: the running logs are
        # then built only when something reads them (a few µs a batch, ~1 % of a small network's step)
        batch_begin = [callback for callback in all_callbacks if _defines(callback, "on_train_batch_begin")]
        batch_end = [callback for callback in all_callbacks if _defines(callback, "on_train_batch_end")]
        batches = range(0, len(x), batch_size)
        self.stop_training = False
        for callback in all_callbacks:
            callback.on_train_begin({"epochs": epochs, "batches": len(batches)})

        # overflow in a diverging run surfaces as the non-finite-loss error below, not as NumPy warnings
        with _stop_after_batch_on_ctrl_c() as request, np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(start_epoch, epochs + 1):
                skip = resumed_batches if epoch == start_epoch else 0
                if not skip:
                    sums = {"loss": 0.0, "seen": 0, **{name: 0.0 for name in chosen_metrics}}
                for callback in all_callbacks:
                    callback.on_epoch_begin(epoch, {"resumed_batches": skip})
                rng.bit_generator.state = epoch_rng_state
                order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
                for batch, start in enumerate(batches, 1):
                    if batch <= skip:
                        continue
                    for callback in batch_begin:
                        callback.on_train_batch_begin(batch, {})
                    index = order[start : start + batch_size]
                    xb, yb = x.take(index, axis=0), y.take(index, axis=0)  # take: ~5 µs faster than x[index] a batch of 64
                    if augment is not None:
                        xb = augment(xb, augment_rng)
                    out = self.forward(xb, training=True)
                    value, grad = loss.value_and_gradient(yb, out)
                    if not math.isfinite(value):
                        for callback in all_callbacks:
                            callback.on_train_end({})
                        raise FloatingPointError(
                            f"the loss became {value} at epoch {epoch}, batch {batch}: training diverged. "
                            f"Try a lower learning rate (lr={optimizer.lr:g} now)."
                        )
                    self.backward(grad, input_grad=False)
                    optimizer.step(self)
                    sums["seen"] += len(index)
                    sums["loss"] += value * len(index)
                    for name, function in chosen_metrics.items():
                        sums[name] += function(yb, out) * len(index)
                    if batch_end:
                        logs = running_logs(sums)
                        for callback in batch_end:
                            callback.on_train_batch_end(batch, logs)
                    if request["stop"] or (self.stop_training and batch < len(batches)):
                        break
                else:
                    batch = len(batches)
                logs = running_logs(sums)
                if batch < len(batches):  # stopped inside the epoch, by Ctrl-C or by a callback
                    if request["stop"]:
                        history.interrupted = True
                        if checkpoint_dir is not None:
                            save(epoch, batch, epoch_rng_state, sums)
                        self._report_interrupt(epoch, epochs, batch, len(batches), history, checkpoint_dir)
                    break
                self._check_finite_params(epoch)
                if validation_data is not None:
                    results = self.evaluate(*validation_data, loss=loss, metrics=list(chosen_metrics))
                    logs.update({f"val_{k}": v for k, v in results.items()})
                epoch_rng_state = rng.bit_generator.state
                for callback in all_callbacks:
                    callback.on_epoch_end(epoch, logs)
                history.append(epoch, {k: float(v) for k, v in logs.items()})
                if checkpoint_dir is not None and (epoch % checkpoint_every == 0 or epoch == epochs or self.stop_training or request["stop"]):
                    save(epoch + 1, 0, epoch_rng_state, None)
                if request["stop"]:
                    history.interrupted = True
                    self._report_interrupt(epoch, epochs, batch, len(batches), history, checkpoint_dir)
                    break
                if self.stop_training:
                    break
        for callback in all_callbacks:
            callback.on_train_end(history.history)
        return history

    @staticmethod
    def _report_interrupt(epoch, epochs, batch, batches, history, checkpoint_dir):
        saved = f" A checkpoint is in {checkpoint_dir}: resume=True continues from here." if checkpoint_dir else ""
        print(
            f"Training interrupted in epoch {epoch}/{epochs} after batch {batch}/{batches}; the model keeps the "
            f"weights learned so far ({len(history.epoch)} full epochs recorded).{saved}",
            file=sys.stderr,
        )

    def _check_finite_params(self, epoch):
        for index, layer in enumerate(self.layers):
            for key, param in layer.params.items():
                if not np.isfinite(param).all():
                    raise FloatingPointError(
                        f"parameter {index}.{key} became NaN or infinite in epoch {epoch}: training diverged. "
                        "Try a lower learning rate."
                    )

    def evaluate(self, x, y, *, loss, batch_size=256, metrics=None):
        """Mean loss and metrics (default: accuracy for classification losses) over x, y in inference mode."""
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be a numnet.losses loss such as CrossEntropy(). Received: {loss!r}")
        chosen = self._metrics(loss, metrics)
        x, y = self._check_xy(x, y)
        out = self.predict(x, batch_size=batch_size)
        return {"loss": loss(y, out), **{name: function(y, out) for name, function in chosen.items()}}

    # -- files ------------------------------------------------------------------------------------

    def save(self, path, metadata=None):
        """Save to a safetensors model file (atomically); reload with numnet.load(path)."""
        from .serialization import save_model

        save_model(self, path, metadata)

    # -- description ------------------------------------------------------------------------------

    def count_params(self):
        return sum(p.size for layer in self.layers for p in layer.params.values())

    def summary(self, print_fn=print):
        """Print a table of the layers, their output shapes and parameter counts."""
        rows = [("#", "Layer", "Output shape", "Params")]
        for i, (layer, shape) in enumerate(zip(self.layers, self.output_shapes())):
            shown = "(N, " + ", ".join(map(str, shape)) + ")" if shape is not None else "?"
            rows.append((str(i), repr(layer), shown, f"{sum(p.size for p in layer.params.values()):,}"))
        widths = [max(len(row[c]) for row in rows) for c in range(4)]
        line = "-" * (sum(widths) + 6)
        text = [line]
        for n, row in enumerate(rows):
            text.append("  ".join(cell.rjust(w) if c in (0, 3) else cell.ljust(w) for c, (cell, w) in enumerate(zip(row, widths))))
            if n == 0:
                text.append(line)
        text += [line, f"Total params: {self.count_params():,}  ({self.dtype})"]
        for row in text:
            print_fn(row)

    def __repr__(self):
        return "Sequential([" + ", ".join(map(repr, self.layers)) + "])"

"""The digit recognizer end to end: data by name, the default model, a training run and its folder.

What ``numnet train`` does, as library functions (the CLI only parses arguments and calls these).
"""

import contextlib
import csv
import datetime
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, cast

import numpy as np

from . import initializers, metrics, plots, validation
from ._files import atomic_write
from .datasets import (
    FASHION_MNIST_CLASSES,
    load_digits_sample,
    load_fashion_mnist,
    load_mnist,
    scale,
    stratified_split,
)
from .functional import softmax
from .images import load_digit
from .augmentation import ImageAugmenter
from .callbacks import Callback, Diagnostics, EarlyStopping, LearningRateScheduler
from .checkpoints import checkpoint_path
from .layers.base import Layer
from .layers import Conv2D, Dense, Dropout, Flatten, LeakyReLU, MaxPool2D, ReLU, Sigmoid, Tanh
from .losses import CrossEntropy
from .model import Sequential
from .run_folder import CHECKPOINTS, RunFolderError, RunSettings, check_checkpoint_settings, holds_run, run_folder_lock
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSprop
from .schedules import CosineAnnealingLR, ExponentialLR, ReduceLROnPlateau, StepLR

DATASETS = ("digits-sample", "mnist", "fashion-mnist")
ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}
OPTIMIZERS = {"adam": Adam, "sgd": SGD, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}
SCHEDULES = ("none", "step", "exponential", "cosine", "plateau")
DIGIT_CLASSES = tuple(str(d) for d in range(10))
VALIDATION_FRACTION = 0.1
#: training samples traced after every epoch by --diagnose
DIAGNOSTICS_PROBE = 256
def class_names(dataset: str) -> Tuple[str, ...]:
    return FASHION_MNIST_CLASSES if dataset == "fashion-mnist" else DIGIT_CLASSES


def load_dataset(name: str, data_dir: Optional[str | Path] = None, progressbar: bool = True
                 ) -> Tuple[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]:
    """(x_train, y_train), (x_test, y_test) of a named dataset: uint8 images (N, 28, 28), uint8 labels."""
    if name == "digits-sample":
        if data_dir is not None:
            raise ValueError(f"data_dir={data_dir} applies to mnist and fashion-mnist; digits-sample is embedded in numnet "
                             "and reads no files")
        return load_digits_sample()
    if name == "mnist":
        return load_mnist(data_dir, progressbar=progressbar)
    if name == "fashion-mnist":
        return load_fashion_mnist(data_dir, progressbar=progressbar)
    raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")


def _init_for(activation):
    return initializers.for_activation(ACTIVATIONS[activation].__name__)


def build_mlp(hidden: Iterable[int] = (256, 128), activation: str = "relu", dropout: Optional[float] = 0.2, seed: Optional[int] = 0,
              classes: int = 10) -> Sequential:
    """28×28 images -> Flatten -> [Dense -> activation -> Dropout] per hidden size -> Dense(classes) logits."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
    rng = np.random.default_rng(seed)
    layers: List[Layer] = [Flatten()]
    width = 28 * 28
    for size in hidden:
        layers += [Dense(width, size, rng=rng, init=_init_for(activation)), ACTIVATIONS[activation]()]
        if dropout:
            layers.append(Dropout(dropout, rng=rng))
        width = size
    layers.append(Dense(width, classes, rng=rng))
    return Sequential(layers, input_shape=(28, 28))


def build_cnn(channels: Iterable[int] = (16, 32), dense: int = 128, activation: str = "relu", dropout: Optional[float] = 0.3,
              seed: Optional[int] = 0, classes: int = 10) -> Sequential:
    """A LeNet-like network for (1, 28, 28) images: two [Conv 3×3 -> activation -> MaxPool 2×2] blocks,
    then Flatten -> Dense(dense) -> activation -> Dropout -> Dense(classes) logits."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
    rng = np.random.default_rng(seed)
    layers: List[Layer] = []
    width, size = 1, 28
    for out in channels:
        layers += [Conv2D(width, out, 3, padding=1, rng=rng, init=_init_for(activation)), ACTIVATIONS[activation](), MaxPool2D(2)]
        width, size = out, size // 2
    layers += [Flatten(), Dense(width * size * size, dense, rng=rng, init=_init_for(activation)), ACTIVATIONS[activation]()]
    if dropout:
        layers.append(Dropout(dropout, rng=rng))
    layers.append(Dense(dense, classes, rng=rng))
    return Sequential(layers, input_shape=(1, 28, 28))


def as_model_input(model: Sequential, images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) -> float32 in [0, 1], shaped as the model's input ((N, 28, 28) or (N, 1, 28, 28))."""
    images = scale(images) if images.dtype == np.uint8 else np.asarray(images, dtype=np.float32)
    shape = model.input_shape or images.shape[1:]
    return images.reshape(len(images), *shape)


# per-model defaults for the settings left unset (None)
MODEL_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "mlp": {"epochs": 20, "augment": False, "schedule": "none", "dropout": 0.2},
    "cnn": {"epochs": 15, "augment": True, "schedule": "cosine", "dropout": 0.3},
}


@dataclass
class TrainConfig:
    """Everything that defines a training run (all of it is saved in the run folder)."""

    dataset: str = "digits-sample"
    model: str = "mlp"
    hidden: tuple = (256, 128)
    activation: str = "relu"
    dropout: Optional[float] = None
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: Optional[str] = None
    early_stopping: int = 0
    augment: Optional[bool] = None
    epochs: Optional[int] = None
    batch_size: int = 64
    seed: int = 0
    data_dir: Optional[str] = None
    out: Optional[str] = None
    verbose: int = 1
    diagnose: bool = False
    clip_norm: float | None = None


#: the settings that define what a run computes: a checkpoint records them, and is resumed only under the same ones
RUN_SETTINGS = ("dataset", "model", "hidden", "activation", "dropout", "optimizer", "lr", "momentum", "weight_decay",
                "schedule", "early_stopping", "augment", "epochs", "batch_size", "seed")


def _choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(choices)}")
    return value


def _optional_path(name, value):
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a folder path or None. Received: {name}={value!r}")


def check_config(config: TrainConfig) -> TrainConfig:
    """``config`` with the per-model defaults filled in (the settings left None), every setting checked.

    Raises ValueError (TypeError for a wrong type) naming the setting, what it expects and what it got,
    before anything is created: train() calls it first.
    """
    validation.instance("config", config, TrainConfig, "a numnet.runs.TrainConfig")
    _choice("model", config.model, tuple(MODEL_DEFAULTS))
    config = replace(config, **{k: v for k, v in MODEL_DEFAULTS[config.model].items() if getattr(config, k) is None})
    _choice("dataset", config.dataset, DATASETS)
    if isinstance(config.hidden, (str, bytes)) or not hasattr(config.hidden, "__iter__") or not len(tuple(config.hidden)):
        raise ValueError(f"hidden must be a non-empty list of layer sizes. Received: hidden={config.hidden!r}")
    hidden = tuple(validation.positive_int("hidden", size) for size in config.hidden)
    _choice("activation", config.activation, tuple(ACTIVATIONS))
    validation.number("dropout", config.dropout, 0, 1, high_inclusive=False)
    _choice("optimizer", config.optimizer, tuple(OPTIMIZERS))
    validation.number("lr", config.lr, 0, low_inclusive=False)
    validation.number("momentum", config.momentum, 0, 1, high_inclusive=False)
    if config.momentum and config.optimizer not in ("sgd", "rmsprop"):
        raise ValueError(f"momentum applies to the sgd and rmsprop optimizers, not {config.optimizer}")
    validation.number("weight_decay", config.weight_decay, 0)
    _choice("schedule", config.schedule, SCHEDULES)
    validation.non_negative_int("early_stopping", config.early_stopping)
    validation.boolean("augment", config.augment)
    validation.positive_int("epochs", config.epochs)
    validation.positive_int("batch_size", config.batch_size)
    validation.non_negative_int("seed", config.seed)
    _optional_path("data_dir", config.data_dir)
    if config.data_dir is not None and config.dataset == "digits-sample":
        load_dataset(config.dataset, config.data_dir)  # refuses it, naming data_dir
    _optional_path("out", config.out)
    validation.one_of("verbose", config.verbose, (0, 1, 2))
    validation.boolean("diagnose", config.diagnose)
    return replace(config, hidden=hidden)


def _run_settings(config):
    return {key: value for key, value in _config_json(config).items() if key in RUN_SETTINGS}


class _WriteSettings(Callback):
    """Writes config.json with the run's settings when training begins (after fit has checked its arguments),
    so that a resume finds them; ``began`` tells train() that the folder now holds a run."""

    def __init__(self, path, config, write):
        self.path, self.config, self.write, self.began = path, config, write, False

    def on_train_begin(self, logs=None):
        self.began = True
        if self.write:
            with atomic_write(self.path, "w") as file:
                json.dump({"config": _config_json(self.config)}, file, indent=2)


@dataclass
class RunResult:
    folder: Path
    model: Sequential
    history: dict
    test_accuracy: float
    seconds: float
    interrupted: bool
    files: list = field(default_factory=list)


def default_run_folder(root: str | os.PathLike = "runs") -> Path:
    return Path(root) / datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def _optimizer(config):
    kwargs = {"weight_decay": config.weight_decay}
    if config.momentum:
        kwargs["momentum"] = config.momentum
    return OPTIMIZERS[config.optimizer](config.lr, **kwargs)


def _callbacks(config, optimizer):
    """The schedule and early stopping that the config asks for."""
    schedules = {
        "none": None,
        "step": lambda: StepLR(optimizer, step_size=max(1, config.epochs // 3), gamma=0.1),
        "exponential": lambda: ExponentialLR(optimizer, gamma=0.9),
        "cosine": lambda: CosineAnnealingLR(optimizer, T_max=config.epochs, warmup_epochs=min(2, config.epochs - 1)),
        "plateau": lambda: ReduceLROnPlateau(optimizer, factor=0.5, patience=2),
    }
    callbacks = []
    if schedules[config.schedule] is not None:
        callbacks.append(LearningRateScheduler(schedules[config.schedule]()))
    if config.early_stopping:
        callbacks.append(EarlyStopping("val_loss", patience=config.early_stopping, restore_best_weights=True))
    return callbacks


def train(config: TrainConfig, resume: bool = False) -> RunResult:
    """Train the digit model described by ``config``, write the run folder, and return a RunResult.

    Every setting is checked first (check_config): a refused one leaves nothing behind. The run folder
    (``config.out``, default runs/<date-time>) is held by this process for the whole run (run_folder_lock):
    another process training into it is refused. Without ``resume`` the folder must not hold a run yet.
    The folder gets a checkpoint after every epoch (and on Ctrl-C); with ``resume=True`` the folder must
    exist, and training continues from its checkpoint, after checking that the checkpoint was written
    under the same settings (check_checkpoint_settings), or starts when there is none.

    A diverging run raises FloatingPointError (see numnet.training.fit) and writes no model: the folder
    keeps config.json and the last checkpoint taken before the divergence, if any.
    """
    config = check_config(config)
    resume = validation.boolean("resume", resume)
    folder = Path(config.out) if config.out else default_run_folder()
    if resume and not folder.is_dir():
        raise RunFolderError(f"resume=True: there is no run folder {folder} to resume")
    optimizer = _optimizer(config)
    callbacks = _callbacks(config, optimizer)
    if config.model == "cnn":
        model = build_cnn(activation=config.activation, dropout=config.dropout, seed=config.seed)
    else:
        model = build_mlp(config.hidden, config.activation, config.dropout, config.seed)

    (x_train, y_train), (x_test, y_test) = load_dataset(config.dataset, config.data_dir, progressbar=config.verbose > 0)
    train_index, val_index = stratified_split(y_train, VALIDATION_FRACTION, config.seed)
    x_fit, y_fit = as_model_input(model, x_train[train_index]), y_train[train_index]
    validation_data = (as_model_input(model, x_train[val_index]), y_train[val_index])
    diagnostics = Diagnostics(x_fit[:DIAGNOSTICS_PROBE], folder=folder, print_fn=print) if config.diagnose else None
    if diagnostics is not None:  # per-layer statistics and plain warnings: diagnostics.csv, .txt and .png
        callbacks.append(diagnostics)

    created = not folder.exists()
    settings = _WriteSettings(folder / "config.json", config, write=False)
    try:
        with run_folder_lock(folder):
            if resume:
                check_checkpoint_settings(folder, _run_settings(config))
            elif holds_run(folder):
                raise RunFolderError(f"the run folder {folder} already holds a run: resume it (resume=True) "
                                     "or train into another folder (out=...)")
            settings.write = not settings.path.exists()  # config.json first, so that a resume finds the settings
            started = time.perf_counter()
            try:
                history = model.fit(
                    x_fit, y_fit, loss=CrossEntropy(), optimizer=optimizer, epochs=cast(int, config.epochs), batch_size=config.batch_size,
                    seed=config.seed, validation_data=validation_data, verbose=config.verbose,
                    callbacks=[settings, RunSettings(_run_settings(config)), *callbacks],
                    augment=ImageAugmenter(max_shift=2, max_rotation=10) if config.augment else None,
                    checkpoint_dir=folder / CHECKPOINTS, resume=resume, clip_norm=config.clip_norm,
                )
            except FloatingPointError as error:
                kept = ("config.json and the last checkpoint taken before the divergence"
                        if checkpoint_path(folder / CHECKPOINTS).exists() else "only config.json (it diverged before its first checkpoint)")
                raise FloatingPointError(f"{error} No model was saved; the run folder {folder} keeps {kept}.") from None
            seconds = time.perf_counter() - started
            return _write_run_folder(folder, model, config, history, x_test, y_test, seconds, diagnostics)
    except BaseException:
        if created and not settings.began:  # refused before training began: leave no folder behind
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _write_run_folder(folder, model, config, history, x_test, y_test, seconds, diagnostics):
    """The model (with its metadata), history, settings and pictures of a finished (or Ctrl-C'd) run."""
    names = class_names(config.dataset)
    predicted = model.predict(as_model_input(model, x_test)).argmax(axis=1)
    test_accuracy = float(np.mean(predicted == y_test))
    matrix = metrics.confusion_matrix(y_test, predicted, len(names))
    model.metadata = {
        "dataset": config.dataset,
        "class_names": list(names),
        "input": "28x28 grayscale, light ink on dark, scaled to [0, 1]",
        "test_accuracy": test_accuracy,
        "config": _config_json(config),
    }

    files = write_model_and_history(folder, model, history.history)
    files += [folder / "confusion_matrix.png", folder / "misclassified.png", folder / "first_layer_weights.png"]
    plots.plot_confusion_matrix(matrix, names, folder / "confusion_matrix.png")
    plots.plot_misclassified(x_test, y_test, predicted, names, folder / "misclassified.png")
    first = next(layer for layer in model.layers if isinstance(layer, (Dense, Conv2D)))
    if isinstance(first, Conv2D):
        files[-1] = folder / "first_layer_filters.png"
        plots.plot_conv_filters(first.weight, files[-1])
        files.append(folder / "feature_maps.png")
        plots.plot_feature_maps(model, as_model_input(model, x_test[:1]), files[-1])
    else:
        plots.plot_first_layer_weights(first.weight, files[-1])
    if diagnostics is not None:
        files += diagnostics.files
    return RunResult(folder, model, history.history, seconds=seconds, test_accuracy=test_accuracy,
                     interrupted=history.interrupted, files=files)


def _config_json(config):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()}


def saved_config(folder: str | os.PathLike) -> Optional[TrainConfig]:
    """The TrainConfig stored in a run folder's config.json, or None when there is none."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())["config"]
        saved["hidden"] = tuple(saved["hidden"])
        return TrainConfig(**saved)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a numnet run configuration ({error})") from None


def write_model_and_history(folder: Path, model: Sequential, history: dict) -> list:
    """What every run folder holds, written and listed: model.safetensors, history.csv, config.json (the
    model's metadata) and curves.png (when there is a history)."""
    files = [folder / "model.safetensors", folder / "history.csv", folder / "config.json"]
    model.save(files[0])
    write_history_csv(history, files[1])
    with atomic_write(files[2], "w") as file:
        json.dump(model.metadata, file, indent=2)
    if history:
        files.append(folder / "curves.png")
        plots.plot_history(history, files[3])
    return files


def write_history_csv(history: Dict[str, List[float]], path: str | os.PathLike) -> None:
    """One row per epoch: epoch, then each metric."""
    keys = list(history)
    epochs = len(next(iter(history.values()), []))
    with atomic_write(path, "w") as file:
        writer = csv.writer(file)
        writer.writerow(["epoch", *keys])
        for i in range(epochs):
            writer.writerow([i + 1, *(f"{history[k][i]:.6f}" for k in keys)])


@dataclass
class Evaluation:
    accuracy: float
    precision: np.ndarray
    recall: np.ndarray
    confusion: np.ndarray
    class_names: tuple
    dataset: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able: dataset, accuracy, per-class precision and recall, confusion matrix (rows: true class)."""
        return {
            "dataset": self.dataset,
            "accuracy": self.accuracy,
            "classes": [{"class": name, "precision": float(p), "recall": float(r)}
                        for name, p, r in zip(self.class_names, self.precision, self.recall)],
            "confusion": self.confusion.tolist(),
        }


def check_model_fits(model: Sequential, source: str = "model") -> None:
    """Raise ValueError unless the model takes 28×28 images and gives 10 scores."""
    try:
        out = model.predict(as_model_input(model, np.zeros((1, 28, 28), dtype=np.uint8)))
    except ValueError as error:
        raise ValueError(f"{source} does not fit 28x28 images: {error}") from None
    if out.shape != (1, 10):
        raise ValueError(f"{source} gives {out.shape[1]} outputs per image; expected 10 class scores")


def evaluate(model: Sequential, dataset: Optional[str] = None, data_dir: Optional[str | Path] = None,
             source: str = "model") -> Evaluation:
    """Accuracy, per-class precision and recall, and the confusion matrix on a dataset's test split."""
    dataset = dataset or model.metadata.get("dataset", "digits-sample")
    check_model_fits(model, source)
    _, (x_test, y_test) = load_dataset(dataset, data_dir)
    predicted = model.predict(as_model_input(model, x_test)).argmax(axis=1)
    names = class_names(dataset)
    matrix = metrics.confusion_matrix(y_test, predicted, len(names))
    precision, recall = metrics.precision_recall(matrix)
    return Evaluation(float(np.mean(predicted == y_test)), precision, recall, matrix, names, dataset)


def predict_images(model: Sequential, paths: Sequence[str | os.PathLike], top: int = 3, source: str = "model"
                   ) -> List[Dict[str, Any]]:
    """For each image file, in order: {"image", "prediction", "top": the `top` most likely classes with
    probabilities}, or {"image", "error"} for a file that cannot be read as a digit (the others are still answered)."""
    check_model_fits(model, source)
    names = model.metadata.get("class_names") or list(DIGIT_CLASSES)
    results: List[Optional[Dict[str, Any]]] = []
    digits, read = [], []
    for path in paths:
        try:
            digits.append(load_digit(path))
        except (ValueError, OSError) as error:
            message = str(error)  # it names the file; the result does too
            results.append({"image": str(path), "error": message.removeprefix(f"{path}: ")})
        else:
            results.append(None)
            read.append(len(results) - 1)
    if digits:
        probabilities = softmax(model.predict(as_model_input(model, np.stack(digits))).astype(np.float64))
        for position, row in zip(read, probabilities):
            best = np.argsort(-row)[:top]
            results[position] = {
                "image": str(paths[position]),
                "prediction": names[best[0]],
                "top": [{"class": names[i], "probability": round(float(row[i]), 6)} for i in best],
            }
    return cast(List[Dict[str, Any]], results)  # every None has been replaced


def model_summary(model: Sequential) -> Dict[str, Any]:
    """A model as JSON-able data: each layer's type, config, output shape and parameter count, the
    totals, the input shape, dtype and the metadata saved with it."""
    layers = []
    for index, (layer, shape) in enumerate(zip(model.layers, model.output_shapes())):
        layers.append({
            "index": index,
            "type": type(layer).__name__,
            "config": layer.get_config(),
            "output_shape": None if shape is None else [None, *shape],
            "params": int(sum(p.size for p in layer.params.values())),
        })
    return {
        "input_shape": None if model.input_shape is None else [None, *model.input_shape],
        "dtype": str(model.dtype),
        "layers": layers,
        "total_params": int(model.count_params()),
        "metadata": model.metadata,
    }

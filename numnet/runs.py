"""The digit recognizer end to end: data by name, the default model, a training run and its folder.

What ``numnet train`` does, as library functions (the CLI only parses arguments and calls these).
"""

import csv
import datetime
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np

from . import initializers, metrics, plots
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
from .callbacks import Diagnostics, EarlyStopping, LearningRateScheduler
from .layers import Conv2D, Dense, Dropout, Flatten, LeakyReLU, MaxPool2D, ReLU, Sigmoid, Tanh
from .losses import CrossEntropy
from .model import Sequential
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


def class_names(dataset):
    return FASHION_MNIST_CLASSES if dataset == "fashion-mnist" else DIGIT_CLASSES


def load_dataset(name, data_dir=None, progressbar=True):
    """(x_train, y_train), (x_test, y_test) of a named dataset: uint8 images (N, 28, 28), uint8 labels."""
    if name == "digits-sample":
        return load_digits_sample()
    if name == "mnist":
        return load_mnist(data_dir, progressbar=progressbar)
    if name == "fashion-mnist":
        return load_fashion_mnist(data_dir, progressbar=progressbar)
    raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")


def _init_for(activation):
    return initializers.for_activation(ACTIVATIONS[activation].__name__)


def build_mlp(hidden=(256, 128), activation="relu", dropout=0.2, seed=0, classes=10):
    """28×28 images -> Flatten -> [Dense -> activation -> Dropout] per hidden size -> Dense(classes) logits."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
    rng = np.random.default_rng(seed)
    layers, width = [Flatten()], 28 * 28
    for size in hidden:
        layers += [Dense(width, size, rng=rng, init=_init_for(activation)), ACTIVATIONS[activation]()]
        if dropout:
            layers.append(Dropout(dropout, rng=rng))
        width = size
    layers.append(Dense(width, classes, rng=rng))
    return Sequential(layers, input_shape=(28, 28))


def build_cnn(channels=(16, 32), dense=128, activation="relu", dropout=0.3, seed=0, classes=10):
    """A LeNet-like network for (1, 28, 28) images: two [Conv 3×3 -> activation -> MaxPool 2×2] blocks,
    then Flatten -> Dense(dense) -> activation -> Dropout -> Dense(classes) logits."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
    rng = np.random.default_rng(seed)
    layers, width, size = [], 1, 28
    for out in channels:
        layers += [Conv2D(width, out, 3, padding=1, rng=rng, init=_init_for(activation)), ACTIVATIONS[activation](), MaxPool2D(2)]
        width, size = out, size // 2
    layers += [Flatten(), Dense(width * size * size, dense, rng=rng, init=_init_for(activation)), ACTIVATIONS[activation]()]
    if dropout:
        layers.append(Dropout(dropout, rng=rng))
    layers.append(Dense(dense, classes, rng=rng))
    return Sequential(layers, input_shape=(1, 28, 28))


def as_model_input(model, images):
    """uint8 images (N, 28, 28) -> float32 in [0, 1], shaped as the model's input ((N, 28, 28) or (N, 1, 28, 28))."""
    images = scale(images) if images.dtype == np.uint8 else np.asarray(images, dtype=np.float32)
    shape = model.input_shape or images.shape[1:]
    return images.reshape(len(images), *shape)


# per-model defaults for the settings left unset (None)
MODEL_DEFAULTS = {
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


@dataclass
class RunResult:
    folder: Path
    model: Sequential
    history: dict
    test_accuracy: float
    seconds: float
    interrupted: bool
    files: list = field(default_factory=list)


def default_run_folder(root="runs"):
    return Path(root) / datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def _optimizer(config):
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
    kwargs = {"weight_decay": config.weight_decay}
    if config.momentum:
        if config.optimizer not in ("sgd", "rmsprop"):
            raise ValueError(f"momentum applies to the sgd and rmsprop optimizers, not {config.optimizer}")
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
    if config.schedule not in schedules:
        raise ValueError(f"unknown schedule {config.schedule!r}; expected one of {', '.join(schedules)}")
    callbacks = []
    if schedules[config.schedule] is not None:
        callbacks.append(LearningRateScheduler(schedules[config.schedule]()))
    if config.early_stopping:
        callbacks.append(EarlyStopping("val_loss", patience=config.early_stopping, restore_best_weights=True))
    return callbacks


def train(config, resume=False):
    """Train the digit model described by ``config``, write the run folder, and return a RunResult.

    The run folder gets a checkpoint after every epoch (and on Ctrl-C); with ``resume=True`` training
    continues from it, or starts fresh when there is none.
    """
    if config.model not in MODEL_DEFAULTS:
        raise ValueError(f"unknown model {config.model!r}; expected one of {', '.join(MODEL_DEFAULTS)}")
    config = replace(config, **{k: v for k, v in MODEL_DEFAULTS[config.model].items() if getattr(config, k) is None})
    optimizer = _optimizer(config)
    callbacks = _callbacks(config, optimizer)
    if config.model == "cnn":
        model = build_cnn(activation=config.activation, dropout=config.dropout, seed=config.seed)
    else:
        model = build_mlp(config.hidden, config.activation, config.dropout, config.seed)
    folder = Path(config.out) if config.out else default_run_folder()  # created when the first file is saved

    (x_train, y_train), (x_test, y_test) = load_dataset(config.dataset, config.data_dir, progressbar=config.verbose > 0)
    train_index, val_index = stratified_split(y_train, VALIDATION_FRACTION, config.seed)
    x_fit, y_fit = as_model_input(model, x_train[train_index]), y_train[train_index]
    validation = (as_model_input(model, x_train[val_index]), y_train[val_index])
    diagnostics = Diagnostics(x_fit[:DIAGNOSTICS_PROBE], folder=folder, print_fn=print) if config.diagnose else None
    if diagnostics is not None:  # per-layer statistics and plain warnings: diagnostics.csv, .txt and .png
        callbacks.append(diagnostics)

    started = time.perf_counter()
    with atomic_write(folder / "config.json", "w") as file:  # first, so that --resume finds the settings
        json.dump({"config": _config_json(config)}, file, indent=2)
    history = model.fit(
        x_fit, y_fit, loss=CrossEntropy(), optimizer=optimizer, epochs=config.epochs, batch_size=config.batch_size,
        seed=config.seed, validation_data=validation, verbose=config.verbose, callbacks=callbacks,
        augment=ImageAugmenter(max_shift=2, max_rotation=10) if config.augment else None,
        checkpoint_dir=folder / "checkpoints", resume=resume, clip_norm=config.clip_norm,
    )
    seconds = time.perf_counter() - started

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

    files = [folder / "model.safetensors", folder / "history.csv", folder / "config.json", folder / "curves.png",
             folder / "confusion_matrix.png", folder / "misclassified.png", folder / "first_layer_weights.png"]
    model.save(files[0])
    write_history_csv(history.history, files[1])
    with atomic_write(files[2], "w") as file:
        json.dump(model.metadata, file, indent=2)
    if history.history:
        plots.plot_history(history.history, files[3])
    else:
        files.remove(files[3])
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
    return RunResult(folder, model, history.history, test_accuracy, seconds, history.interrupted, files)


def _config_json(config):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()}


def saved_config(folder):
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


def write_history_csv(history, path):
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


def check_model_fits(model, source="model"):
    """Raise ValueError unless the model takes 28×28 images and gives 10 scores."""
    try:
        out = model.predict(as_model_input(model, np.zeros((1, 28, 28), dtype=np.uint8)))
    except ValueError as error:
        raise ValueError(f"{source} does not fit 28x28 images: {error}") from None
    if out.shape != (1, 10):
        raise ValueError(f"{source} gives {out.shape[1]} outputs per image; expected 10 class scores")


def evaluate(model, dataset=None, data_dir=None, source="model"):
    """Accuracy, per-class precision and recall, and the confusion matrix on a dataset's test split."""
    dataset = dataset or model.metadata.get("dataset", "digits-sample")
    check_model_fits(model, source)
    _, (x_test, y_test) = load_dataset(dataset, data_dir)
    predicted = model.predict(as_model_input(model, x_test)).argmax(axis=1)
    names = class_names(dataset)
    matrix = metrics.confusion_matrix(y_test, predicted, len(names))
    precision, recall = metrics.precision_recall(matrix)
    return Evaluation(float(np.mean(predicted == y_test)), precision, recall, matrix, names)


def predict_images(model, paths, top=3, source="model"):
    """For each image file: the predicted class and the `top` most likely classes with probabilities."""
    check_model_fits(model, source)
    names = model.metadata.get("class_names") or list(DIGIT_CLASSES)
    digits = np.stack([load_digit(path) for path in paths])
    probabilities = softmax(model.predict(as_model_input(model, digits)).astype(np.float64))
    results = []
    for path, row in zip(paths, probabilities):
        best = np.argsort(-row)[:top]
        results.append({
            "image": str(path),
            "prediction": names[best[0]],
            "top": [{"class": names[i], "probability": round(float(row[i]), 6)} for i in best],
        })
    return results

"""Pictures of a training run, written as PNG files with matplotlib (no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Sequence, Tuple

import numpy as np
from numpy.typing import ArrayLike

from ._files import atomic_write
from .layers import AvgPool2D, MaxPool2D

if TYPE_CHECKING:  # matplotlib is imported when a picture is drawn
    from matplotlib.figure import Figure


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure  # no pyplot: works without a display and without global state

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(figure: Figure, path: str | Path) -> None:
    with atomic_write(path) as file:
        figure.savefig(file, format="png")


def plot_history(history: Dict[str, List[float]], path: str | Path) -> None:
    """Loss and accuracy per epoch, training and validation, side by side."""
    figure = _figure(10, 4)
    panels = [name for name in ("loss", "accuracy") if name in history]
    for i, name in enumerate(panels, 1):
        axes = figure.add_subplot(1, len(panels), i)
        epochs = np.arange(1, len(history[name]) + 1)
        axes.plot(epochs, history[name], marker="o", label="training")
        if f"val_{name}" in history:
            axes.plot(epochs, history[f"val_{name}"], marker="o", label="validation")
        axes.set(xlabel="epoch", ylabel=name, title=name.capitalize())
        axes.grid(alpha=0.3)
        axes.legend()
    _save(figure, path)


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], path: str | Path) -> None:
    """Counts of true class (rows) against predicted class (columns)."""
    figure = _figure(7, 6)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    ticks = np.arange(len(class_names))
    axes.set_xticks(ticks, class_names, rotation=45, ha="right")
    axes.set_yticks(ticks, class_names)
    axes.set(xlabel="predicted", ylabel="true", title=f"Confusion matrix ({np.trace(matrix)}/{matrix.sum()} right)")
    threshold = matrix.max() / 2
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            axes.text(col, row, str(count), ha="center", va="center", fontsize=8,
                      color="white" if count > threshold else "black")
    _save(figure, path)


def plot_misclassified(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str],
                       path: str | Path, limit: int = 36) -> None:
    """A grid of the first `limit` test images the model got wrong, titled true -> predicted."""
    all_wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))
    wrong = all_wrong[:limit]
    columns = 6
    rows = max(1, int(np.ceil(len(wrong) / columns)))
    figure = _figure(columns * 1.6, rows * 1.8)
    figure.suptitle(f"Misclassified test images ({len(wrong)} of {len(all_wrong)} shown): true -> predicted")
    for i, index in enumerate(wrong):
        axes = figure.add_subplot(rows, columns, i + 1)
        axes.imshow(images[index], cmap="gray_r")
        axes.set_title(f"{class_names[y_true[index]]} -> {class_names[y_pred[index]]}", fontsize=8, color="firebrick")
        axes.axis("off")
    if len(wrong) == 0:
        figure.add_subplot().text(0.5, 0.5, "no mistakes", ha="center", va="center")
    _save(figure, path)


def _signed_image_grid(images: np.ndarray, title: str, path: str | Path, columns: int = 8) -> None:
    """Small images side by side, red positive and blue negative, each on its own symmetric scale."""
    rows = int(np.ceil(len(images) / columns))
    figure = _figure(columns * 1.2, rows * 1.2 + 0.4)
    figure.suptitle(title)
    for i, image in enumerate(images):
        axes = figure.add_subplot(rows, columns, i + 1)
        extent = np.abs(image).max() or 1
        axes.imshow(image, cmap="RdBu_r", vmin=-extent, vmax=extent)
        axes.axis("off")
    _save(figure, path)


def plot_first_layer_weights(weight: ArrayLike, path: str | Path, image_shape: Tuple[int, ...] = (28, 28), limit: int = 64) -> None:
    """The first Dense layer's weights, one image per neuron: what each hidden unit looks for."""
    images = np.asarray(weight)[:limit].reshape(-1, *image_shape)
    _signed_image_grid(images, f"First layer weights ({len(images)} neurons; red positive, blue negative)", path)


def plot_conv_filters(weight: ArrayLike, path: str | Path, limit: int = 64) -> None:
    """A convolution's kernels, one small image per output channel (its first input channel)."""
    kernels = np.asarray(weight)[:limit, 0]
    _signed_image_grid(kernels, f"First convolution's {len(kernels)} filters (red positive, blue negative)", path)


def plot_feature_maps(model: Any, image: np.ndarray, path: str | Path, limit: int = 16) -> None:
    """One input image and what each convolution block makes of it (first `limit` channels per layer)."""
    stages, x = [("input", image[0])], image
    for layer in model.layers:
        x = layer.forward(x)
        if x.ndim == 4 and isinstance(layer, (MaxPool2D, AvgPool2D)):
            stages.append((f"after {type(layer).__name__} ({x.shape[1]} channels)", x[0, :limit]))
    columns = limit
    figure = _figure(columns * 0.9, len(stages) * 1.1 + 0.6)
    figure.suptitle("Feature maps of one test image")
    for row, (title, maps) in enumerate(stages):
        for col, feature_map in enumerate(maps):
            axes = figure.add_subplot(len(stages), columns, row * columns + col + 1)
            axes.imshow(feature_map, cmap="viridis")
            axes.axis("off")
            if col == 0:
                axes.set_title(title, fontsize=7, loc="left")
    _save(figure, path)


def plot_diagnostics(rows: Sequence[Dict[str, Any]], path: str | Path, good_update_ratio: float = 1e-3) -> None:
    """Four panels over the epochs, one line per layer: activation spread, dead/saturated fractions,
    gradient norms and update-to-weight ratios (rows as numnet.callbacks.Diagnostics records them)."""
    figure = _figure(12, 8)
    panels = [
        (["activation_std"], "Activation spread (std on the probe)", "linear"),
        (["dead_fraction", "saturated_fraction"], "Dead ReLUs, saturated sigmoid/tanh (fraction)", "linear"),
        (["gradient_norm"], "Gradient norm ‖∂L/∂W‖", "log"),
        (["update_ratio"], "Update / weight ‖ΔW‖/‖W‖ per step", "log"),
    ]
    # Flatten and Dropout (off in inference) repeat the layer before them
    layers = dict.fromkeys((row["layer"], row["name"]) for row in rows if row["kind"] not in ("Flatten", "Dropout"))
    for number, (columns, title, scale) in enumerate(panels, 1):
        axes = figure.add_subplot(2, 2, number)
        for layer, name in layers:
            for column in columns:
                points = [(row["epoch"], row[column]) for row in rows if row["layer"] == layer and row[column] is not None]
                points = [(epoch, value) for epoch, value in points if np.isfinite(value) and (scale == "linear" or value > 0)]
                if points:
                    epochs, values = zip(*points)
                    axes.plot(epochs, values, marker="o", markersize=3, label=f"{layer}: {name}")
        if number == 2:
            axes.axhline(0.5, color="firebrick", linestyle="--", linewidth=1, label="most units: a warning")
            axes.set_ylim(-0.02, 1.02)
        if number == 4:
            axes.axhline(good_update_ratio, color="seagreen", linestyle="--", linewidth=1, label=f"rule of thumb {good_update_ratio:g}")
        axes.set(xlabel="epoch", title=title, yscale=scale)
        # the default locator is a MaxNLocator, which takes integer=; the stubs type only the base Locator
        axes.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend(fontsize=7)
    _save(figure, path)

"""Sequential: a list of layers run forward in order and backward in reverse, and its model files.

The training loop is numnet.training; ``fit`` and ``evaluate`` are its functions, bound as methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, cast

import numpy as np

from . import initializers, training, validation
from .errors import ModelFormatError
from .layers.base import Layer, WeightedLayer
from .serialization import check_loaded, read_model_file, write_model_file
from .trace import Trace, trace as trace_passes

Shape = Optional[Tuple[Optional[int], ...]]  # a per-sample shape; None (or a None axis) where unknown until data arrives


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

    fit = training.fit
    evaluate = training.evaluate

    def __init__(self, layers: Iterable[Layer], input_shape: Optional[Iterable[int]] = None) -> None:
        if isinstance(layers, Layer) or not hasattr(layers, "__iter__"):
            raise TypeError(f"Sequential expects a list of layers. Received: {type(layers).__name__}")
        self.input_shape: Optional[Tuple[int, ...]] = (
            None if input_shape is None else validation.shape("input_shape", input_shape, owner="Sequential"))
        self.layers: List[Layer] = []
        #: JSON-able facts saved with the model (what it was trained on, class names, ...)
        self.metadata: Dict[str, Any] = {}
        #: the mode forward() uses when not told: set by train() and eval()
        self.training = False
        #: set by a callback to end fit after the current batch or epoch
        self.stop_training = False
        shape: Shape = self.input_shape
        for layer in layers:  # each layer's output shape feeds the next check: n layers, n shapes
            shape = self._append(layer, shape)

    def add(self, layer: Layer) -> None:
        """Append a layer, checking that it is one and that it fits the output of the layer before."""
        self._append(layer, ([self.input_shape] + self.output_shapes())[-1])

    def _append(self, layer: Layer, shape: Shape) -> Shape:
        """Append ``layer`` after layers whose output has per-sample shape ``shape``; return its output shape."""
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential: item {len(self.layers)} must be a numnet layer (Dense, ReLU, ...). "
                f"Received: {layer!r} of type {type(layer).__name__}"
            )
        init = initializers.for_activation(type(layer).__name__)
        if self.layers and isinstance(self.layers[-1], WeightedLayer) and init not in (None, self.layers[-1].init):
            self.layers[-1].adopt_activation(init)
        shape = _next_shape(len(self.layers), layer, shape)
        self.layers.append(layer)
        return shape

    def train(self, mode: bool = True) -> Sequential:
        """Training mode for forward() (Dropout drops, BatchNorm uses batch statistics), or inference mode when mode=False."""
        self.training = validation.boolean("mode", mode, owner="Sequential.train")
        return self

    def eval(self) -> Sequential:
        """Inference mode for forward() (the default): train(False)."""
        return self.train(False)

    def output_shapes(self) -> List[Shape]:
        """Per-sample output shape of each layer, None where it cannot be known before data arrives."""
        shapes: List[Shape] = []
        shape: Shape = self.input_shape
        for index, layer in enumerate(self.layers):
            shapes.append(shape := _next_shape(index, layer, shape))
        return shapes

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the parameters (float32 unless the layers were created otherwise)."""
        for layer in self.layers:
            for param in layer.params.values():
                return param.dtype
        return np.dtype(np.float32)

    def state_dict(self) -> Dict[str, np.ndarray]:
        """Every layer's tensors (parameters and buffers) by stable name, "<layer index>.<key>"."""
        return {f"{i}.{key}": value for i, layer in enumerate(self.layers) for key, value in layer.state_dict().items()}

    def load_state_dict(self, tensors: Mapping[str, np.ndarray]) -> None:
        """Copy ``tensors`` (named as state_dict names them) into the layers, in place. Every tensor is
        checked first (names, shapes, dtypes, finite values), so a refused set changes nothing."""
        own = self.state_dict()
        validation.matching_tensors(own, tensors)
        for index, layer in enumerate(self.layers):
            layer.check_tensors({key: np.asarray(tensors[f"{index}.{key}"]) for key in layer.state_dict()})
        for name, array in own.items():
            array[...] = tensors[name]

    def get_weights(self) -> Dict[str, np.ndarray]:
        """Copies of every parameter and buffer, as {"<layer>.<key>": array}."""
        return {name: value.copy() for name, value in self.state_dict().items()}

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Copy arrays from get_weights() back into the layers (in place)."""
        self.load_state_dict(weights)

    def forward(self, x: np.ndarray, training: Optional[bool] = None) -> np.ndarray:
        """Run the layers in order (each keeps what its backward needs); ``training`` defaults to train()/eval()'s mode."""
        training = self.training if training is None else training
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    __call__ = forward

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> Optional[np.ndarray]:
        """Run the layers' backward passes in reverse and return dL/dX (None when input_grad=False,
        which spares the first layer's dX: training never needs the gradient of the data)."""
        for index, layer in reversed(list(enumerate(self.layers))):
            if index == 0 and not input_grad and hasattr(layer, "backward_params"):
                layer.backward_params(grad)
                return None
            grad = cast(np.ndarray, layer.backward(grad))  # None only from a first layer whose input has no gradient (Embedding)
        return grad if input_grad else None

    def trace(self, x: Any, y: Any = None, *, loss: Any = None) -> Trace:
        """Every layer's input, output and gradients from one real forward (and backward) pass: numnet.trace.trace."""
        return trace_passes(self, x, y, loss=loss)

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """Outputs for x, in batches, in inference mode, keeping nothing for backward (see _infer). A
        CrossEntropy classifier outputs logits: numnet.functional.softmax(model.predict(x)) gives probabilities."""
        x = validation.as_batch(x, self.dtype, self.input_shape)
        batch_size = validation.positive_int("batch_size", batch_size)
        if len(x) == 0:
            raise ValueError("x is empty: nothing to predict")
        if len(x) <= batch_size:  # one batch: no list, no concatenation (single-sample latency)
            return self._infer(x)
        return np.concatenate([self._infer(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])

    def _infer(self, x: np.ndarray) -> np.ndarray:
        """forward(x, training=False), releasing each layer's cache once it ran: memory does not grow with depth."""
        for layer in self.layers:
            x = layer.forward(x, training=False)
            layer.release_cache()
        return x

    def save(self, path: str | Path, metadata: Optional[Mapping[str, Any]] = None) -> None:
        """Save to a safetensors model file (atomically); reload with numnet.load(path)."""
        write_model_file(path, self.layers, self.state_dict(), self.input_shape, self.metadata if metadata is None else metadata)

    def count_params(self) -> int:
        return sum(p.size for layer in self.layers for p in layer.params.values())

    def summary(self, print_fn: Callable[[str], Any] = print) -> None:
        """Print a table of the layers, their output shapes and parameter counts."""
        rows = [("#", "Layer", "Output shape", "Params")] + [
            (str(i), repr(layer), "?" if shape is None else f"(N, {', '.join(map(str, shape))})",
             f"{sum(p.size for p in layer.params.values()):,}")
            for i, (layer, shape) in enumerate(zip(self.layers, self.output_shapes()))
        ]
        widths = [max(len(row[c]) for row in rows) for c in range(4)]
        lines = [f"{i:>{widths[0]}}  {name:<{widths[1]}}  {shape:<{widths[2]}}  {count:>{widths[3]}}" for i, name, shape, count in rows]
        rule = "-" * (sum(widths) + 6)
        for line in (rule, lines[0], rule, *lines[1:], rule, f"Total params: {self.count_params():,}  ({self.dtype})"):
            print_fn(line)

    def __repr__(self) -> str:
        return "Sequential([" + ", ".join(map(repr, self.layers)) + "])"


def _next_shape(index: int, layer: Layer, shape: Shape) -> Shape:
    """The per-sample output shape of ``layer``, layer ``index``, given its input's (None: unknown until data arrives)."""
    shape = layer.input_shape if shape is None else shape
    try:
        return None if shape is None else tuple(layer.output_shape(shape))
    except ValueError as error:
        raise ValueError(f"Sequential: layer {index} does not fit: {error}") from None


def load(path: str | Path) -> Sequential:
    """Read a model file written by Sequential.save; raise ModelFormatError naming the file and the problem."""
    layers, input_shape, metadata, tensors = read_model_file(path)
    try:
        model = Sequential(layers, input_shape=input_shape)
        model.load_state_dict(tensors)
    except (TypeError, ValueError) as error:
        raise ModelFormatError(f"{path}: {error}") from None
    check_loaded(path, model.output_shapes(), metadata)
    model.metadata = metadata
    return model

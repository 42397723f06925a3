"""Looking inside a digit model: the 28×28 input it sees, every layer's output, the weights into a unit.

A picture goes through exactly what ``numnet predict`` does to an image file: numnet.images turns
it into an MNIST-style digit, numnet.runs.as_model_input shapes it for the model, and the class
probabilities are the softmax of the model's output. The per-layer outputs come from one traced
forward pass (numnet.trace), so they are the very numbers behind the prediction.
"""

import threading

import numpy as np

from ..functional import softmax
from ..images import decode_digit, prepare_digit
from ..layers import Conv2D, Dense, Flatten
from ..runs import DIGIT_CLASSES, as_model_input, check_model_fits

#: decimals kept in the JSON numbers: far below what a colour or a bar can show
DECIMALS = 4
#: the largest picture /api/predict decodes (a 12-megapixel photo of a digit passes)
MAX_PIXELS = 4096 * 4096


def view(shape):
    """How a per-sample output shape is drawn: "vector" (a row of cells), "maps" (C feature maps H×W) or "image"."""
    return {1: "vector", 2: "image", 3: "maps"}.get(len(shape), "vector")


def weight_sources(model):
    """For each layer, the index of the weighted layer (Dense, Conv2D) whose units it carries one to one,
    or None: a Dense or Conv2D is its own source; activations, dropout, normalization and pooling keep
    their input's units (or channels); Flatten mixes channels and pixels into new units."""
    sources, source = [], None
    for index, layer in enumerate(model.layers):
        if isinstance(layer, (Dense, Conv2D)):
            source = index
        elif isinstance(layer, Flatten):
            source = None
        sources.append(source)
    return sources


def _rounded(array):
    return np.round(np.asarray(array, dtype=np.float64), DECIMALS).tolist()


class DigitModel:
    """A loaded model ready to be looked inside: its description, predictions with traces, unit weights.

    Args:
        model: a Sequential taking 28×28 images and giving one score per class (checked).
        source: how to name it in messages and in the description (a path or a run name).
        run: the name of the run folder it comes from, if it does.
    """

    def __init__(self, model, source="model", run=None):
        check_model_fits(model, source)
        self.model = model
        self.source = str(source)
        self.run = run
        self.class_names = [str(name) for name in model.metadata.get("class_names") or DIGIT_CLASSES]
        self.sources = weight_sources(model)
        # layers keep caches for backward, so two traces must not interleave
        self._lock = threading.Lock()

    def describe(self):
        """The architecture as JSON: per layer its type, settings, output shape, how to draw it and its
        parameter count; the class names and what the file's metadata says about the training."""
        shapes = self.model.output_shapes()
        metadata = self.model.metadata
        layers = []
        for index, (layer, shape) in enumerate(zip(self.model.layers, shapes)):
            layers.append({
                "index": index,
                "kind": type(layer).__name__,
                "config": layer.get_config(),
                "output_shape": list(shape),
                "view": view(shape),
                "parameters": int(sum(p.size for p in layer.params.values())),
                "weights_of": self.sources[index],
            })
        return {
            "source": self.source,
            "run": self.run,
            "input_shape": list(self.model.input_shape or (28, 28)),
            "class_names": self.class_names,
            "dataset": metadata.get("dataset"),
            "test_accuracy": metadata.get("test_accuracy"),
            "layers": layers,
        }

    def predict(self, digit, trace=True):
        """Probabilities and (with ``trace``) every layer's output for one prepared (28, 28) digit."""
        x = as_model_input(self.model, np.asarray(digit, dtype=np.float32)[None])
        with self._lock:
            recorded = self.model.trace(x)
        probabilities = softmax(np.asarray(recorded.output, dtype=np.float64))[0]
        order = np.argsort(-probabilities)
        result = {
            "input": _rounded(digit),
            "classes": self.class_names,
            "probabilities": _rounded(probabilities),
            "prediction": self.class_names[order[0]],
            "top": [{"class": self.class_names[i], "probability": round(float(probabilities[i]), 6)} for i in order[:3]],
        }
        if trace:
            result["layers"] = [
                {"index": layer.index, "kind": layer.kind, "shape": list(layer.output.shape[1:]), "output": _rounded(layer.output[0])}
                for layer in recorded.layers
            ]
        return result

    def predict_image(self, data, trace=True):
        """``predict`` for the bytes of an image file (PNG, JPEG, ...), prepared as ``numnet predict`` does."""
        return self.predict(decode_digit(data, source="the uploaded image", max_pixels=MAX_PIXELS), trace)

    def predict_pixels(self, pixels, trace=True):
        """``predict`` for a 2-D grayscale array of any size with values in [0, 1], prepared as ``numnet predict`` does."""
        return self.predict(prepare_digit(pixels, source="pixels"), trace)

    def unit_weights(self, layer_index, unit):
        """The weights into one unit (or feature map) of layer ``layer_index``, from the Dense or Conv2D
        layer that computes it: a 28×28 picture for a first Dense layer that sees the pixels, a vector
        for a later Dense, one kh×kw tile per input channel for a Conv2D filter.

        Raises LookupError when the layer or unit does not exist or the unit has no weights of its own.
        """
        layers = self.model.layers
        if not 0 <= layer_index < len(layers):
            raise LookupError(f"no layer {layer_index}: the model has layers 0 to {len(layers) - 1}")
        source = self.sources[layer_index]
        if source is None:
            raise LookupError(
                f"layer {layer_index} ({type(layers[layer_index]).__name__}) has no weights of its own per unit: "
                "its units mix the outputs of the layer before"
            )
        weighted = layers[source]
        units = weighted.weight.shape[0]
        if not 0 <= unit < units:
            raise LookupError(f"no unit {unit} in layer {layer_index}: it has units 0 to {units - 1}")
        weights = weighted.weight[unit]
        if isinstance(weighted, Conv2D):
            picture = "tiles"
        elif weights.shape == (28 * 28,) and all(isinstance(layer, Flatten) for layer in layers[:source]):
            picture, weights = "image", weights.reshape(28, 28)
        else:
            picture = "vector"
        return {
            "layer": layer_index,
            "unit": unit,
            "weights_of": source,
            "kind": type(weighted).__name__,
            "picture": picture,
            "shape": list(weights.shape),
            "weights": _rounded(weights),
            "bias": round(float(weighted.bias[unit]), 6),
        }

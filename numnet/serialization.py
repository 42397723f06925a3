"""Model files: the architecture as JSON and the model's state_dict as tensors, in one tensor file.

Loading can never run code: layer types come from a closed list of numnet's own names, their
arguments go through the layers' own checks, each layer's tensor shapes are checked against the
file before the layer is built, and the tensor file's SHA-256 covers everything (numnet.tensorfile).

Header keys: "format" = "numnet", "format_version", "architecture" (JSON list of
{"type", "config"}), "input_shape" (JSON), "metadata" (JSON, the caller's own), "sha256".
Tensors: the model's state_dict, "<layer index>.<key>".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .errors import ModelFormatError
from .layers import (
    AvgPool2D, BatchNorm1d, BatchNorm2d, Conv2D, Dense, Dropout, Flatten, LeakyReLU, MaxPool2D, ReLU, Sigmoid, Softmax, Tanh,
)
from .layers.base import Layer
from .tensorfile import read_tensor_file, write_tensor_file

FORMAT = "numnet"
LAYER_TYPES = {
    cls.__name__: cls
    for cls in (Dense, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax, Flatten, Dropout, BatchNorm1d,
                Conv2D, MaxPool2D, AvgPool2D, BatchNorm2d)
}
#: layers whose weights a file replaces: building them with zeros skips drawing random numbers
_ZERO_INIT = (Dense, Conv2D)


def architecture(layers: Sequence[Layer]) -> List[Dict[str, Any]]:
    """The JSON-able description that rebuilds ``layers``: [{"type": name, "config": {...}}]."""
    described = []
    for index, layer in enumerate(layers):
        name = type(layer).__name__
        if LAYER_TYPES.get(name) is not type(layer):
            raise ModelFormatError(
                f"cannot save layer {index}, {layer!r}: model files hold only numnet's own layers "
                f"({', '.join(LAYER_TYPES)}); an Activation built from custom functions cannot be saved"
            )
        described.append({"type": name, "config": layer.get_config()})
    return described


def write_model_file(
    path: str | Path, layers: Sequence[Layer], state_dict: Mapping[str, np.ndarray],
    input_shape: Optional[Tuple[int, ...]] = None, metadata: Optional[Mapping[str, Any]] = None,
) -> None:
    """Write a model (its layers' architecture and its state_dict) to ``path`` atomically."""
    try:
        extra = json.dumps(dict(metadata or {}), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"model metadata must be JSON-serializable: {error}") from None
    header = {
        "format": FORMAT,
        "architecture": json.dumps(architecture(layers)),
        "input_shape": json.dumps(input_shape),
        "metadata": extra,
    }
    write_tensor_file(path, state_dict, header)


def read_model_file(path: str | Path) -> Tuple[List[Layer], Optional[list], dict, Dict[str, np.ndarray]]:
    """(layers, input_shape, metadata, tensors) from a model file; the tensors still to be loaded into
    the layers (Sequential.load_state_dict). Raises ModelFormatError naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such model file")

    def fail(problem: str) -> ModelFormatError:
        return ModelFormatError(f"{path}: {problem}")

    tensors, header = read_tensor_file(path, FORMAT)
    try:
        described = json.loads(header["architecture"])
        input_shape = json.loads(header.get("input_shape", "null"))
        metadata = json.loads(header.get("metadata", "{}"))
    except (KeyError, json.JSONDecodeError) as error:
        raise fail(f"the architecture metadata is not valid JSON ({error})") from None
    if not isinstance(described, list) or not all(
        isinstance(item, dict) and isinstance(item.get("config"), dict) for item in described
    ):
        raise fail("the architecture must be a list of {'type': ..., 'config': {...}} entries")
    layers = [_build_layer(index, item, tensors, fail) for index, item in enumerate(described)]
    return layers, input_shape, metadata if isinstance(metadata, dict) else {}, tensors


def _build_layer(index: int, item: dict, tensors: Mapping[str, np.ndarray], fail: Any) -> Layer:
    cls = LAYER_TYPES.get(item.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise fail(f"layer {index} has unknown type {item.get('type')!r}; known types: {', '.join(LAYER_TYPES)}")
    config = dict(item["config"])
    claimed = cls.tensor_shapes(config)
    if claimed:
        # check the sizes against the tensors before building: a hostile file may claim huge ones
        for key, shape in claimed.items():
            tensor = tensors.get(f"{index}.{key}")
            if tensor is None or tensor.shape != shape:
                found = None if tensor is None else tensor.shape
                raise fail(f"layer {index} ({item['type']}) claims a {key} of shape {shape} but the file holds {found}")
        config["dtype"] = tensors[f"{index}.{next(iter(claimed))}"].dtype
        if issubclass(cls, _ZERO_INIT):
            config["init"] = "zeros"
    try:
        return cls(**config)
    except (TypeError, ValueError) as error:
        raise fail(f"layer {index} ({item['type']}) has invalid arguments: {error}") from None

"""Model files: weights as safetensors, the architecture as JSON in its metadata. No pickle anywhere.

Loading can never run code: layer types come from a closed list of numnet's own names, their
arguments go through the layers' own checks, and a SHA-256 of every tensor catches a flipped byte
(safetensors itself does not checksum the data). Saving is atomic.

Metadata keys: "format" = "numnet", "format_version", "architecture" (JSON list of
{"type", "config"}), "sha256" (of the tensors), "metadata" (JSON, the caller's own).
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from ._files import atomic_write
from .errors import ModelFormatError
from .layers import (
    AvgPool2D, BatchNorm1d, BatchNorm2d, Conv2D, Dense, Dropout, Flatten, LeakyReLU, MaxPool2D, ReLU, Sigmoid, Softmax, Tanh,
)

FORMAT_VERSION = 1
LAYER_TYPES = {
    cls.__name__: cls
    for cls in (Dense, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax, Flatten, Dropout, BatchNorm1d,
                Conv2D, MaxPool2D, AvgPool2D, BatchNorm2d)
}


def _claimed_weight_shape(cls, config):
    """The weight shape a layer's config asks for (None for layers without weights)."""
    if cls is Dense:
        return (config.get("out_features"), config.get("in_features"))
    if cls is Conv2D:
        kernel = config.get("kernel_size")
        kernel = list(kernel) if isinstance(kernel, list) else [kernel, kernel]
        return (config.get("out_channels"), config.get("in_channels"), *kernel)
    if cls in (BatchNorm1d, BatchNorm2d):
        return (config.get("num_features"),)
    return None


def _tensor_digest(tensors):
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def write_tensor_file(path, tensors, header):
    """Atomically write tensors and a str->str header (plus their SHA-256) as a safetensors file."""
    from safetensors.numpy import save

    tensors = {name: np.ascontiguousarray(value) for name, value in tensors.items()}
    payload = save(tensors, metadata={**header, "sha256": _tensor_digest(tensors)})
    with atomic_write(path) as file:
        file.write(payload)


def read_tensor_file(path, file_format, error=ModelFormatError):
    """Read a file written by write_tensor_file, checking its format name, version and checksum."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such file")
    try:
        with safe_open(str(path), framework="numpy") as file:
            header = file.metadata() or {}
            tensors = {name: file.get_tensor(name) for name in file.keys()}
    except Exception as failure:  # safetensors raises its own error types for every kind of damage
        raise error(f"{path}: not a readable safetensors file ({type(failure).__name__}: {failure})") from None
    if header.get("format") != file_format:
        raise error(f"{path}: not a {file_format} file (its metadata has format={header.get('format')!r})")
    version = header.get("format_version", "?")
    if version != str(FORMAT_VERSION):
        raise error(f"{path}: format version {version!r}; this numnet reads version {FORMAT_VERSION}")
    if _tensor_digest(tensors) != header.get("sha256"):
        raise error(f"{path}: the tensors do not match their SHA-256 checksum: the file is corrupted or was modified")
    return tensors, header


def model_tensors(model):
    """The architecture (JSON-able list) and every parameter and buffer, named "<layer>.<key>"."""
    architecture, tensors = [], {}
    for index, layer in enumerate(model.layers):
        name = type(layer).__name__
        if LAYER_TYPES.get(name) is not type(layer):
            raise ModelFormatError(
                f"cannot save layer {index}, {layer!r}: model files hold only numnet's own layers "
                f"({', '.join(LAYER_TYPES)}); an Activation built from custom functions cannot be saved"
            )
        architecture.append({"type": name, "config": layer.get_config()})
        for key, value in {**layer.params, **layer.buffers}.items():
            tensors[f"{index}.{key}"] = value
    return architecture, tensors


def save_model(model, path, metadata=None):
    """Write ``model`` (a Sequential) to ``path`` atomically; ``metadata`` is any JSON-able dict kept with it."""
    architecture, tensors = model_tensors(model)
    try:
        extra = json.dumps(metadata if metadata is not None else getattr(model, "metadata", {}))
    except TypeError as error:
        raise TypeError(f"model metadata must be JSON-serializable: {error}") from None
    header = {
        "format": "numnet",
        "format_version": str(FORMAT_VERSION),
        "architecture": json.dumps(architecture),
        "input_shape": json.dumps(model.input_shape),
        "metadata": extra,
    }
    write_tensor_file(path, tensors, header)


def load_model(path):
    """Read a model file written by ``save_model``; raise ModelFormatError naming the file and the problem."""
    from .model import Sequential

    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such model file")

    def fail(problem):
        return ModelFormatError(f"{path}: {problem}")

    tensors, header = read_tensor_file(path, "numnet")
    try:
        architecture = json.loads(header["architecture"])
        input_shape = json.loads(header.get("input_shape", "null"))
        metadata = json.loads(header.get("metadata", "{}"))
    except (KeyError, json.JSONDecodeError) as error:
        raise fail(f"the architecture metadata is not valid JSON ({error})") from None
    if not isinstance(architecture, list) or not all(
        isinstance(item, dict) and isinstance(item.get("config"), dict) for item in architecture
    ):
        raise fail("the architecture must be a list of {'type': ..., 'config': {...}} entries")

    layers = []
    for index, item in enumerate(architecture):
        cls = LAYER_TYPES.get(item.get("type"))
        if cls is None:
            raise fail(f"layer {index} has unknown type {item.get('type')!r}; known types: {', '.join(LAYER_TYPES)}")
        config = dict(item["config"])
        claimed = _claimed_weight_shape(cls, config)
        if claimed is not None:
            # check the sizes against the tensors before building: a hostile file may claim huge ones
            weight = tensors.get(f"{index}.weight")
            if weight is None or weight.shape != claimed:
                found = None if weight is None else weight.shape
                raise fail(f"layer {index} ({item['type']}) claims a weight of shape {claimed} but the file holds {found}")
            config["dtype"] = weight.dtype
            if cls in (Dense, Conv2D):
                config["init"] = "zeros"  # the file's weights replace these
        try:
            layers.append(cls(**config))
        except (TypeError, ValueError) as error:
            raise fail(f"layer {index} ({item['type']}) has invalid arguments: {error}") from None
    try:
        assign_tensors(layers, tensors)
    except ValueError as error:
        raise fail(str(error)) from None
    try:
        model = Sequential(layers, input_shape=input_shape)
    except (TypeError, ValueError) as error:
        raise fail(f"the layers do not fit together: {error}") from None
    model.metadata = metadata if isinstance(metadata, dict) else {}
    return model


def checked_assignments(layers, tensors):
    """[(array, tensor)] pairing each of the layers' parameters and buffers with the tensor named
    "<layer>.<key>", after checking every tensor (ValueError naming the first that does not fit)."""
    expected = {f"{i}.{key}" for i, layer in enumerate(layers) for key in {**layer.params, **layer.buffers}}
    if expected != set(tensors):
        missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
        raise ValueError(f"the weights do not match the architecture (missing: {missing}, unexpected: {unexpected})")
    pairs = []
    for index, layer in enumerate(layers):
        for key, array in {**layer.params, **layer.buffers}.items():
            tensor = tensors[f"{index}.{key}"]
            if tensor.shape != array.shape or tensor.dtype != array.dtype:
                raise ValueError(f"tensor {index}.{key} has shape {tensor.shape} {tensor.dtype}, expected {array.shape} {array.dtype}")
            if not np.isfinite(tensor).all():
                raise ValueError(f"tensor {index}.{key} contains NaN or infinite values")
            pairs.append((array, tensor))
    return pairs


def assign_tensors(layers, tensors):
    """Copy tensors named "<layer>.<key>" into the layers' parameters and buffers; every one is checked
    before any is copied, so a refused set leaves the layers as they were."""
    for array, tensor in checked_assignments(layers, tensors):
        array[...] = tensor

"""Model files: the architecture as JSON and the model's state_dict as tensors, in one tensor file.

Loading can never run code, and a file that is malformed, hostile or inconsistent is refused with one
ModelFormatError naming the file and the problem, before anything is built from it: the tensor file's
SHA-256 covers everything (numnet.tensorfile); the JSON is parsed with bounded size and depth and finite
numbers only (numnet.safe_json); the architecture must follow the schema below; each layer's arguments
go through its own constructor's checks; each layer's tensor shapes (its ``tensor_shapes(config)``) are
checked against the file before the layer is built; and the tensors' values through the layers'
``check_tensors`` before they are loaded.

Header keys: "format" = "numnet", "format_version", "architecture" (JSON list of
{"type", "config"}), "input_shape" (JSON), "metadata" (JSON, the caller's own), "sha256".
Tensors: the model's state_dict, "<layer index>.<key>".

The architecture schema: a list of at most MAX_LAYERS entries {"type": <a name in LAYER_TYPES>,
"config": {<argument>: <value>}}, the arguments those of the layer's constructor but "rng", "dtype" and
"init" (the loader sets them), each value a finite number, a string, true/false, null or a list of
those, integers at most MAX_ELEMENTS. A Residual's config is {"layers": [<entries>]}, its tensors named
"<block index>.<inner index>.<key>"; blocks nest at most MAX_NESTING deep. No tensor, input or layer
output of one sample may have more than MAX_ELEMENTS entries.
"""

from __future__ import annotations

import inspect
import json
import itertools
import math
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Type

import numpy as np

from . import safe_json
from .errors import ModelFormatError
from .layers import (
    GRU, LSTM, RNN, AvgPool2D, BatchNorm1d, BatchNorm2d, Conv2D, Dense, Dropout, Embedding, Flatten, LayerNorm, LeakyReLU,
    MaxPool2D, MultiHeadSelfAttention, PositionalEmbedding, ReLU, Residual, Sigmoid, Softmax, Tanh,
)
from .layers.base import Layer
from .tensorfile import read_tensor_file, write_tensor_file

FORMAT = "numnet"
LAYER_TYPES = {
    cls.__name__: cls
    for cls in (Dense, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax, Flatten, Dropout, BatchNorm1d,
                Conv2D, MaxPool2D, AvgPool2D, BatchNorm2d, Embedding, PositionalEmbedding, RNN, LSTM, GRU,
                LayerNorm, MultiHeadSelfAttention, Residual)
}
#: layers whose weights a file replaces: building them with zeros skips drawing random numbers
_ZERO_INIT = (Dense, Conv2D)

#: the most layers an architecture may hold, those inside Residual blocks included
MAX_LAYERS = 100_000
#: the deepest Residual blocks may nest inside one another
MAX_NESTING = 8
#: the most entries of any one tensor, of one sample's input and of any layer's output for one sample
#: (2²⁸: 1 GiB of float32); also the largest integer an architecture may hold
MAX_ELEMENTS = 2**28
#: the most axes of an input shape
MAX_RANK = 32
#: constructor arguments a file never gives: the loader sets the dtype (from the tensors) and the initializer
_SET_BY_LOADER = ("rng", "dtype", "init")
#: each Residual block adds three levels to the architecture JSON (its entry, its config, its list of
#: layers); the rest leaves room for the innermost entries and for a block or two too many to be named
_ARCHITECTURE_DEPTH = 3 * MAX_NESTING + 8
#: the most digits of an integer in the metadata: a 128-bit one, such as a random generator's state or seed, fits
METADATA_DIGITS = 40
#: the longest message a refusal quotes from a file
_MAX_QUOTE = 80


def _arguments(cls: Type[Layer]) -> frozenset:
    parameters = inspect.signature(cls.__init__).parameters.values()
    return frozenset(p.name for p in parameters if p.name != "self" and p.name not in _SET_BY_LOADER
                     and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


#: the arguments a file may give each layer type
ARGUMENTS = {name: _arguments(cls) for name, cls in LAYER_TYPES.items()}


def architecture(layers: Sequence[Layer]) -> List[Dict[str, Any]]:
    """The JSON-able description that rebuilds ``layers``: [{"type": name, "config": {...}}]."""
    for index, layer in enumerate(layers):
        for where, inner in _with_inner_layers(str(index), layer):
            name = type(inner).__name__
            if LAYER_TYPES.get(name) is not type(inner):
                raise ModelFormatError(
                    f"cannot save layer {where}, {inner!r}: model files hold only numnet's own layers "
                    f"({', '.join(LAYER_TYPES)}); an Activation built from custom functions cannot be saved"
                )
    return [{"type": type(layer).__name__, "config": layer.get_config()} for layer in layers]


def _with_inner_layers(where: str, layer: Layer) -> Iterator[Tuple[str, Layer]]:
    """(position, layer) for ``layer`` and, in a Residual block, for every layer inside it."""
    yield where, layer
    if isinstance(layer, Residual):
        for index, inner in enumerate(layer.layers):
            yield from _with_inner_layers(f"{where}.{index}", inner)


def write_model_file(
    path: str | Path, layers: Sequence[Layer], state_dict: Mapping[str, np.ndarray],
    input_shape: Optional[Tuple[int, ...]] = None, metadata: Optional[Mapping[str, Any]] = None,
) -> None:
    """Write a model (its layers' architecture and its state_dict) to ``path`` atomically."""
    try:
        extra = json.dumps(dict(metadata or {}), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"model metadata must be JSON-serializable: {error}") from None
    try:  # a file is written only if it can be read back
        safe_json.loads(extra, max_digits=METADATA_DIGITS)
    except ValueError as error:
        raise ValueError(f"model metadata cannot be saved: {error}") from None
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
    if not path.exists():
        raise ModelFormatError(f"{path}: no such model file")
    if not path.is_file():
        raise ModelFormatError(f"{path}: not a model file (a folder, device or pipe, not a regular file)")
    fail = _failure(path)
    tensors, header = read_tensor_file(path, FORMAT)
    if "architecture" not in header:
        raise fail("the file's metadata has no architecture")
    described = _parse_json(header["architecture"], "the architecture", fail, _ARCHITECTURE_DEPTH)
    input_shape = _checked_input_shape(_parse_json(header.get("input_shape", "null"), "input_shape", fail), fail)
    metadata = _parse_json(header.get("metadata", "{}"), "the metadata", fail, max_digits=METADATA_DIGITS)
    if not isinstance(metadata, dict):
        raise fail(f"the metadata must be a JSON object, got {_kind(metadata)}")
    if not isinstance(described, list):
        raise fail(f"the architecture must be a list of {{'type': ..., 'config': {{...}}}} entries, got {_kind(described)}")
    layers = _build_layers(described, tensors, "", 0, fail, itertools.count(1))
    return layers, input_shape, metadata, tensors


def check_loaded(path: str | Path, output_shapes: Sequence[Optional[Tuple[Optional[int], ...]]], metadata: Mapping[str, Any]) -> None:
    """What can be checked only once the layers are put together: that no layer's output for one sample
    has more than MAX_ELEMENTS entries, and that ``class_names`` in the metadata, which numnet reads
    itself, is a list of strings, one per output of the last layer when that number is known."""
    fail = _failure(Path(path))
    for index, shape in enumerate(output_shapes):
        if shape is not None and _entries(shape) > MAX_ELEMENTS:
            raise fail(f"layer {index} outputs shape {shape} for each sample: more than the {MAX_ELEMENTS:,} entries a model file may describe")
    if "class_names" not in metadata:
        return
    names = metadata["class_names"]
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise fail(f"class_names in the metadata must be a non-empty list of strings, got {_quote(names)}")
    last = output_shapes[-1] if output_shapes else None
    if last and last[-1] is not None and last[-1] != len(names):
        raise fail(f"class_names in the metadata has length {len(names)} but the model gives {last[-1]} outputs per sample")


# -- reading, step by step -----------------------------------------------------------------------

def _failure(path: Path) -> Callable[[str], ModelFormatError]:
    def fail(problem: str) -> ModelFormatError:
        return ModelFormatError(f"{path}: {problem}")
    return fail


def _quote(value: Any) -> str:
    """repr(value), cut short: a refusal quotes a hostile file, not all of it."""
    text = repr(value)
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 3] + "..."


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {_quote(value)}"


def _entries(shape: Sequence[Optional[int]]) -> int:
    """The number of entries of a shape, its unknown (None) lengths left out."""
    return math.prod(length for length in shape if length is not None)


def _parse_json(text: str, what: str, fail: Callable[[str], ModelFormatError], max_depth: int = safe_json.MAX_DEPTH,
                max_digits: int = safe_json.MAX_DIGITS) -> Any:
    try:
        return safe_json.loads(text, max_depth=max_depth, max_digits=max_digits)
    except ValueError as error:
        raise fail(f"{what} is not valid: {error}") from None


def _checked_input_shape(shape: Any, fail: Callable[[str], ModelFormatError]) -> Optional[list]:
    if shape is None:
        return None
    if (not isinstance(shape, list) or not 1 <= len(shape) <= MAX_RANK
            or not all(type(length) is int and length > 0 for length in shape) or _entries(shape) > MAX_ELEMENTS):
        raise fail(f"input_shape must be null or a list of 1 to {MAX_RANK} positive integers with at most "
                   f"{MAX_ELEMENTS:,} entries in all, got {_quote(shape)}")
    return shape


def _build_layers(described: list, tensors: Mapping[str, np.ndarray], prefix: str, nesting: int,
                  fail: Callable[[str], ModelFormatError], count: Iterator[int]) -> List[Layer]:
    return [_build_layer(f"{prefix}{index}", item, tensors, nesting, fail, count) for index, item in enumerate(described)]


def _build_layer(where: str, item: Any, tensors: Mapping[str, np.ndarray], nesting: int,
                 fail: Callable[[str], ModelFormatError], count: Iterator[int]) -> Layer:
    if next(count) > MAX_LAYERS:
        raise fail(f"the architecture has more than {MAX_LAYERS:,} layers")
    if not isinstance(item, dict) or set(item) != {"type", "config"}:
        raise fail(f"layer {where} must be {{'type': ..., 'config': {{...}}}}, got {_kind(item)}")
    name, config = item["type"], item["config"]
    if not isinstance(name, str):
        raise fail(f"layer {where} has a type that is not a string: {_kind(name)}")
    cls = LAYER_TYPES.get(name)
    if cls is None:
        raise fail(f"layer {where} has unknown type {_quote(name)}; known types: {', '.join(LAYER_TYPES)}")
    if not isinstance(config, dict):
        raise fail(f"layer {where} ({name}) has a config that is not an object: {_kind(config)}")
    unknown = sorted(set(config) - ARGUMENTS[name])
    if unknown:
        raise fail(f"layer {where} ({name}) has unknown arguments {_quote(unknown)}; {name} takes {sorted(ARGUMENTS[name])}")
    config = dict(config)
    if cls is Residual:
        if nesting >= MAX_NESTING:
            raise fail(f"layer {where} (Residual) nests Residual blocks more than {MAX_NESTING} deep")
        inner = config.get("layers")
        if not isinstance(inner, list):
            raise fail(f"layer {where} (Residual) must hold 'layers', a list of {{'type': ..., 'config': {{...}}}} entries, got {_kind(inner)}")
        config["layers"] = _build_layers(inner, tensors, f"{where}.", nesting + 1, fail, count)
    else:
        for key, value in config.items():
            _check_value(where, name, key, value, fail)
        _take_dtype_from_tensors(where, name, cls, config, tensors, fail)
    try:
        return cls(**config)
    except (TypeError, ValueError) as error:
        raise fail(f"layer {where} ({name}) has invalid arguments: {error}") from None


def _check_value(where: str, name: str, key: str, value: Any, fail: Callable[[str], ModelFormatError]) -> None:
    """A layer argument in a file: a number, a string, true/false, null or a list of those; integers, strings
    and lists bounded (a layer's arguments are sizes, rates, flags and short names)."""
    if isinstance(value, list) and len(value) > MAX_RANK:
        raise fail(f"layer {where} ({name}): {key} is a list of {len(value):,} values, more than the {MAX_RANK} a layer argument may hold")
    values = value if isinstance(value, list) else [value]
    for entry in values:
        if isinstance(entry, str) and len(entry) > _MAX_QUOTE:
            raise fail(f"layer {where} ({name}): {key} is a string of {len(entry):,} characters, more than the {_MAX_QUOTE} a layer argument may hold")
        if not (entry is None or isinstance(entry, (bool, int, float, str))):
            raise fail(f"layer {where} ({name}): {key} must be a number, a string, true/false, null or a list of those, got {_kind(value)}")
        if type(entry) is int and abs(entry) > MAX_ELEMENTS:
            raise fail(f"layer {where} ({name}): {key}={_quote(value)} is larger than the {MAX_ELEMENTS:,} a model file may hold")


def _take_dtype_from_tensors(where: str, name: str, cls: Type[Layer], config: Dict[str, Any], tensors: Mapping[str, np.ndarray],
                             fail: Callable[[str], ModelFormatError]) -> None:
    """Check the shapes of the tensors the config claims against the file, before the layer is built (a
    hostile file may claim huge ones), and set the layer's dtype to theirs."""
    try:
        claimed = cls.tensor_shapes(config)
    except (TypeError, ValueError) as error:
        raise fail(f"layer {where} ({name}) has invalid arguments: {error}") from None
    if not claimed:
        return
    dtypes = set()
    for key, shape in claimed.items():
        if _entries(shape) > MAX_ELEMENTS:
            raise fail(f"layer {where} ({name}) claims a {key} of shape {shape}: more than the {MAX_ELEMENTS:,} entries a model file may hold")
        tensor = tensors.get(f"{where}.{key}")
        if tensor is None or tensor.shape != shape:
            found = None if tensor is None else tensor.shape
            raise fail(f"layer {where} ({name}) claims a {key} of shape {shape} but the file holds {found}")
        dtypes.add(tensor.dtype)
    if len(dtypes) > 1:
        raise fail(f"layer {where} ({name}) holds tensors of different dtypes: {', '.join(sorted(map(str, dtypes)))}")
    config["dtype"] = dtypes.pop()
    if issubclass(cls, _ZERO_INIT):
        config["init"] = "zeros"

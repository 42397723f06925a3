"""ONNX out and in: write a Sequential as an ONNX graph, and read a chain-shaped ONNX graph back as one.

``export(model, path, opset=17)`` writes one ONNX operator per numnet layer (the table below) with a
dynamic batch axis, built with the ``onnx`` package's helpers and checked with its full checker.
``load(path)`` does the reverse for graphs that are a simple chain of those operators, including the
patterns PyTorch's exporter emits (Gemm with either weight layout, MatMul + Add, Reshape or Flatten before
a dense layer, Dropout and Identity), and returns a Sequential that trains and saves like any other.

    numnet layer            ONNX operator
    Dense                   Gemm (transB=1)                  (load also: Gemm transB=0, alpha, beta; MatMul [+ Add])
    Sigmoid, Tanh, ReLU     Sigmoid, Tanh, Relu
    LeakyReLU               LeakyRelu (alpha = negative_slope)
    Softmax                 Softmax (axis=-1)
    Flatten                 Flatten (axis=1)                  (load also: Reshape to (N, -1))
    Dropout                 Dropout with its ratio: an identity at inference   (load also: Identity -> no layer)
    Conv2D                  Conv (pads, strides)
    MaxPool2D, AvgPool2D    MaxPool, AveragePool              (load also: GlobalMaxPool, GlobalAveragePool)
    BatchNorm1d, BatchNorm2d  BatchNormalization, inference form (running statistics; momentum = 1 − numnet's)

The onnx package is an optional dependency (the ``onnx`` extra), imported when these functions run.
"""

from __future__ import annotations

import decimal
import math
import numbers
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Union

import numpy as np

from . import __version__
from ._files import atomic_write
from .errors import ModelFormatError
from .layers import (
    AvgPool2D, BatchNorm1d, BatchNorm2d, Conv2D, Dense, Dropout, Flatten, LeakyReLU, MaxPool2D, ReLU, Sigmoid, Softmax, Tanh,
)
from .model import Sequential

if TYPE_CHECKING:  # onnx is imported when these functions run
    import onnx

#: the opset export writes unless told otherwise; onnxruntime 1.32 runs opsets 13 to 28
DEFAULT_OPSET = 17
#: the oldest opset export writes: Softmax over the last axis only exists from opset 13 on
MIN_OPSET = 13
#: what the missing-package message tells to install (the pin of the "onnx" extra)
ONNX_REQUIREMENT = "onnx==1.23.2"


def _import_onnx() -> Any:
    """The onnx package, or an ImportError that says which pip command installs it."""
    try:
        import onnx
        import onnx.numpy_helper
    except ImportError:
        raise ModuleNotFoundError(
            f"ONNX export and import need the onnx package, which is not installed. "
            f"Install it with: pip install {ONNX_REQUIREMENT}  (numnet's \"onnx\" extra adds onnxruntime: pip install \".[onnx]\" in its source folder)"
        ) from None
    return onnx


# -- export -------------------------------------------------------------------------------------------


def export(model: Sequential, path: str | Path, *, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
    """Write ``model`` to ``path`` as an ONNX model (atomically) and return the ModelProto.

    One ONNX node per layer (see the module's table), the parameters as initializers named as in
    numnet's model files ("0.weight"), the input "input" of shape (N, *input_shape) with a dynamic
    batch axis N, the output "output". Passes onnx.checker.check_model(full_check=True).

    Args:
        model: a Sequential of numnet's own layers, all parameters of one float dtype.
        path: the .onnx file to write.
        opset: the ONNX opset to declare, from 13 to the newest the installed onnx knows; default 17.

    Raises ValueError when the model's input shape is unknown (set ``input_shape=``; a first Dense or
    Conv2D layer supplies it) or a layer has no ONNX form (a custom Activation).

    Example:
        >>> numnet.onnx.export(numnet.runs.build_cnn(), "cnn.onnx")
    """
    onnx = _import_onnx()
    helper = onnx.helper
    if not isinstance(model, Sequential):
        raise TypeError(f"export expects a numnet Sequential. Received: {type(model).__name__}")
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, numbers.Integral) or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be an integer in the range [{MIN_OPSET}, {newest}]. Received: opset={opset!r}")
    if not model.layers:
        raise ValueError("cannot export an empty model: it has no layers")
    input_shape = _export_input_shape(model)
    dtype = _export_dtype(model)
    element_type = helper.np_dtype_to_tensor_dtype(dtype)

    nodes, initializers, x = [], [], "input"
    for index, layer in enumerate(model.layers):
        to_onnx = EXPORTERS.get(type(layer))
        if to_onnx is None:
            raise ValueError(
                f"cannot export layer {index}, {layer!r}: ONNX export knows numnet's own layers "
                f"({', '.join(cls.__name__ for cls in EXPORTERS)}); an Activation built from custom functions has no ONNX operator"
            )
        y = "output" if index == len(model.layers) - 1 else f"{index}.{type(layer).__name__}.output"
        op_type, inputs, attributes = to_onnx(layer, index, dtype)
        for name, value in inputs.items():
            initializers.append(onnx.numpy_helper.from_array(np.array(value, dtype=dtype, order="C"), name))
        nodes.append(helper.make_node(op_type, [x, *inputs], [y], name=f"{index}.{type(layer).__name__}", **attributes))
        x = y

    graph = helper.make_graph(
        nodes, "numnet",
        [helper.make_tensor_value_info("input", element_type, ["N", *input_shape])],
        [helper.make_tensor_value_info("output", element_type, None)],
        initializers,
    )
    opset_ids = [helper.make_opsetid("", int(opset))]
    proto = helper.make_model(graph, opset_imports=opset_ids, ir_version=helper.find_min_ir_version_for(opset_ids),
                              producer_name="numnet", producer_version=__version__)
    # the output's shape, as ONNX's own shape inference derives it (N stays symbolic)
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    proto.graph.output[0].CopyFrom(inferred.graph.output[0])
    onnx.checker.check_model(proto, full_check=True)
    with atomic_write(path) as file:
        file.write(proto.SerializeToString())
    return proto


def _export_input_shape(model: Sequential) -> List[Union[int, str]]:
    """The per-sample input shape: the model's own, else the first layer's; Conv2D leaves H and W symbolic."""
    if model.input_shape is not None:
        return list(model.input_shape)
    first = model.layers[0]
    if first.input_shape is not None:
        return list(first.input_shape)
    if isinstance(first, Conv2D):
        return [first.in_channels, "H", "W"]
    raise ValueError(
        f"the model's input shape is unknown (its first layer, {first!r}, accepts any shape): "
        "build it with Sequential(layers, input_shape=(...)), e.g. input_shape=(28, 28), or set model.input_shape"
    )


def _export_dtype(model: Sequential) -> np.dtype:
    dtypes = {array.dtype for layer in model.layers for array in {**layer.params, **layer.buffers}.values()}
    if len(dtypes) > 1:
        raise ValueError(f"the model's parameters must share one dtype to export; found {sorted(map(str, dtypes))}")
    return dtypes.pop() if dtypes else np.dtype(np.float32)


def _dense(layer, index, dtype):
    return "Gemm", {f"{index}.weight": layer.weight, f"{index}.bias": layer.bias}, {"transB": 1}


def _conv(layer, index, dtype):
    (ph, pw) = layer.padding
    attributes = {"kernel_shape": list(layer.kernel_size), "strides": list(layer.stride), "pads": [ph, pw, ph, pw],
                  "dilations": [1, 1], "group": 1}
    return "Conv", {f"{index}.weight": layer.weight, f"{index}.bias": layer.bias}, attributes


def _pool(op_type):
    def to_onnx(layer, index, dtype):
        return op_type, {}, {"kernel_shape": list(layer.kernel_size), "strides": list(layer.stride), "pads": [0, 0, 0, 0]}

    return to_onnx


def _batch_norm(layer, index, dtype):
    inputs = {f"{index}.{key}": value for key, value in (
        ("weight", layer.params["weight"]), ("bias", layer.params["bias"]),
        ("running_mean", layer.buffers["running_mean"]), ("running_var", layer.buffers["running_var"]),
    )}
    # ONNX's momentum weighs the old running value, numnet's the newest batch
    return "BatchNormalization", inputs, {"epsilon": layer.eps, "momentum": 1 - layer.momentum}


def _dropout(layer, index, dtype):
    # an ONNX Dropout without training_mode is an identity; its ratio lets load() rebuild Dropout(p)
    return "Dropout", {f"{index}.ratio": np.array(layer.p, dtype=dtype)}, {}


def _no_parameters(op_type, **attributes):
    return lambda layer, index, dtype: (op_type, {}, dict(attributes))


EXPORTERS = {
    Dense: _dense,
    Sigmoid: _no_parameters("Sigmoid"),
    Tanh: _no_parameters("Tanh"),
    ReLU: _no_parameters("Relu"),
    LeakyReLU: lambda layer, index, dtype: ("LeakyRelu", {}, {"alpha": layer.negative_slope}),
    Softmax: _no_parameters("Softmax", axis=-1),
    Flatten: _no_parameters("Flatten", axis=1),
    Dropout: _dropout,
    Conv2D: _conv,
    MaxPool2D: _pool("MaxPool"),
    AvgPool2D: _pool("AveragePool"),
    BatchNorm1d: _batch_norm,
    BatchNorm2d: _batch_norm,
}


# -- load ---------------------------------------------------------------------------------------------


def load(source: Union[str, Path, bytes, bytearray, onnx.ModelProto]) -> Sequential:
    """Read an ONNX model that is a chain of the supported operators into a numnet Sequential.

    The graph must have one input of shape (N, ...) with every axis but the batch fixed (or a
    Conv first, whose H and W may be symbolic), one output, and its operators must form a simple
    chain: each takes the previous one's output and constants (initializers, Constant nodes, and
    shape arithmetic on the batch size such as PyTorch's x.view(x.size(0), -1)). Weights take the
    input's float dtype. The result predicts as the ONNX graph does at inference, and trains,
    saves (model.save) and reloads (numnet.load) like any Sequential.

    Args:
        source: a path to a .onnx file, its bytes, or an onnx.ModelProto.

    Raises ModelFormatError (a ValueError) naming the node and its operator for an unsupported
    operator or attribute, a branch (a skip connection, two outputs) or an unreadable file.

    Example:
        >>> model = numnet.onnx.load("mlp.onnx")     # e.g. written by torch.onnx.export
        >>> model.predict(x)
    """
    onnx = _import_onnx()
    proto, label = _read_proto(onnx, source)
    return _ChainReader(onnx, proto, label).read()


def _read_proto(onnx, source):
    """(ModelProto, the name used in error messages), with the file read and checked."""
    if isinstance(source, onnx.ModelProto):
        proto, label = source, "ONNX model"
    elif isinstance(source, (bytes, bytearray)):
        label = "ONNX model"
        try:
            proto = onnx.load_model_from_string(bytes(source))
        except Exception as failure:  # protobuf raises its own DecodeError
            raise ModelFormatError(f"{label}: not a readable ONNX model ({type(failure).__name__}: {failure})") from None
    elif isinstance(source, (str, Path)):
        label = str(source)
        if not Path(source).is_file():
            raise ModelFormatError(f"{label}: no such file")
        try:
            proto = onnx.load(str(source))
        except Exception as failure:
            raise ModelFormatError(f"{label}: not a readable ONNX model ({type(failure).__name__}: {failure})") from None
    else:
        raise TypeError(f"load expects a path, bytes or an onnx.ModelProto. Received: {type(source).__name__}")
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as failure:
        raise ModelFormatError(f"{label}: not a valid ONNX model: {failure}") from None
    return proto, label


#: stands for the batch size in shape arithmetic (Shape of a tensor, then Gather, Concat, ...): a number
#: no real tensor dimension has, so that Reshape can tell "keep the batch axis" from a fixed size
BATCH = 2**31 - 1


class _ChainReader:
    """Walks an ONNX graph's nodes in order, turning each operator on the chain into numnet layers.

    ``current`` names the chain's latest tensor; ``shapes`` maps each chain tensor to its per-sample
    shape (None for an axis not known); ``constants`` holds initializers, Constant outputs and folded
    shape arithmetic. Each ``read_<Op>`` appends the layers for one node and returns its output's shape.
    """

    def __init__(self, onnx, proto, label):
        self.onnx, self.proto, self.label = onnx, proto, label
        self.opset = next((entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx")), None)
        self.constants = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
        self.layers = []
        self.shapes = {}  # per-sample shape of every tensor the chain has produced
        self.used = {name for node in proto.graph.node for name in node.input} | {o.name for o in proto.graph.output}

    def fail(self, problem, node=None):
        where = f"node {node.name or node.output[0]!r} ({node.op_type}): " if node is not None else ""
        return ModelFormatError(f"{self.label}: {where}{problem}")

    # -- the walk ---------------------------------------------------------------------------------

    def read(self):
        graph = self.proto.graph
        if self.opset is None:
            raise self.fail("the model imports no version of the standard ONNX operator set")
        inputs = [value for value in graph.input if value.name not in self.constants]
        if len(inputs) != 1:
            raise self.fail(f"numnet reads graphs with one input; this one has {len(inputs)}: {[v.name for v in inputs]}")
        input_shape = self.read_input(inputs[0])
        self.current, self.current_op = inputs[0].name, None
        self.shapes[self.current] = input_shape
        for node in graph.node:
            self.read_node(node)
        outputs = [value.name for value in graph.output]
        if outputs != [self.current]:
            raise self.fail(f"the graph is not a simple chain: its outputs {outputs} are not just the chain's last tensor {self.current!r}")
        known = input_shape if all(d is not None for d in input_shape) else None
        try:
            return Sequential(self.layers, input_shape=known)
        except (TypeError, ValueError) as error:
            raise self.fail(f"the layers read do not fit together: {error}") from None

    def read_input(self, value):
        tensor_type = value.type.tensor_type
        try:
            self.dtype = np.dtype(self.onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type))
        except (KeyError, TypeError):
            self.dtype = None
        if self.dtype is None or self.dtype.kind != "f":
            raise self.fail(f"the input {value.name!r} must be a float tensor; its element type is {tensor_type.elem_type}")
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim]
        if len(dims) < 2:
            raise self.fail(f"the input {value.name!r} must have a batch axis and at least one more; its shape is {dims}")
        self.static_batch = dims[0]
        return tuple(dims[1:])

    def read_node(self, node):
        if node.domain not in ("", "ai.onnx"):
            raise self.fail(f"operators of the domain {node.domain!r} are not supported", node)
        if node.op_type == "Constant":
            self.constants[node.output[0]] = self.constant_value(node)
            return
        data = [name for name in node.input if name and name not in self.constants]
        if not data:
            self.constants[node.output[0]] = self.fold(node)
            return
        if node.op_type == "Shape":
            self.constants[node.output[0]] = self.shape_of(node)
            return
        if data != [self.current]:
            raise self.fail(
                f"the graph is not a simple chain: the node takes {data} while the chain is at {self.current!r}; "
                "numnet reads chains of single-input operators, without branches or skip connections", node)
        reader = getattr(self, f"read_{node.op_type}", None)
        if reader is None:
            raise self.fail(f"the operator {node.op_type} is not supported; numnet reads {', '.join(SUPPORTED_OPS)}", node)
        if node.op_type != "Add" and node.input[0] != self.current:
            raise self.fail(f"the chain's tensor must be the first input; it is input {list(node.input).index(self.current)}", node)
        for extra in node.output[1:]:
            if extra and extra in self.used:
                raise self.fail(f"its output {extra!r} is used; numnet reads only an operator's first output", node)
        attributes = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
        shape = reader(node, attributes, self.shapes[self.current])
        self.current, self.current_op = node.output[0], node.op_type
        self.shapes[self.current] = shape

    def add(self, node, layer_type, *args, **kwargs):
        """Build a layer, with the node named in the message if numnet refuses its arguments."""
        try:
            layer = layer_type(*args, **kwargs)
        except (TypeError, ValueError) as error:
            raise self.fail(f"cannot be built as {layer_type.__name__}: {error}", node) from None
        self.layers.append(layer)
        return layer

    def constant(self, node, position):
        """The constant input at ``position`` as an array of the model's dtype (or None when absent)."""
        if position >= len(node.input) or not node.input[position]:
            return None
        return np.asarray(self.constants[node.input[position]], dtype=self.dtype)

    def check(self, node, attributes, **allowed):
        """Fail unless each named attribute (when present) has one of the allowed values."""
        for name, (values, default) in allowed.items():
            value = attributes.get(name, default)
            value = value.decode() if isinstance(value, bytes) else value
            if value not in values:
                raise self.fail(f"attribute {name}={value!r} is not supported (numnet supports {name} in {values})", node)

    # -- constants and shape arithmetic -----------------------------------------------------------

    def constant_value(self, node):
        attribute = node.attribute[0]
        value = self.onnx.helper.get_attribute_value(attribute)
        if attribute.name == "value":
            return self.onnx.numpy_helper.to_array(value)
        if attribute.name in ("value_float", "value_floats"):
            return np.array(value, dtype=np.float32)
        if attribute.name in ("value_int", "value_ints"):
            return np.array(value, dtype=np.int64)
        raise self.fail(f"a constant given as {attribute.name} is not supported", node)

    def shape_of(self, node):
        per_sample = self.shapes.get(node.input[0])
        if per_sample is None or None in per_sample:
            raise self.fail(f"the shape of {node.input[0]!r} is not fully known, so its Shape cannot be computed", node)
        shape = (BATCH, *per_sample)
        attributes = {a.name: a.i for a in node.attribute}
        return np.array(shape[attributes.get("start", 0):attributes.get("end", len(shape))], dtype=np.int64)

    def fold(self, node):
        """Compute a node whose inputs are all constants (the shape arithmetic exporters emit)."""
        values = [self.constants[name] if name else None for name in node.input]
        attributes = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
        op = node.op_type
        # Unsqueeze and Squeeze take their axes as an input from opset 13 on, as an attribute before
        axes = attributes.get("axes") if len(values) < 2 or values[1] is None else values[1]
        if op == "Identity":
            return values[0]
        if op == "Cast":
            return values[0].astype(self.onnx.helper.tensor_dtype_to_np_dtype(attributes["to"]))
        if op == "Gather":
            return np.take(values[0], values[1], axis=attributes.get("axis", 0))
        if op == "Unsqueeze":
            return np.expand_dims(values[0], tuple(int(a) for a in np.ravel(axes)))
        if op == "Squeeze":
            return np.squeeze(values[0], None if axes is None else tuple(int(a) for a in np.ravel(axes)))
        if op == "Concat":
            return np.concatenate(values, axis=attributes["axis"])
        if op == "Slice" and self.opset >= 10:
            data, starts, ends = values[:3]
            axes = values[3] if len(values) > 3 and values[3] is not None else range(len(starts))
            steps = values[4] if len(values) > 4 and values[4] is not None else [1] * len(starts)
            index = [slice(None)] * data.ndim
            for start, end, axis, step in zip(starts, ends, axes, steps):
                index[int(axis)] = slice(int(start), int(end), int(step))
            return data[tuple(index)]
        raise self.fail(f"the operator {op} on constants is not supported (numnet computes only shape arithmetic: "
                        "Identity, Cast, Gather, Unsqueeze, Squeeze, Concat, Slice)", node)

    # -- operators on the chain ------------------------------------------------------------------------

    def read_Gemm(self, node, attributes, shape):
        self.check(node, attributes, transA=([0], 0))
        if len(shape) != 1:
            raise self.fail(f"Gemm needs (N, features) input, got per-sample shape {shape}; flatten first", node)
        alpha, beta = attributes.get("alpha", 1.0), attributes.get("beta", 1.0)
        B = self.constant(node, 1)
        if B is None or B.ndim != 2:
            raise self.fail("the weight B must be a constant matrix", node)
        weight = alpha * (B if attributes.get("transB", 0) else B.T)  # Y = X Wᵀ + b with W (out, in)
        bias = self.constant(node, 2)
        return self.dense(node, shape, weight, None if bias is None else beta * bias)

    def read_MatMul(self, node, attributes, shape):
        B = self.constant(node, 1)
        if len(shape) != 1 or B is None or B.ndim != 2:
            raise self.fail(f"numnet reads MatMul of (N, features) by a constant matrix; got per-sample shape {shape}", node)
        return self.dense(node, shape, B.T, None)

    def dense(self, node, shape, weight, bias):
        out_features, in_features = weight.shape
        if shape[0] is not None and shape[0] != in_features:
            raise self.fail(f"the weight takes {in_features} features but the input has {shape[0]}", node)
        layer = self.add(node, Dense, in_features, out_features, dtype=self.dtype, init="zeros")
        layer.weight[...] = weight
        if bias is not None:
            self.add_bias(node, layer, bias)
        return (out_features,)

    def add_bias(self, node, layer, bias):
        if bias.size not in (1, layer.out_features) or (bias.ndim == 2 and bias.shape[0] != 1) or bias.ndim > 2:
            raise self.fail(f"the bias of shape {bias.shape} does not broadcast to ({layer.out_features},) "
                            "(a bias per sample is not supported)", node)
        layer.bias[...] += bias.reshape(-1)

    def read_Add(self, node, attributes, shape):
        # MatMul + Add: PyTorch's Linear on some exports; the constant becomes the Dense layer's bias
        if self.current_op not in ("MatMul", "Gemm"):
            raise self.fail("Add of a constant is supported only right after a dense product (MatMul + Add)", node)
        other = next(name for name in node.input if name != self.current)
        self.add_bias(node, self.layers[-1], np.asarray(self.constants[other], dtype=self.dtype))
        return shape

    def read_Relu(self, node, attributes, shape):
        self.add(node, ReLU)
        return shape

    def read_Sigmoid(self, node, attributes, shape):
        self.add(node, Sigmoid)
        return shape

    def read_Tanh(self, node, attributes, shape):
        self.add(node, Tanh)
        return shape

    def read_LeakyRelu(self, node, attributes, shape):
        self.add(node, LeakyReLU, _shortest(np.float32(attributes.get("alpha", 0.01))))
        return shape

    def read_Softmax(self, node, attributes, shape):
        rank = len(shape) + 1
        axis = attributes.get("axis", -1 if self.opset >= 13 else 1)
        # before opset 13 Softmax flattened the axes from ``axis`` on: the same thing only for the last axis
        if axis % rank != rank - 1:
            raise self.fail(f"Softmax over axis {axis} of a rank-{rank} input is not supported; numnet's Softmax is over the last axis", node)
        self.add(node, Softmax)
        return shape

    def read_Flatten(self, node, attributes, shape):
        axis = attributes.get("axis", 1)
        if axis % (len(shape) + 1) != 1:
            raise self.fail(f"Flatten with axis={axis} is not supported; numnet flattens each sample (axis=1)", node)
        self.add(node, Flatten)
        return (None if None in shape else math.prod(shape),)

    def read_Reshape(self, node, attributes, shape):
        target = self.constant_int(node, 1, "shape")
        if None in shape:
            raise self.fail(f"Reshape needs the per-sample shape, which is not fully known: {shape}", node)
        full = (BATCH, *shape)
        if not attributes.get("allowzero", 0):
            target = [full[i] if d == 0 and i < len(full) else d for i, d in enumerate(target)]
        size = math.prod(shape)
        # the first axis must stay the batch: the batch size itself (from Shape, or the graph's fixed
        # one), or -1 with every other axis given
        keeps_batch = target and (target[0] in (BATCH, self.static_batch) or (target[0] == -1 and -1 not in target[1:]))
        if not keeps_batch:
            raise self.fail(f"Reshape to {self.shown(target)} is not supported: numnet keeps the batch axis first", node)
        rest = list(target[1:])
        if rest.count(-1) == 1:
            known = math.prod(d for d in rest if d != -1)
            rest[rest.index(-1)] = size // known if known and size % known == 0 else -1
        if any(d < 1 for d in rest) or math.prod(rest) != size:
            raise self.fail(f"Reshape to {self.shown(target)} does not keep the {size} values of each sample together", node)
        if tuple(rest) == shape:
            return shape
        if len(rest) != 1:
            raise self.fail(f"Reshape from (N, {', '.join(map(str, shape))}) to {self.shown(target)} is not supported: "
                            "numnet reshapes only by flattening each sample (Flatten)", node)
        self.add(node, Flatten)
        return (size,)

    @staticmethod
    def shown(target):
        return "(" + ", ".join("N" if d == BATCH else str(d) for d in target) + ")"

    def constant_int(self, node, position, name):
        if position >= len(node.input) or node.input[position] not in self.constants:
            raise self.fail(f"its {name} must be a constant (or shape arithmetic on the batch size)", node)
        return [int(d) for d in np.ravel(self.constants[node.input[position]])]

    def read_Identity(self, node, attributes, shape):
        return shape

    def read_Dropout(self, node, attributes, shape):
        if self.opset >= 12:
            ratio = self.constant(node, 1)
            training = node.input[2] if len(node.input) > 2 else ""
            if training and (training not in self.constants or bool(self.constants[training])):
                raise self.fail("a Dropout in training mode is not supported; export the model in inference mode", node)
            ratio = 0.5 if ratio is None else _shortest(ratio[()])
        else:
            ratio = _shortest(np.float32(attributes.get("ratio", 0.5)))
        self.add(node, Dropout, ratio)
        return shape

    def spatial(self, node, shape, name):
        if len(shape) != 3:
            raise self.fail(f"{name} needs (N, C, H, W) input, got per-sample shape {shape}", node)

    def window(self, node, attributes, kernel):
        """Check the attributes 2-D convolution and pooling share; return (strides, pads as (ph, pw))."""
        if len(kernel) != 2:
            raise self.fail(f"only 2-D windows are supported; the kernel is {kernel}", node)
        self.check(node, attributes, auto_pad=(["NOTSET", "VALID"], "NOTSET"), dilations=([[1, 1]], [1, 1]))
        strides = attributes.get("strides", [1, 1])
        top, left, bottom, right = attributes.get("pads", [0, 0, 0, 0])
        if (top, left) != (bottom, right):
            raise self.fail(f"asymmetric pads {attributes['pads']} are not supported; numnet pads each side alike", node)
        return strides, (top, left)

    def read_Conv(self, node, attributes, shape):
        self.spatial(node, shape, "Conv")
        self.check(node, attributes, group=([1], 1))
        weight = self.constant(node, 1)
        if weight is None or weight.ndim != 4:
            raise self.fail("the weight must be a constant of shape (out, in, kh, kw)", node)
        kernel = list(attributes.get("kernel_shape", weight.shape[2:]))
        if kernel != list(weight.shape[2:]):
            raise self.fail(f"kernel_shape {kernel} differs from the weight's {list(weight.shape[2:])}", node)
        strides, padding = self.window(node, attributes, kernel)
        out_channels, in_channels = weight.shape[:2]
        if shape[0] != in_channels:
            raise self.fail(f"the weight takes {in_channels} channels but the input has {shape[0]}", node)
        layer = self.add(node, Conv2D, in_channels, out_channels, kernel, strides, padding, dtype=self.dtype, init="zeros")
        layer.weight[...] = weight
        bias = self.constant(node, 2)
        if bias is not None:
            layer.bias[...] = bias
        return self.known_output(layer, shape)

    @staticmethod
    def known_output(layer, shape):
        if None in shape:
            return (layer.out_channels if isinstance(layer, Conv2D) else shape[0], None, None)
        return layer.output_shape(shape)

    def pool(self, node, attributes, shape, layer_type):
        self.spatial(node, shape, node.op_type)
        self.check(node, attributes, storage_order=([0], 0))
        kernel = list(attributes["kernel_shape"])
        strides, padding = self.window(node, attributes, kernel)
        if padding != (0, 0):
            raise self.fail(f"padded pooling (pads {attributes['pads']}) is not supported", node)
        if attributes.get("ceil_mode", 0) and any(
            size is None or (size - k) % s for size, k, s in zip(shape[1:], kernel, strides)
        ):
            raise self.fail("ceil_mode=1 is supported only where it changes nothing (windows that tile the input exactly)", node)
        return self.known_output(self.add(node, layer_type, kernel, strides), shape)

    def read_MaxPool(self, node, attributes, shape):
        return self.pool(node, attributes, shape, MaxPool2D)

    def read_AveragePool(self, node, attributes, shape):
        return self.pool(node, attributes, shape, AvgPool2D)

    def global_pool(self, node, shape, layer_type):
        self.spatial(node, shape, node.op_type)
        if None in shape:
            raise self.fail(f"global pooling needs the height and width, which are not known: {shape}", node)
        return self.add(node, layer_type, shape[1:]).output_shape(shape)

    def read_GlobalMaxPool(self, node, attributes, shape):
        return self.global_pool(node, shape, MaxPool2D)

    def read_GlobalAveragePool(self, node, attributes, shape):
        return self.global_pool(node, shape, AvgPool2D)

    def read_BatchNormalization(self, node, attributes, shape):
        self.check(node, attributes, training_mode=([0], 0), spatial=([1], 1))
        layer_type = {1: BatchNorm1d, 3: BatchNorm2d}.get(len(shape))
        if layer_type is None:
            raise self.fail(f"BatchNormalization of per-sample shape {shape} is not supported; numnet normalizes (N, C) and (N, C, H, W)", node)
        scale, bias, mean, var = (self.constant(node, i) for i in range(1, 5))
        if any(v is None for v in (scale, bias, mean, var)):
            raise self.fail("scale, B, mean and var must be constants", node)
        epsilon, momentum = (_shortest(np.float32(attributes.get(name, default))) for name, default in (("epsilon", 1e-5), ("momentum", 0.9)))
        layer = self.add(node, layer_type, len(scale), epsilon, float(1 - decimal.Decimal(str(momentum))), dtype=self.dtype)
        layer.params["weight"][...], layer.params["bias"][...] = scale, bias
        layer.buffers["running_mean"][...], layer.buffers["running_var"][...] = mean, var
        return shape


def _shortest(value: Any) -> float:
    """A NumPy float as the shortest decimal that reads back as it (float32 0.30000001 -> 0.3): ONNX
    keeps attributes in float32, and this gives back the hyperparameters a model was built with."""
    return float(str(value))


SUPPORTED_OPS = sorted(name[len("read_"):] for name in vars(_ChainReader) if name.startswith("read_") and name[5].isupper())

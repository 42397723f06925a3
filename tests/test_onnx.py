"""numnet.onnx: numnet -> ONNX checked in onnxruntime, ONNX -> numnet checked against the graph's maker."""

import functools
import io
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

import numnet  # noqa: E402
import numnet.onnx  # noqa: E402
from numnet.cli import main  # noqa: E402
from numnet.datasets import load_digits_sample  # noqa: E402
from numnet.layers import (  # noqa: E402
    Activation, AvgPool2D, BatchNorm1d, BatchNorm2d, Conv2D, Dense, Dropout, Flatten, LeakyReLU, MaxPool2D, ReLU, Sigmoid,
    Softmax, Tanh,
)
from numnet.losses import CrossEntropy  # noqa: E402
from numnet.optimizers import Adam  # noqa: E402
from numnet.runs import build_cnn, build_mlp  # noqa: E402

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# float32 sums of a few hundred products, computed in a different order by onnxruntime and by NumPy
ATOL32 = 1e-5
# in float64 the gap is ONNX's: it keeps float attributes (LeakyRelu's alpha, BatchNormalization's epsilon)
# in float32, a relative change of up to 6e-8
RTOL64 = 1e-7


def run_onnxruntime(model_file, x):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # the tests share the machine
    session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"input": x})
    return y


def randomized(model, seed=0):
    """The model with its biases and BatchNorm's scales and statistics redrawn (they start as 0 and 1),
    so that each one matters; the weights keep their initial scale."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for key, array in {**layer.params, **layer.buffers}.items():
            if key == "running_var":
                array[...] = rng.uniform(0.5, 1.5, array.shape)
            elif key != "weight" or isinstance(layer, BatchNorm1d):  # BatchNorm2d is a BatchNorm1d
                array[...] = rng.normal(0, 0.5, array.shape)
    return model


def model_of_each_layer(dtype):
    """(name, model, ONNX operator the model's point is) for every layer type numnet has."""
    d = {"dtype": dtype, "rng": 0}
    return [
        ("Dense", numnet.Sequential([Dense(6, 4, **d)]), "Gemm"),  # input shape taken from the Dense
        ("Sigmoid", numnet.Sequential([Dense(6, 5, **d), Sigmoid()]), "Sigmoid"),
        ("Tanh", numnet.Sequential([Dense(6, 5, **d), Tanh()]), "Tanh"),
        ("ReLU", numnet.Sequential([Dense(6, 5, **d), ReLU()]), "Relu"),
        ("LeakyReLU", numnet.Sequential([Dense(6, 5, **d), LeakyReLU(0.2)]), "LeakyRelu"),
        ("Softmax", numnet.Sequential([Dense(6, 5, **d), Softmax()]), "Softmax"),
        ("Flatten", numnet.Sequential([Flatten(), Dense(24, 3, **d)], input_shape=(2, 3, 4)), "Flatten"),
        ("Dropout", numnet.Sequential([Dense(6, 5, **d), Dropout(0.25), Dense(5, 2, **d)]), "Dropout"),
        ("BatchNorm1d", numnet.Sequential([Dense(6, 5, **d), BatchNorm1d(5, eps=1e-3, momentum=0.2, dtype=dtype)]),
         "BatchNormalization"),
        ("Conv2D", numnet.Sequential([Conv2D(2, 3, 3, stride=2, padding=1, **d), Conv2D(3, 2, (3, 2), stride=(1, 2), **d)],
                                     input_shape=(2, 9, 9)), "Conv"),
        # the pooling models start with a BatchNorm2d, whose parameters give them a dtype
        ("MaxPool2D", numnet.Sequential([BatchNorm2d(2, dtype=dtype), MaxPool2D(2), MaxPool2D(3, stride=2)], input_shape=(2, 11, 11)),
         "MaxPool"),
        ("AvgPool2D", numnet.Sequential([BatchNorm2d(2, dtype=dtype), AvgPool2D((2, 3), stride=(2, 1))], input_shape=(2, 8, 9)),
         "AveragePool"),
        ("BatchNorm2d", numnet.Sequential([BatchNorm2d(3, eps=1e-3, dtype=dtype)], input_shape=(3, 6, 6)), "BatchNormalization"),
    ]


LAYER_NAMES = [name for name, _, _ in model_of_each_layer(np.float32)]
# onnxruntime 1.32's CPU provider has no float64 Conv or AveragePool kernel
NO_FLOAT64_KERNEL = {"Conv2D", "AvgPool2D"}


def built(name, dtype):
    _, model, op_type = next(entry for entry in model_of_each_layer(dtype) if entry[0] == name)
    return randomized(model), op_type


def sample_input(model, dtype, n=7, seed=1):
    shape = model.input_shape or model.layers[0].input_shape
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(dtype)


# -- export: numnet -> onnxruntime ------------------------------------------------------------------


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_each_layer_type_exports_and_runs_in_onnxruntime_float32(name, tmp_path):
    model, op_type = built(name, np.float32)
    proto = numnet.onnx.export(model, tmp_path / "m.onnx")
    assert op_type in [node.op_type for node in proto.graph.node]
    x = sample_input(model, np.float32)
    np.testing.assert_allclose(run_onnxruntime(tmp_path / "m.onnx", x), model.predict(x), rtol=0, atol=ATOL32)


@pytest.mark.parametrize("name", [n for n in LAYER_NAMES if n not in NO_FLOAT64_KERNEL])
def test_each_layer_type_exports_and_runs_in_onnxruntime_float64(name, tmp_path):
    model, _ = built(name, np.float64)
    proto = numnet.onnx.export(model, tmp_path / "m.onnx")
    assert proto.graph.input[0].type.tensor_type.elem_type == TensorProto.DOUBLE
    x = sample_input(model, np.float64)
    y = run_onnxruntime(tmp_path / "m.onnx", x)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, model.predict(x), rtol=RTOL64, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", LAYER_NAMES)
def test_each_layer_type_round_trips_through_load(name, dtype, tmp_path):
    model, _ = built(name, dtype)
    numnet.onnx.export(model, tmp_path / "m.onnx")
    loaded = numnet.onnx.load(tmp_path / "m.onnx")
    assert repr(loaded) == repr(model)  # the same layers with the same arguments (Dropout's p, BatchNorm's eps, ...)
    assert loaded.dtype == dtype
    x = sample_input(model, dtype)
    # the same computation on the same weights; only the input shape check may differ
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=0, atol=1e-12)


def test_graph_layout_names_and_dynamic_batch(tmp_path):
    model = randomized(build_mlp(hidden=(16,)))
    proto = numnet.onnx.export(model, tmp_path / "mlp.onnx")
    assert [node.op_type for node in proto.graph.node] == ["Flatten", "Gemm", "Relu", "Dropout", "Gemm"]
    assert [node.name for node in proto.graph.node][:2] == ["0.Flatten", "1.Dense"]
    assert {t.name for t in proto.graph.initializer} == {"1.weight", "1.bias", "3.ratio", "4.weight", "4.bias"}
    (gemm,) = [node for node in proto.graph.node if node.name == "1.Dense"]
    assert helper.get_attribute_value(gemm.attribute[0]) == 1 and gemm.attribute[0].name == "transB"
    assert proto.opset_import[0].version == numnet.onnx.DEFAULT_OPSET == 17
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 28, 28]
    assert [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim] == ["N", 10]
    onnx.checker.check_model(onnx.load(tmp_path / "mlp.onnx"), full_check=True)
    for n in (1, 5, 300):
        x = sample_input(model, np.float32, n=n)
        np.testing.assert_allclose(run_onnxruntime(tmp_path / "mlp.onnx", x), model.predict(x), rtol=0, atol=ATOL32)


@pytest.fixture(scope="module")
def digits():
    """The first 256 test digits of the embedded sample, as (N, 28, 28) float32 in [0, 1], and their labels."""
    (_, _), (images, labels) = load_digits_sample()
    return images[:256] / np.float32(255), labels[:256]


def test_cnn_on_real_digits(digits, tmp_path):
    images, labels = digits
    model = randomized(build_cnn())
    numnet.onnx.export(model, tmp_path / "cnn.onnx")
    x = images[:, None]
    expected = model.predict(x)
    got = run_onnxruntime(tmp_path / "cnn.onnx", x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL32)
    assert (got.argmax(1) == expected.argmax(1)).all()
    np.testing.assert_allclose(run_onnxruntime(tmp_path / "cnn.onnx", x[:1]), expected[:1], rtol=0, atol=ATOL32)


def test_trained_mlp_on_real_digits(digits, tmp_path):
    images, labels = digits
    model = build_mlp(hidden=(64, 32), activation="tanh")
    model.fit(images, labels, loss=CrossEntropy(), optimizer=Adam(1e-3), epochs=1, batch_size=64, seed=0, verbose=0)
    numnet.onnx.export(model, tmp_path / "mlp.onnx")
    np.testing.assert_allclose(run_onnxruntime(tmp_path / "mlp.onnx", images), model.predict(images), rtol=0, atol=ATOL32)


@pytest.mark.parametrize("opset", [13, 17, 18, onnx.defs.onnx_opset_version()])
def test_every_opset_in_range_runs(opset, digits, tmp_path):
    model = randomized(numnet.Sequential([Conv2D(1, 2, 3, padding=1, rng=0), BatchNorm2d(2), LeakyReLU(), AvgPool2D(2),
                                          MaxPool2D(2), Flatten(), Dense(98, 10, rng=0), Dropout(0.1), Softmax()],
                                         input_shape=(1, 28, 28)))
    proto = numnet.onnx.export(model, tmp_path / "m.onnx", opset=opset)
    assert proto.opset_import[0].version == opset
    x = digits[0][:32, None]
    np.testing.assert_allclose(run_onnxruntime(tmp_path / "m.onnx", x), model.predict(x), rtol=0, atol=ATOL32)


def test_conv_first_without_input_shape_has_symbolic_height_and_width(tmp_path):
    model = randomized(numnet.Sequential([Conv2D(1, 2, 3, rng=0), ReLU(), MaxPool2D(2)]))
    proto = numnet.onnx.export(model, tmp_path / "m.onnx")
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 1, "H", "W"]
    for size in (8, 13):
        x = np.random.default_rng(size).normal(size=(3, 1, size, size)).astype(np.float32)
        np.testing.assert_allclose(run_onnxruntime(tmp_path / "m.onnx", x), model.predict(x), rtol=0, atol=ATOL32)


def test_export_errors(tmp_path):
    target = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match=r"input shape is unknown .* input_shape=\(28, 28\)"):
        numnet.onnx.export(numnet.Sequential([Flatten(), Dense(4, 2)]), target)
    custom = numnet.Sequential([Dense(3, 3), Activation(np.sin, np.cos)])
    with pytest.raises(ValueError, match=r"cannot export layer 1, Activation\(sin\): .*custom functions has no ONNX operator"):
        numnet.onnx.export(custom, target)
    with pytest.raises(ValueError, match=r"opset must be an integer in the range \[13, \d+\]. Received: opset=12"):
        numnet.onnx.export(numnet.Sequential([Dense(3, 3)]), target, opset=12)
    mixed = numnet.Sequential([Dense(3, 3, dtype=np.float32), Dense(3, 3, dtype=np.float64)])
    with pytest.raises(ValueError, match=r"share one dtype.*float32.*float64"):
        numnet.onnx.export(mixed, target)
    with pytest.raises(TypeError, match="expects a numnet Sequential. Received: Dense"):
        numnet.onnx.export(Dense(3, 3), target)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


# -- load: other makers -> numnet -------------------------------------------------------------------


def graph_model(nodes, initializers, input_shape, output="y", opset=17):
    """A hand-built ONNX model (input "x"), made with onnx.helper."""
    graph = helper.make_graph(
        nodes, "test", [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(value, dtype=np.float32 if np.asarray(value).dtype.kind == "f" else np.int64), name)
         for name, value in initializers.items()],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    proto.graph.output[0].CopyFrom(onnx.shape_inference.infer_shapes(proto).graph.output[0])  # the checker wants a shape
    return proto


def onnxruntime_output(proto, x):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_gemm_variants_matmul_add_reshape_and_global_pooling_match_onnxruntime():
    rng = np.random.default_rng(0)
    weights = {name: rng.normal(size=shape) for name, shape in {
        "w1": (3, 2, 3, 3), "b1": (3,), "B": (27, 6), "C": (1, 6), "M": (6, 4), "a": (4,), "G": (5, 4),
    }.items()}
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Reshape", ["c", "flat"], ["r"]),  # (N, 3, 3, 3) -> (N, 27) via (-1, 27)
        helper.make_node("Gemm", ["r", "B", "C"], ["h"], alpha=0.5, beta=2.0),  # transB=0: B is (in, out)
        helper.make_node("Tanh", ["h"], ["t"]),
        helper.make_node("MatMul", ["t", "M"], ["m"]),
        helper.make_node("Add", ["a", "m"], ["s"]),
        helper.make_node("Gemm", ["s", "G"], ["y"], transB=1),  # no C: no bias
    ]
    proto = graph_model(nodes, {**weights, "flat": [-1, 27]}, ["N", 2, 3, 3])
    model = numnet.onnx.load(proto)
    assert [type(layer).__name__ for layer in model.layers] == ["Conv2D", "Flatten", "Dense", "Tanh", "Dense", "Dense"]
    x = rng.normal(size=(5, 2, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x), onnxruntime_output(proto, x), rtol=0, atol=ATOL32)

    pooled = graph_model([helper.make_node("GlobalAveragePool", ["x"], ["p"]), helper.make_node("GlobalMaxPool", ["p"], ["y"])],
                         {}, ["N", 3, 4, 5])
    model = numnet.onnx.load(pooled)
    x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x), onnxruntime_output(pooled, x), rtol=0, atol=ATOL32)


@pytest.mark.parametrize(("nodes", "initializers", "shape", "message"), [
    ([helper.make_node("Elu", ["x"], ["y"], name="act")], {}, ["N", 3],
     r"node 'act' \(Elu\): the operator Elu is not supported; numnet reads Add, AveragePool, .*Tanh"),
    ([helper.make_node("Conv", ["x", "w"], ["y"], name="grouped", group=2)], {"w": np.ones((2, 1, 3, 3))}, ["N", 2, 5, 5],
     r"node 'grouped' \(Conv\): attribute group=2 is not supported"),
    ([helper.make_node("Conv", ["x", "w"], ["y"], pads=[0, 0, 1, 1])], {"w": np.ones((2, 2, 3, 3))}, ["N", 2, 5, 5],
     r"node 'y' \(Conv\): asymmetric pads \[0, 0, 1, 1\]"),
    ([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], pads=[1, 1, 1, 1])], {}, ["N", 2, 5, 5],
     r"\(MaxPool\): padded pooling"),
    ([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["x", "r"], ["y"], name="skip")], {}, ["N", 3],
     r"node 'skip' \(Add\): the graph is not a simple chain: the node takes \['x', 'r'\]"),
    ([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Sigmoid", ["x"], ["y"], name="second")], {}, ["N", 3],
     r"node 'second' \(Sigmoid\): the graph is not a simple chain"),
    ([helper.make_node("Reshape", ["x", "s"], ["y"])], {"s": [-1, 2, 2]}, ["N", 4],
     r"Reshape from \(N, 4\) to \(-1, 2, 2\) is not supported: numnet reshapes only by flattening"),
    ([helper.make_node("Softmax", ["x"], ["y"], axis=1)], {}, ["N", 3, 4],
     r"Softmax over axis 1 of a rank-3 input is not supported"),
    ([helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Reshape", ["x", "s"], ["y"])], {}, ["N", "F"],
     r"node 's' \(Shape\): the shape of 'x' is not fully known"),
])
def test_unsupported_graphs_are_refused_naming_the_node(nodes, initializers, shape, message):
    proto = graph_model(nodes, initializers, shape)
    with pytest.raises(numnet.ModelFormatError, match=message):
        numnet.onnx.load(proto)


def test_load_refuses_what_is_not_an_onnx_model(tmp_path):
    with pytest.raises(numnet.ModelFormatError, match="no such file"):
        numnet.onnx.load(tmp_path / "missing.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"\x00not protobuf at all\xff" * 3)
    with pytest.raises(numnet.ModelFormatError, match="bad.onnx: not a readable ONNX model"):
        numnet.onnx.load(tmp_path / "bad.onnx")
    with pytest.raises(TypeError, match="expects a path, bytes or an onnx.ModelProto. Received: int"):
        numnet.onnx.load(3)


# -- PyTorch -> ONNX -> numnet ------------------------------------------------------------------------


def torch_export(net, example, dynamic):
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter announces its successor
        torch.onnx.export(net, torch.from_numpy(example), buffer, dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}} if dynamic else None)
    return buffer.getvalue()


def trained_torch(net, shape):
    """net with BatchNorm statistics from a few training batches, in inference mode."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(32, *shape) * 2 + 0.5)
    return net.eval()


def torch_mlp():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    return trained_torch(nn.Sequential(
        nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 16), nn.LeakyReLU(0.2),
        nn.Linear(16, 16, bias=False), nn.Sigmoid(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 10), nn.Softmax(dim=1),
    ), (28, 28))


def torch_cnn():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(4), nn.MaxPool2d(2),
                nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.Tanh(), nn.AvgPool2d(2),
            )
            self.classifier = nn.Sequential(nn.Linear(6 * 3 * 3, 10), nn.ReLU(), nn.Dropout(0.3), nn.Linear(10, 10))

        def forward(self, x):
            x = self.features(x)
            return self.classifier(x.view(x.size(0), -1))

    torch.manual_seed(0)
    return trained_torch(CNN(), (1, 28, 28))


@functools.cache
def torch_net_and_export(kind, dynamic):
    """(the torch network, its ONNX export), made once per kind and batch axis (dynamic or fixed at 2)."""
    net = torch_mlp() if kind == "mlp" else torch_cnn()
    example = np.zeros((2, 28, 28) if kind == "mlp" else (2, 1, 28, 28), np.float32)
    return net, torch_export(net, example, dynamic)


@pytest.mark.parametrize("dynamic", [True, False])
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_torch_models_load_with_equal_outputs(kind, dynamic, digits, tmp_path):
    torch = pytest.importorskip("torch")
    net, exported = torch_net_and_export(kind, dynamic)
    x = digits[0] if kind == "mlp" else digits[0][:, None]
    model = numnet.onnx.load(exported)
    assert any(isinstance(layer, (BatchNorm1d, BatchNorm2d)) for layer in model.layers)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=ATOL32)
    model.save(tmp_path / "m.safetensors")
    np.testing.assert_allclose(numnet.load(tmp_path / "m.safetensors").predict(x), expected, rtol=0, atol=ATOL32)


def test_torch_cnn_is_read_with_every_layer_it_has():
    model = numnet.onnx.load(torch_net_and_export("cnn", dynamic=True)[1])
    # the exporter keeps Dropout out of an inference graph; x.view(x.size(0), -1) arrives as Shape ... Reshape
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "ReLU", "BatchNorm2d", "MaxPool2D", "Conv2D", "Tanh", "AvgPool2D", "Flatten", "Dense", "ReLU", "Dense"]
    assert model.input_shape == (1, 28, 28)


def test_a_loaded_torch_model_fine_tunes(digits):
    images, labels = digits
    model = numnet.onnx.load(torch_net_and_export("cnn", dynamic=True)[1])
    loss = CrossEntropy()
    before = model.evaluate(images[:, None], labels, loss=loss)["loss"]
    history = model.fit(images[:, None], labels, loss=loss, optimizer=Adam(3e-3), epochs=3, batch_size=32, seed=0, verbose=0)
    assert history.history["loss"][-1] < before
    assert model.evaluate(images[:, None], labels, loss=loss)["loss"] < before


# -- the command and the packaging ----------------------------------------------------------------------


def test_cli_export_writes_a_file_onnxruntime_runs(tmp_path, capsys, digits):
    model = randomized(build_cnn(channels=(4, 8), dense=16))
    model.save(tmp_path / "model.safetensors")
    assert main(["export", str(tmp_path / "model.safetensors"), str(tmp_path / "model.onnx")]) == 0
    assert "Wrote" in capsys.readouterr().out
    x = digits[0][:16, None]
    np.testing.assert_allclose(run_onnxruntime(tmp_path / "model.onnx", x), model.predict(x), rtol=0, atol=ATOL32)
    assert main(["export", str(tmp_path / "model.safetensors"), str(tmp_path / "old.onnx"), "--opset", "13"]) == 0
    assert onnx.load(tmp_path / "old.onnx").opset_import[0].version == 13


def test_cli_export_errors_end_with_status_1(tmp_path, capsys, monkeypatch):
    numnet.Sequential([Dense(3, 2)]).save(tmp_path / "model.safetensors")
    assert main(["export", str(tmp_path / "model.safetensors"), str(tmp_path / "m.onnx"), "--opset", "9"]) == 1
    assert "numnet export: error: opset must be an integer in the range [13," in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the onnx extra were not installed
    assert main(["export", str(tmp_path / "model.safetensors"), str(tmp_path / "m.onnx")]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "numnet export: error: ONNX export and import need the onnx package" in error
    assert f"pip install {numnet.onnx.ONNX_REQUIREMENT}" in error
    assert not (tmp_path / "m.onnx").exists()


def test_the_onnx_extra_pins_what_the_message_names():
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert numnet.onnx.ONNX_REQUIREMENT in extras["onnx"]
    assert set(extras["onnx"]) <= set(extras["test"]) or "numnet[onnx]" in extras["test"]
    assert f"onnx=={onnx.__version__}" in extras["onnx"] and f"onnxruntime=={onnxruntime.__version__}" in extras["onnx"]


def test_the_python_examples_of_the_onnx_page_run(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "onnx.md").read_text(), flags=re.DOTALL)
    assert len(blocks) == 2
    for block in blocks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            exec(compile(block, "docs/onnx.md", "exec"), {"__name__": "docs_onnx"})

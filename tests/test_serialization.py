import json
import struct

import numpy as np
import pytest

import numnet
from numnet import ModelFormatError, Sequential, serialization
from numnet.serialization import LAYER_TYPES
from numnet.tensorfile import content_digest
from numnet.layers import (
    GRU, LSTM, RNN, Activation, AvgPool2D, BatchNorm1d, BatchNorm2d, Conv2D, Dense, Dropout, Embedding, Flatten, LayerNorm, LeakyReLU,
    MaxPool2D, MultiHeadSelfAttention, PositionalEmbedding, ReLU, Residual, Sigmoid, Softmax, Tanh,
)


def make_model(dtype=np.float32):
    return Sequential(
        [Flatten(), Dense(12, 8, rng=0, dtype=dtype), BatchNorm1d(8, dtype=dtype), LeakyReLU(0.2), Dropout(0.1), Dense(8, 6, rng=1, dtype=dtype),
         Tanh(), Dense(6, 4, rng=2, dtype=dtype), Sigmoid(), Dense(4, 3, rng=3, dtype=dtype), ReLU(), Softmax()],
        input_shape=(3, 4),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_predicts_bit_for_bit(tmp_path, dtype):
    model = make_model(dtype)
    model.layers[2].buffers["running_var"][...] = np.linspace(0.5, 2, 8)  # buffers travel with the weights
    model.save(tmp_path / "m.safetensors", metadata={"dataset": "test", "classes": [1, 2]})
    loaded = numnet.load(tmp_path / "m.safetensors")
    x = np.random.default_rng(0).normal(size=(9, 3, 4))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.metadata == {"dataset": "test", "classes": [1, 2]}
    assert loaded.input_shape == (3, 4) and repr(loaded) == repr(model)
    assert loaded.dtype == dtype


def test_file_holds_no_pickle_and_plain_json_architecture(tmp_path):
    make_model().save(tmp_path / "m.safetensors")
    data = (tmp_path / "m.safetensors").read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    meta = header["__metadata__"]
    assert meta["format"] == "numnet" and meta["format_version"] == "2"
    assert [layer["type"] for layer in json.loads(meta["architecture"])][:4] == ["Flatten", "Dense", "BatchNorm1d", "LeakyReLU"]
    assert b"\x80\x04\x95" not in data  # no pickle protocol 4 frame anywhere


def test_custom_activation_cannot_be_saved(tmp_path):
    model = Sequential([Dense(2, 2), Activation(np.tanh, lambda x: 1 - np.tanh(x) ** 2)])
    with pytest.raises(ModelFormatError, match="cannot save layer 1"):
        model.save(tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    make_model().save(path)
    good = path.read_bytes()
    import numnet.tensorfile

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(numnet.tensorfile, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        make_model().save(path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def rewrite_header(path, change, sign=True):
    """Rewrite a safetensors file's JSON header with change(header) (the tensors stay as they were);
    with ``sign``, the checksum is recomputed, as a crafted file would have it."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    change(header)
    if sign:
        from safetensors.numpy import load as load_tensors

        meta = header["__metadata__"]
        meta["sha256"] = content_digest(load_tensors(data), meta, meta.get("format_version", "2"))
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data[8 + length :])


def set_meta(key, value):
    return lambda header: header["__metadata__"].__setitem__(key, value)


def set_architecture(edit):
    def change(header):
        architecture = json.loads(header["__metadata__"]["architecture"])
        edit(architecture)
        header["__metadata__"]["architecture"] = json.dumps(architecture)
    return change


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:100]), "not a readable safetensors file"),
    (lambda p: p.write_bytes(b""), "not a readable safetensors file"),
    (lambda p: p.write_bytes(b"\xff" * 64), "not a readable safetensors file"),
    (lambda p: p.write_bytes(p.read_bytes()[:-1] + bytes([p.read_bytes()[-1] ^ 1])), "does not match its SHA-256 checksum"),
    (lambda p: rewrite_header(p, set_architecture(lambda a: a[3]["config"].__setitem__("negative_slope", 0.3)), sign=False),
     "does not match its SHA-256 checksum"),
    (lambda p: rewrite_header(p, set_meta("format", "other")), "not a numnet file \\(its metadata has format=.other.\\)"),
    (lambda p: rewrite_header(p, set_meta("format_version", "99")), "format version .99.; this numnet reads versions 1, 2"),
    (lambda p: rewrite_header(p, set_meta("architecture", "{not json")), "not valid JSON"),
    (lambda p: rewrite_header(p, set_architecture(lambda a: a[3].__setitem__("type", "os.system"))), "layer 3 has unknown type 'os.system'"),
    (lambda p: rewrite_header(p, set_architecture(lambda a: a[3]["config"].__setitem__("negative_slope", -5))), r"layer 3 \(LeakyReLU\) has invalid arguments"),
    (lambda p: rewrite_header(p, set_architecture(lambda a: a[1]["config"].__setitem__("in_features", 13))), r"layer 1 \(Dense\) claims a weight of shape \(8, 13\) but the file holds \(8, 12\)"),
    (lambda p: rewrite_header(p, set_architecture(lambda a: a[1]["config"].__setitem__("in_features", 10**12))),
     r"layer 1 \(Dense\): in_features=1000000000000 is larger than the 268,435,456 a model file may hold"),
    (lambda p: rewrite_header(p, set_architecture(lambda a: a.pop(9))), r"do not match the architecture \(missing: \[\], unexpected: \[.9.bias., .9.weight.\]\)"),
])
def test_damaged_files_raise_model_format_error_naming_the_file(tmp_path, damage, message):
    path = tmp_path / "m.safetensors"
    make_model().save(path)
    damage(path)
    with pytest.raises(ModelFormatError, match=message) as caught:
        numnet.load(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_missing_file():
    with pytest.raises(ModelFormatError, match="no such model file"):
        numnet.load("/nonexistent/model.safetensors")


def test_set_weights_checks_every_tensor_before_it_copies_any():
    model = Sequential([Dense(3, 2, rng=0), ReLU(), Dense(2, 1, rng=1)])
    before = model.get_weights()
    weights = {key: np.full_like(value, 7.0) for key, value in before.items()}
    weights["2.bias"] = np.array([np.nan], dtype=np.float32)  # the last tensor is the bad one
    with pytest.raises(ValueError, match=r"tensor 2.bias contains NaN or infinite values"):
        model.set_weights(weights)
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(value, before[key])  # the layers before it were not overwritten


def rewrite_tensors(path, change, sign=True):
    """Rewrite a model file's tensors with change(tensors) (a dict of arrays); the header stays, and with
    ``sign`` its checksum is recomputed, as a crafted file would have it."""
    from safetensors import safe_open
    from safetensors.numpy import load as load_tensors, save

    with safe_open(str(path), framework="numpy") as file:
        meta = file.metadata()
    tensors = load_tensors(path.read_bytes())
    change(tensors)
    if sign:
        meta["sha256"] = content_digest(tensors, meta, meta.get("format_version", "2"))
    path.write_bytes(save(tensors, metadata=meta))


def sequence_model(dtype=np.float32):
    """Every sequence layer, and Residual blocks two deep."""
    return Sequential([
        Embedding(20, 8, rng=0, dtype=dtype), PositionalEmbedding(6, 8, rng=1, dtype=dtype),
        Residual([LayerNorm(8, dtype=dtype), MultiHeadSelfAttention(8, 2, causal=True, rng=2, dtype=dtype)]),
        Residual([LayerNorm(8, eps=1e-3, dtype=dtype), Dense(8, 16, rng=3, dtype=dtype), ReLU(), Dense(16, 8, rng=4, dtype=dtype),
                  Residual([Dense(8, 8, rng=5, dtype=dtype), Tanh()])]),
        LSTM(8, 5, rng=6, dtype=dtype), GRU(5, 4, return_sequences=True, rng=7, dtype=dtype),
        RNN(4, 3, nonlinearity="relu", return_sequences=False, rng=8, dtype=dtype), Dense(3, 2, rng=9, dtype=dtype),
    ], input_shape=(6,))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequence_layers_round_trip(tmp_path, dtype):
    model = sequence_model(dtype)
    model.save(tmp_path / "m.safetensors", metadata={"class_names": ["no", "yes"]})
    loaded = numnet.load(tmp_path / "m.safetensors")
    tokens = np.random.default_rng(0).integers(0, 20, (5, 6))
    np.testing.assert_array_equal(loaded.predict(tokens), model.predict(tokens))
    assert repr(loaded) == repr(model) and loaded.dtype == dtype
    assert set(loaded.state_dict()) == set(model.state_dict()) and "3.4.0.weight" in loaded.state_dict()


@pytest.mark.parametrize("layer", [
    Embedding(7, 3, rng=0), PositionalEmbedding(5, 3, rng=0), RNN(3, 4, rng=0), RNN(3, 4, nonlinearity="relu", return_sequences=False, rng=0),
    LSTM(3, 4, rng=0), GRU(3, 4, return_sequences=False, rng=0), LayerNorm(4, eps=0.01), MultiHeadSelfAttention(6, 3, rng=0),
    MultiHeadSelfAttention(4, 1, causal=True, rng=0), Residual([Dense(3, 3, rng=0), ReLU()]), Residual([Residual([LayerNorm(3)])]),
], ids=repr)
def test_each_new_layer_round_trips(tmp_path, layer):
    model = Sequential([layer])
    model.save(tmp_path / "m.safetensors")
    loaded = numnet.load(tmp_path / "m.safetensors")
    assert repr(loaded) == repr(model)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], value)


def test_tensor_shapes_tell_the_shapes_of_the_built_layer():
    examples = [make_model(), sequence_model(),
                Sequential([Conv2D(1, 4, (3, 2), padding=1, rng=0), BatchNorm2d(4), MaxPool2D(2), AvgPool2D((1, 2)), Flatten()])]
    seen = set()
    for model in examples:
        for layer in model.layers:
            layers = [layer, *getattr(layer, "layers", [])]
            for inner in layers:
                seen.add(type(inner).__name__)
                shapes = type(inner).tensor_shapes(inner.get_config())
                own = {} if isinstance(inner, Residual) else {key: value.shape for key, value in inner.state_dict().items()}
                assert (shapes or {}) == own, inner
    assert seen == set(LAYER_TYPES)


@pytest.mark.parametrize("config, message", [
    ({"in_features": 0, "out_features": 2}, r"Dense: in_features must be a positive integer. Received: in_features=0"),
    ({"out_features": 2}, r"Dense: in_features must be a positive integer. Received: in_features=None"),
    ({"in_features": 3, "out_features": "2"}, r"Dense: out_features must be a positive integer. Received: out_features='2'"),
])
def test_tensor_shapes_check_like_the_constructor(config, message):
    with pytest.raises(ValueError, match=message):
        Dense.tensor_shapes(config)


def test_custom_activation_inside_a_residual_block_cannot_be_saved(tmp_path):
    model = Sequential([Residual([Dense(2, 2), Activation(np.tanh, lambda x: 1 - np.tanh(x) ** 2)])])
    with pytest.raises(ModelFormatError, match=r"cannot save layer 0\.1, Activation\(tanh\)"):
        model.save(tmp_path / "m.safetensors")


def test_a_folder_is_not_a_model_file(tmp_path):
    with pytest.raises(ModelFormatError, match="not a model file \\(a folder, device or pipe"):
        numnet.load(tmp_path)


def test_negative_running_variance_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    make_model().save(path)
    rewrite_tensors(path, lambda tensors: tensors["2.running_var"].__setitem__(3, -1.0))
    with pytest.raises(ModelFormatError, match=r"BatchNorm1d\(num_features=8, .*\): running_var holds variances, which cannot be negative; it holds -1"):
        numnet.load(path)
    model = make_model()
    weights = model.get_weights()
    weights["2.running_var"][0] = -0.5
    with pytest.raises(ValueError, match="running_var holds variances"):
        model.set_weights(weights)  # the same check guards set_weights
    assert (model.layers[2].buffers["running_var"] >= 0).all()


def test_negative_running_variance_inside_a_residual_block_is_refused():
    model = Sequential([Residual([Dense(3, 3), Residual([BatchNorm1d(3)])])])
    weights = model.get_weights()
    weights["0.1.0.running_var"][1] = -2.0
    with pytest.raises(ValueError, match="running_var holds variances, which cannot be negative; it holds -2"):
        model.set_weights(weights)


def test_layer_count_and_nesting_are_bounded(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    Sequential([Dense(2, 2), ReLU(), Residual([ReLU(), ReLU()])]).save(path)
    monkeypatch.setattr(serialization, "MAX_LAYERS", 4)
    with pytest.raises(ModelFormatError, match="the architecture has more than 4 layers"):
        numnet.load(path)  # 3 layers and 2 inside the block
    monkeypatch.setattr(serialization, "MAX_LAYERS", 5)
    numnet.load(path)


def test_residual_nesting_is_bounded(tmp_path):
    path = tmp_path / "m.safetensors"
    block = Dense(2, 2)
    for _ in range(serialization.MAX_NESTING):
        block = Residual([block])
    Sequential([block]).save(path)
    assert "0.0.0.0.0.0.0.0.0.weight" in numnet.load(path).state_dict()  # 8 blocks deep: the most allowed
    Sequential([Residual([block])]).save(path)
    with pytest.raises(ModelFormatError, match=r"layer 0\.0\.0\.0\.0\.0\.0\.0\.0 \(Residual\) nests Residual blocks more than 8 deep"):
        numnet.load(path)


@pytest.mark.parametrize("names", [["0", "1", "2"], None])
def test_class_names_that_fit_load(tmp_path, names):
    path = tmp_path / "m.safetensors"
    metadata = {} if names is None else {"class_names": names}
    make_model().save(path, metadata=metadata)
    assert numnet.load(path).metadata == metadata


@pytest.mark.parametrize("names, message", [
    (["a"], r"class_names in the metadata has length 1 but the model gives 3 outputs per sample"),
    (5, r"class_names in the metadata must be a non-empty list of strings, got 5"),
    ("abc", r"must be a non-empty list of strings, got 'abc'"),
    ([], r"must be a non-empty list of strings, got \[\]"),
    (["a", 2, "c"], r"must be a non-empty list of strings, got \['a', 2, 'c'\]"),
    ([["a"], "b", "c"], r"must be a non-empty list of strings"),
])
def test_class_names_are_checked(tmp_path, names, message):
    path = tmp_path / "m.safetensors"
    make_model().save(path, metadata={"class_names": names})
    with pytest.raises(ModelFormatError, match=message):
        numnet.load(path)


def test_class_names_of_a_model_whose_outputs_are_unknown_are_checked_for_type_only(tmp_path):
    path = tmp_path / "m.safetensors"
    Sequential([ReLU()]).save(path, metadata={"class_names": ["a", "b"]})
    assert numnet.load(path).metadata["class_names"] == ["a", "b"]


@pytest.mark.parametrize("key, value", [
    ("architecture", json.dumps([{"type": "ReLU", "config": {}}] * 3)),
    ("input_shape", "[3, 5]"),
    ("metadata", json.dumps({"class_names": ["x", "y", "z"]})),
    ("format_version", "1"),
])
def test_the_checksum_covers_every_header_entry(tmp_path, key, value):
    path = tmp_path / "m.safetensors"
    make_model().save(path)
    rewrite_header(path, set_meta(key, value), sign=False)
    with pytest.raises(ModelFormatError, match="does not match its SHA-256 checksum"):
        numnet.load(path)


def test_the_checksum_covers_tensor_names_dtypes_and_values(tmp_path):
    path = tmp_path / "m.safetensors"
    changes = [
        lambda t: t.__setitem__("1.bias", t["1.bias"] + 1),
        lambda t: t.__setitem__("1.bias", t["1.bias"].astype(np.float64)),
        lambda t: t.__setitem__("1.extra", t.pop("1.bias")),
        lambda t: t.__setitem__("1.bias", t["1.bias"].reshape(2, 4)),
    ]
    for change in changes:
        make_model().save(path)
        rewrite_tensors(path, change, sign=False)
        with pytest.raises(ModelFormatError, match="does not match its SHA-256 checksum"):
            numnet.load(path)


def test_metadata_is_saved_only_if_it_can_be_read_back(tmp_path):
    path = tmp_path / "m.safetensors"
    make_model().save(path, metadata={"seed": 2**127, "state": [[[1]]]})
    assert numnet.load(path).metadata == {"seed": 2**127, "state": [[[1]]]}
    deep = []
    for _ in range(100):
        deep = [deep]
    for metadata, message in [({"seed": 10**40}, "has 41 digits, more than the 40 allowed"),
                              ({"deep": deep}, "nests 102 levels deep, more than the 64 allowed")]:
        with pytest.raises(ValueError, match=f"model metadata cannot be saved: .*{message}"):
            make_model().save(tmp_path / "other.safetensors", metadata=metadata)
    assert not (tmp_path / "other.safetensors").exists()

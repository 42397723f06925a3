import json
import struct

import numpy as np
import pytest

import numnet
from numnet import ModelFormatError, Sequential
from numnet.tensorfile import content_digest
from numnet.layers import Activation, BatchNorm1d, Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh


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

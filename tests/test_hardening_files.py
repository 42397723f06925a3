"""Bad model files never escape as anything but one ModelFormatError: a generated corpus of damaged and
crafted files, property-based fuzzing of numnet.load, and each case of the file audit with its outcome,
through the library and through the numnet command."""

import json
import math
import re
import struct
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors.numpy import load as load_tensors, save

import numnet
from numnet import ModelFormatError, Sequential
from numnet.cli import main
from numnet.layers import (
    GRU, BatchNorm1d, Dense, Dropout, Embedding, Flatten, LayerNorm, LeakyReLU, MultiHeadSelfAttention, ReLU, Residual,
)
from numnet.serialization import ARGUMENTS, LAYER_TYPES
from numnet.tensorfile import content_digest

NAN, INF = float("nan"), float("inf")


def dense_model():
    # 0 Flatten, 1 Dense, 2 BatchNorm1d, 3 LeakyReLU, 4 Dropout, 5 Dense
    return Sequential([Flatten(), Dense(12, 8, rng=0), BatchNorm1d(8), LeakyReLU(0.2), Dropout(0.1), Dense(8, 3, rng=1)],
                      input_shape=(3, 4))


def sequence_model():
    # 0 Embedding, 1 Residual([LayerNorm, MultiHeadSelfAttention]), 2 GRU, 3 Dense
    return Sequential([Embedding(10, 4, rng=0), Residual([LayerNorm(4), MultiHeadSelfAttention(4, 2, rng=1)]),
                       GRU(4, 3, return_sequences=False, rng=2), Dense(3, 2, rng=3)], input_shape=(5,))


def file_bytes(model, tmp_path, name, metadata=None):
    path = tmp_path / name
    model.save(path, metadata=metadata)
    return path.read_bytes()


def split(data):
    """(header JSON as a dict, tensors) of a safetensors file's bytes."""
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length]), load_tensors(data)


def signed(meta, tensors):
    """A safetensors file of ``tensors`` and the header entries ``meta``, its checksum recomputed as a
    crafted file would have it, so that the checks behind the checksum are reached."""
    meta = {**meta, "sha256": content_digest(tensors, meta, meta.get("format_version", "2"))}
    return save(tensors, metadata=meta)


def with_meta(data, **entries):
    """The file with header entries replaced (None removes one), signed."""
    header, tensors = split(data)
    meta = {**header["__metadata__"], **entries}
    return signed({k: v for k, v in meta.items() if v is not None}, tensors)


class Replace:
    """What an edit returns to replace the whole architecture."""

    def __init__(self, value):
        self.value = value


def with_architecture(data, edit):
    """The file with its architecture JSON edited in place by edit(list), or replaced by the Replace it returns; signed."""
    header, _ = split(data)
    architecture = json.loads(header["__metadata__"]["architecture"])
    replaced = edit(architecture)
    return with_meta(data, architecture=json.dumps(replaced.value if isinstance(replaced, Replace) else architecture))


def with_tensors(data, edit):
    """The file with its tensors edited by edit(dict), signed."""
    header, tensors = split(data)
    edit(tensors)
    return signed(header["__metadata__"], tensors)


def setter(*keys_and_value):
    """edit(architecture) setting architecture[k1][k2]... = value."""
    *keys, last, value = keys_and_value

    def edit(architecture):
        target = architecture
        for key in keys:
            target = target[key]
        target[last] = value
    return edit


def deleter(*keys):
    def edit(architecture):
        target = architecture
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return edit


def nested_residuals(depth):
    entry = {"type": "ReLU", "config": {}}
    for _ in range(depth):
        entry = {"type": "Residual", "config": {"layers": [entry]}}
    return [entry]


def architecture_edits():
    """(name, edit) for the dense model's architecture: every kind of wrong type, value and structure."""
    edits = []
    for value in (["Dense"], {"Dense": 1}, 5, None, True, "os.system", "Activation", "dense", "", "Dense\x00", "Layer"):
        edits.append((f"type {value!r}", setter(1, "type", value)))
    for value in ([], "x", None, 5):
        edits.append((f"config {value!r}", setter(1, "config", value)))
    edits += [
        ("no config", deleter(1, "config")), ("no type", deleter(1, "type")), ("extra key", setter(1, "extra", 1)),
        ("entry a list", setter(1, [])), ("entry a string", setter(1, "Dense")), ("entry null", setter(1, None)),
    ]
    for key, value in (("dtype", "float16"), ("rng", 0), ("init", "ones"), ("__class__", 1), ("self", 1), ("units", 8)):
        edits.append((f"Dense argument {key}", setter(1, "config", key, value)))
    for value in (0, -1, "12", 12.0, True, None, [12], {"v": 12}, 10**12, 13, 2**28 + 1, 1.5, [[12]]):
        edits.append((f"in_features {value!r}", setter(1, "config", "in_features", value)))
    for value in (NAN, INF, -INF, -0.5, "0.2", None, [0.2], {"a": 1}, True, "x" * 100_000, [0.2] * 100_000):
        edits.append((f"negative_slope {value!r}", setter(3, "config", "negative_slope", value)))
    for key, value in (("eps", 0), ("eps", -1), ("eps", 2), ("eps", NAN), ("momentum", 0), ("momentum", 1.5), ("num_features", 7)):
        edits.append((f"BatchNorm1d {key} {value!r}", setter(2, "config", key, value)))
    for value in (1, -0.1, 1.5, NAN, "half"):
        edits.append((f"Dropout p {value!r}", setter(4, "config", "p", value)))
    edits += [
        ("last layer removed", lambda a: a.pop(5)),
        ("Flatten removed", lambda a: a.pop(0)),
        ("ReLU inserted first", lambda a: a.insert(0, {"type": "ReLU", "config": {}})),
        ("Dense appended", lambda a: a.append({"type": "Dense", "config": {"in_features": 3, "out_features": 2}})),
        ("reversed", lambda a: a.reverse()),
        ("Dense layers swapped", lambda a: a.__setitem__(slice(None), [a[0], a[5], *a[2:5], a[1]])),
        ("an object", lambda a: Replace({"layers": a})), ("a string", lambda a: Replace("Dense")), ("a number", lambda a: Replace(5)),
        ("null", lambda a: Replace(None)),
        ("Residual nested 12 deep", lambda a: Replace(nested_residuals(12))),
        ("Residual nested 9 deep", lambda a: Replace(nested_residuals(9))),
        ("Residual with no layers", lambda a: Replace([{"type": "Residual", "config": {"layers": []}}])),
        ("Residual with layers a string", lambda a: Replace([{"type": "Residual", "config": {"layers": "ReLU"}}])),
        ("Residual with no config", lambda a: Replace([{"type": "Residual", "config": {}}])),
        ("Residual holding an unknown type", lambda a: Replace([{"type": "Residual", "config": {"layers": [{"type": "eval", "config": {}}]}}])),
        ("Residual holding a bad entry", lambda a: Replace([{"type": "Residual", "config": {"layers": [5]}}])),
        ("Residual with an extra argument", lambda a: Replace([{"type": "Residual", "config": {"layers": [], "rng": 1}}])),
    ]
    return edits


def sequence_edits():
    return [
        ("attention heads 3 for dim 4", setter(1, "config", "layers", 1, "config", "heads", 3)),
        ("attention causal 'yes'", setter(1, "config", "layers", 1, "config", "causal", "yes")),
        ("attention dim 8", setter(1, "config", "layers", 1, "config", "dim", 8)),
        ("LayerNorm eps 0", setter(1, "config", "layers", 0, "config", "eps", 0)),
        ("LayerNorm dim 5", setter(1, "config", "layers", 0, "config", "dim", 5)),
        ("LayerNorm dtype", setter(1, "config", "layers", 0, "config", "dtype", "float64")),
        ("Residual layers emptied", setter(1, "config", "layers", [])),
        ("Residual layers swapped", lambda a: a[1]["config"]["layers"].reverse()),
        ("GRU nonlinearity", setter(2, "config", "nonlinearity", "relu")),
        ("GRU return_sequences 'no'", setter(2, "config", "return_sequences", "no")),
        ("GRU hidden_size 4", setter(2, "config", "hidden_size", 4)),
        ("Embedding num_embeddings 11", setter(0, "config", "num_embeddings", 11)),
        ("Embedding dim 0", setter(0, "config", "dim", 0)),
        ("GRU input_size 5", setter(2, "config", "input_size", 5)),
    ]


def raw_texts():
    """(name, header entry, text): JSON text no json.dumps would write."""
    deep = "[" * 100_000 + "]" * 100_000
    return [
        ("architecture not JSON", "architecture", "{not json"), ("architecture empty", "architecture", ""),
        ("architecture 100,000 deep", "architecture", deep), ("architecture 40 deep", "architecture", "[" * 40 + "]" * 40),
        ("architecture with trailing text", "architecture", '[{"type": "ReLU", "config": {}}] x'),
        ("architecture 5,000-digit integer", "architecture", '[{"type": "Dense", "config": {"in_features": ' + "9" * 5000 + ', "out_features": 3}}]'),
        ("architecture 1e999", "architecture", '[{"type": "LeakyReLU", "config": {"negative_slope": 1e999}}]'),
        ("architecture NaN", "architecture", "NaN"),
        ("input_shape [Infinity]", "input_shape", "[Infinity]"), ("input_shape [NaN]", "input_shape", "[NaN]"),
        ("input_shape [0]", "input_shape", "[0]"), ("input_shape [-1]", "input_shape", "[-1]"), ("input_shape [1.5]", "input_shape", "[1.5]"),
        ("input_shape a string", "input_shape", '"abc"'), ("input_shape an object", "input_shape", "{}"), ("input_shape []", "input_shape", "[]"),
        ("input_shape [4, 4]", "input_shape", "[4, 4]"), ("input_shape [2147483648]", "input_shape", "[2147483648]"),
        ("input_shape of rank 40", "input_shape", json.dumps([1] * 40)), ("input_shape too large", "input_shape", "[16384, 16384, 2]"),
        ("input_shape 5,000 digits", "input_shape", "[" + "9" * 5000 + "]"), ("input_shape [true]", "input_shape", "[true]"),
        ("input_shape deep", "input_shape", deep),
        ("metadata a list", "metadata", "[]"), ("metadata a number", "metadata", "5"), ("metadata a string", "metadata", '"x"'),
        ("metadata not JSON", "metadata", "{not json"), ("metadata deep", "metadata", '{"a": ' + deep + "}"),
        ("metadata NaN", "metadata", '{"a": NaN}'),
        ("class_names ['a']", "metadata", '{"class_names": ["a"]}'), ("class_names 5", "metadata", '{"class_names": 5}'),
        ("class_names 'abc'", "metadata", '{"class_names": "abc"}'), ("class_names numbers", "metadata", '{"class_names": [1, 2, 3]}'),
        ("class_names []", "metadata", '{"class_names": []}'), ("class_names null", "metadata", '{"class_names": null}'),
        ("class_names nested", "metadata", '{"class_names": [["a"], ["b"], ["c"]]}'),
        ("format other", "format", "other"), ("format_version 99", "format_version", "99"), ("format_version empty", "format_version", ""),
        ("no architecture", "architecture", None), ("no format", "format", None),
    ]


def tensor_edits():
    def put(name, make):
        return lambda tensors: tensors.__setitem__(name, make(tensors))

    return [
        ("weight NaN", put("1.weight", lambda t: np.full_like(t["1.weight"], NAN))),
        ("weight inf", put("1.weight", lambda t: np.where(np.eye(8, 12, dtype=bool), INF, t["1.weight"]).astype(np.float32))),
        ("bias -inf", put("5.bias", lambda t: np.full_like(t["5.bias"], -INF))),
        ("running_var -1", put("2.running_var", lambda t: np.full_like(t["2.running_var"], -1.0))),
        ("running_mean NaN", put("2.running_mean", lambda t: np.full_like(t["2.running_mean"], NAN))),
        ("weight int32", put("1.weight", lambda t: t["1.weight"].astype(np.int32))),
        ("weight and bias int64", lambda t: t.update({k: t[k].astype(np.int64) for k in ("1.weight", "1.bias")})),
        ("weight float64, bias float32", put("1.weight", lambda t: t["1.weight"].astype(np.float64))),
        ("extra tensor", put("9.weight", lambda t: np.zeros(3, np.float32))),
        ("missing tensor", lambda t: t.pop("5.bias")),
        ("weight transposed", put("1.weight", lambda t: np.ascontiguousarray(t["1.weight"].T))),
        ("weight renamed", lambda t: t.__setitem__("1.Weight", t.pop("1.weight"))),
        ("Dropout given a tensor", put("4.weight", lambda t: np.zeros(3, np.float32))),
        ("no tensors", lambda t: t.clear()),
        ("weight of 10^6 floats", put("1.weight", lambda t: np.zeros((1000, 1000), np.float32))),
    ]


def corpus(tmp_path):
    """(name, bytes) of at least 100 bad model files, generated from two good ones."""
    dense = file_bytes(dense_model(), tmp_path, "dense.safetensors")
    sequence = file_bytes(sequence_model(), tmp_path, "sequence.safetensors")
    (header_length,) = struct.unpack("<Q", dense[:8])
    files = []
    for offset in sorted({*np.linspace(0, len(dense) - 1, 40).astype(int), 1, 7, 8, 9, header_length + 7, header_length + 8, header_length + 9}):
        files.append((f"cut at {offset}", dense[:offset]))
    positions = [*np.linspace(0, header_length + 7, 45).astype(int), *np.linspace(header_length + 8, len(dense) - 1, 20).astype(int)]
    for position in sorted(set(positions)):
        for mask in (0x01, 0x80):
            damaged = bytearray(dense)
            damaged[position] ^= mask
            files.append((f"byte {position} ^ {mask:#x}", bytes(damaged)))
    files += [(f"architecture: {name}", with_architecture(dense, edit)) for name, edit in architecture_edits()]
    files += [(f"sequence architecture: {name}", with_architecture(sequence, edit)) for name, edit in sequence_edits()]
    files += [(f"{name}", with_meta(dense, **{key: text})) for name, key, text in raw_texts()]
    files += [(f"tensors: {name}", with_tensors(dense, edit)) for name, edit in tensor_edits()]
    files += [("empty file", b""), ("8 zero bytes", bytes(8)), ("header length 2^63", struct.pack("<Q", 2**63) + dense[8:]),
              ("header length beyond the file", struct.pack("<Q", len(dense)) + dense[8:]), ("a pickle", b"\x80\x04\x95" + bytes(40))]
    return dense, files


def whitespace_only(original, damaged):
    """Whether ``damaged`` differs from ``original`` only where the JSON header has padding, by other whitespace:
    the same file, as JSON reads it."""
    return all(a == b or (a in b" \t\n\r" and b in b" \t\n\r") for a, b in zip(original, damaged)) and len(original) == len(damaged)


def test_a_corpus_of_bad_model_files_raises_only_model_format_error(tmp_path):
    _, files = corpus(tmp_path)
    outcomes = Counter()
    escaped = []
    for index, (name, data) in enumerate(files):
        path = tmp_path / f"bad-{index}.safetensors"
        path.write_bytes(data)
        try:
            numnet.load(path)
        except ModelFormatError as error:
            outcomes["ModelFormatError"] += 1
            if not str(error).startswith(f"{path}: ") or "\n" in str(error):
                escaped.append((name, f"message does not name the file on one line: {error}"))
        except BaseException as error:  # noqa: B036 - anything else is the failure this test exists for
            outcomes[type(error).__name__] += 1
            escaped.append((name, f"{type(error).__name__}: {str(error)[:200]}"))
        else:
            outcomes["loaded"] += 1
            escaped.append((name, "loaded"))
    assert not escaped, escaped
    assert outcomes["ModelFormatError"] == len(files) >= 100


def test_the_corpus_reaches_the_checks_behind_the_checksum(tmp_path):
    # the signed edits are refused for what they are, not for their checksum
    _, files = corpus(tmp_path)
    reasons = Counter()
    for index, (name, data) in enumerate(files):
        if name.startswith(("cut at", "byte ")):
            continue
        path = tmp_path / f"bad-{index}.safetensors"
        path.write_bytes(data)
        with pytest.raises(ModelFormatError) as caught:
            numnet.load(path)
        reasons["checksum" if "SHA-256" in str(caught.value) else "deeper"] += 1
    assert reasons["checksum"] == 0 and reasons["deeper"] >= 100


# -- property-based fuzzing of numnet.load ----------------------------------------------------------

@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    return {"dense": file_bytes(dense_model(), folder, "dense.safetensors"),
            "sequence": file_bytes(sequence_model(), folder, "sequence.safetensors"), "folder": folder}


def load_or_model_format_error(folder, data):
    """numnet.load on ``data`` written to a file: the model, or None after a ModelFormatError naming the file."""
    path = Path(folder) / "fuzzed.safetensors"
    path.write_bytes(data)
    try:
        return numnet.load(path)
    except ModelFormatError as error:
        assert str(error).startswith(f"{path}: ")
        return None


mutations = st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)), min_size=1, max_size=8)


def check_mutated_bytes(good_files, which, edits, cut):
    original = good_files[which]
    data = bytearray(original)
    for position, mask in edits:
        data[position % len(data)] ^= mask
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    model = load_or_model_format_error(good_files["folder"], bytes(data))
    if model is not None:  # only a change of the header's padding to other whitespace leaves a loadable file
        assert whitespace_only(original, bytes(data))


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=12)
layer_names = st.one_of(st.sampled_from(sorted(LAYER_TYPES)), st.text(max_size=10), json_values)


@st.composite
def layer_entries(draw, depth=0):
    name = draw(layer_names)
    known = sorted(ARGUMENTS.get(name, ())) if isinstance(name, str) else []
    keys = draw(st.lists(st.one_of(st.sampled_from(known or ["units"]), st.text(max_size=6)), max_size=4))
    config = {}
    for key in keys:
        if key == "layers" and depth < 3:
            config[key] = draw(st.lists(layer_entries(depth + 1), max_size=3))
        else:
            config[key] = draw(st.one_of(json_values, st.integers(min_value=-3, max_value=40)))
    entry = {"type": name, "config": config}
    return draw(st.one_of(st.just(entry), json_values)) if draw(st.integers(0, 9)) == 0 else entry


def check_crafted_header(good_files, which, architecture, input_shape, metadata):
    data = good_files[which]
    entries = {}
    if architecture is not None:
        entries["architecture"] = json.dumps(architecture)
    if input_shape is not None:
        entries["input_shape"] = json.dumps(input_shape)
    if metadata is not None:
        entries["metadata"] = json.dumps(metadata)
    model = load_or_model_format_error(good_files["folder"], with_meta(data, **entries))
    assert model is None or isinstance(model, Sequential)


def _settings(examples):
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


mutated_bytes_strategy = dict(which=st.sampled_from(["dense", "sequence"]), edits=mutations, cut=st.one_of(st.none(), st.integers(min_value=0)))
crafted_header_strategy = dict(
    which=st.sampled_from(["dense", "sequence"]),
    architecture=st.one_of(st.none(), st.lists(layer_entries(), max_size=6), json_values),
    input_shape=st.one_of(st.none(), st.lists(st.integers(min_value=-2, max_value=2**40), max_size=4), json_values),
    metadata=st.one_of(st.none(), st.fixed_dictionaries({"class_names": json_values}), json_values),
)

test_fuzz_mutated_bytes = _settings(100)(given(**mutated_bytes_strategy)(check_mutated_bytes))
test_fuzz_crafted_headers = _settings(60)(given(**crafted_header_strategy)(check_crafted_header))
test_fuzz_mutated_bytes_long = pytest.mark.slow(_settings(5_000)(given(**mutated_bytes_strategy)(check_mutated_bytes)))
test_fuzz_crafted_headers_long = pytest.mark.slow(_settings(5_000)(given(**crafted_header_strategy)(check_crafted_header)))


# -- the audit's cases, each with its outcome -------------------------------------------------------

def digit_model_file(tmp_path, metadata=None, edit=None):
    """A model of 28×28 digits into 10 scores, saved (and then edited by ``edit(bytes) -> bytes``)."""
    model = Sequential([Flatten(), Dense(784, 10, rng=0), LeakyReLU(0.1), BatchNorm1d(10)], input_shape=(28, 28))
    path = tmp_path / "digits.safetensors"
    model.save(path, metadata=metadata)
    if edit is not None:
        path.write_bytes(edit(path.read_bytes()))
    return path


def a_digit_picture(tmp_path):
    picture = Image.new("L", (60, 60), 255)
    picture.paste(0, (25, 10, 35, 50))
    picture.save(tmp_path / "one.png")
    return tmp_path / "one.png"


AUDITED = {
    "layer type a JSON list": (lambda d: with_architecture(d, setter(1, "type", ["Dense"])),
                               r"layer 1 has a type that is not a string: list \['Dense'\]"),
    "layer type a JSON object": (lambda d: with_architecture(d, setter(1, "type", {"Dense": 1})),
                                 r"layer 1 has a type that is not a string: dict \{'Dense': 1\}"),
    "input_shape [Infinity]": (lambda d: with_meta(d, input_shape="[Infinity]"),
                               r"input_shape is not valid: Infinity is not a JSON number; only finite numbers are allowed"),
    "100,000-deep JSON": (lambda d: with_meta(d, architecture="[" * 100_000 + "]" * 100_000),
                          r"the architecture is not valid: the JSON nests 100000 levels deep, more than the 32 allowed"),
    "5,000-digit integer": (lambda d: with_meta(d, input_shape="[" + "9" * 5000 + "]"),
                            r"input_shape is not valid: the integer 9{20}\.\.\. has 5000 digits, more than the 15 allowed"),
    "LeakyReLU slope NaN": (lambda d: with_architecture(d, setter(2, "config", "negative_slope", NAN)),
                            r"the architecture is not valid: NaN is not a JSON number"),
    "LeakyReLU slope inf": (lambda d: with_architecture(d, setter(2, "config", "negative_slope", INF)),
                            r"the architecture is not valid: Infinity is not a JSON number"),
    "LeakyReLU slope 1e999": (lambda d: with_meta(d, architecture=split(d)[0]["__metadata__"]["architecture"].replace("0.1", "1e999")),
                              r"the architecture is not valid: the number 1e999 is too large for a float64"),
    "BatchNorm running_var -1": (lambda d: with_tensors(d, lambda t: t["3.running_var"].__setitem__(slice(None), -1)),
                                 r"BatchNorm1d\(num_features=10, .*\): running_var holds variances, which cannot be negative; it holds -1"),
    "class_names ['a']": (lambda d: with_meta(d, metadata='{"class_names": ["a"]}'),
                          r"class_names in the metadata has length 1 but the model gives 10 outputs per sample"),
    "class_names 5": (lambda d: with_meta(d, metadata='{"class_names": 5}'),
                      r"class_names in the metadata must be a non-empty list of strings, got 5"),
}


@pytest.mark.parametrize("case", AUDITED)
def test_audited_model_files_raise_model_format_error(tmp_path, case):
    edit, message = AUDITED[case]
    path = digit_model_file(tmp_path, edit=edit)
    with pytest.raises(ModelFormatError, match=message) as caught:
        numnet.load(path)
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize("command", ["summary", "evaluate", "predict"])
@pytest.mark.parametrize("case", AUDITED)
def test_audited_model_files_give_one_line_and_status_1_in_the_command(tmp_path, capsys, command, case):
    edit, message = AUDITED[case]
    path = digit_model_file(tmp_path, edit=edit)
    argv = [command, str(path)] + ([str(a_digit_picture(tmp_path))] if command == "predict" else [])
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"numnet {command}: error: {path}: ")
    assert re.search(message, err)


def test_the_digit_model_file_itself_predicts(tmp_path, capsys):
    # the control case: unedited, the same file loads and predicts, with the class names it holds
    names = [f"class {i}" for i in range(10)]
    path = digit_model_file(tmp_path, metadata={"class_names": names})
    assert main(["predict", str(path), str(a_digit_picture(tmp_path)), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)[0]
    assert result["prediction"] in names and all(math.isfinite(top["probability"]) for top in result["top"])


def test_30000_relu_layers_load(tmp_path):
    # the audit's 1.2 MB file of 30,000 layers took over 30 s to load, the time growing as the square of the
    # layer count; each layer's shape is now checked once (tests/test_model.py counts the checks)
    path = tmp_path / "deep.safetensors"
    Sequential([Dense(4, 4, rng=0)] + [ReLU() for _ in range(30_000)], input_shape=(4,)).save(path)
    assert len(numnet.load(path).layers) == 30_001



@pytest.mark.parametrize("picture, message", [
    # the audit: a 226 kB PNG of 13,000×13,000 pixels was accepted and needed 2.6 GB
    ("huge.png", r"huge.png: the image has 169,000,000 pixels, more than the 50,000,000 allowed; scale it down"),
    ("tiny.png", r"tiny.png: the image is only 1×1 pixels; a digit needs at least 2×2"),
    ("notes.png", r"notes.png: cannot read the image \(not a PNG, JPEG or other format Pillow reads\)"),
])
def test_numnet_predict_refuses_bad_pictures_in_one_line(tmp_path, capsys, picture, message):
    path = digit_model_file(tmp_path)
    header_only = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 13000, 13000, 8, 0, 0, 0, 0)) + png_chunk(b"IEND", b"")
    (tmp_path / "huge.png").write_bytes(header_only)  # what is refused is the size its header claims
    Image.new("L", (1, 1)).save(tmp_path / "tiny.png")
    (tmp_path / "notes.png").write_text("not a picture")
    assert main(["predict", str(path), str(tmp_path / picture)]) == 1
    out, _ = capsys.readouterr()  # predict answers every image: a bad one gets its own error line
    assert out.count("\n") == 1 and re.search(message.replace(": ", ": error: ", 1), out)
    assert out.startswith(f"{tmp_path / picture}: error: ")


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

"""One contract every layer keeps, checked for all of them.

The layers come from ``numnet.layers.__all__``: a layer exported there without a fixture in LAYERS
makes every test here fail, with a message saying to add it.
"""

import re

import numpy as np
import pytest

import numnet
import numnet.layers
from numnet import ModelFormatError, gradcheck
from numnet.layers import (
    GRU, LSTM, RNN, Activation, AvgPool2D, BatchNorm1d, BatchNorm2d, Conv2D, Dense, Dropout, Flatten, LayerNorm, Layer,
    LeakyReLU, MaxPool2D, MultiHeadSelfAttention, PositionalEmbedding, ReLU, Residual, Sigmoid, Softmax, Tanh,
)

# (factory taking a dtype, per-sample input shape)
LAYERS = {
    "Dense": (lambda dtype: Dense(6, 4, rng=0, dtype=dtype), (6,)),
    "Sigmoid": (lambda dtype: Sigmoid(), (6,)),
    "Tanh": (lambda dtype: Tanh(), (6,)),
    "ReLU": (lambda dtype: ReLU(), (6,)),
    "LeakyReLU": (lambda dtype: LeakyReLU(), (6,)),
    "Softmax": (lambda dtype: Softmax(), (6,)),
    "Activation": (lambda dtype: Activation(np.tanh, lambda x: 1 - np.tanh(x) ** 2), (6,)),
    "Flatten": (lambda dtype: Flatten(), (2, 3)),
    "Dropout": (lambda dtype: Dropout(0.3, rng=0), (6,)),
    "BatchNorm1d": (lambda dtype: BatchNorm1d(6, dtype=dtype), (6,)),
    "Conv2D": (lambda dtype: Conv2D(2, 3, 3, stride=2, padding=1, rng=0, dtype=dtype), (2, 7, 6)),
    "MaxPool2D": (lambda dtype: MaxPool2D(2), (2, 6, 5)),
    "AvgPool2D": (lambda dtype: AvgPool2D(3, stride=1), (2, 5, 5)),
    "BatchNorm2d": (lambda dtype: BatchNorm2d(2, dtype=dtype), (2, 3, 4)),
    "Dense on sequences": (lambda dtype: Dense(6, 4, rng=0, dtype=dtype), (3, 6)),
    "LayerNorm": (lambda dtype: LayerNorm(6, dtype=dtype), (3, 6)),
    "PositionalEmbedding": (lambda dtype: PositionalEmbedding(5, 6, rng=0, dtype=dtype), (3, 6)),
    "RNN": (lambda dtype: RNN(6, 4, rng=0, dtype=dtype), (3, 6)),
    "LSTM": (lambda dtype: LSTM(6, 4, rng=0, dtype=dtype), (3, 6)),
    "GRU": (lambda dtype: GRU(6, 4, return_sequences=False, rng=0, dtype=dtype), (3, 6)),
    "MultiHeadSelfAttention": (lambda dtype: MultiHeadSelfAttention(6, 2, causal=True, rng=0, dtype=dtype), (3, 6)),
    "Residual": (lambda dtype: Residual([LayerNorm(6, dtype=dtype), Dense(6, 6, rng=0, dtype=dtype)]), (3, 6)),
}

# exported but not a layer to put in a network: the base class of them all
NOT_LAYERS = {"Layer"}

# layers the contract's random float inputs cannot drive, and where their contract is tested instead
SEPARATE = {"Embedding": "it takes integer token indices and has no dX: tests/layers/test_embedding.py"}

# layers a model file cannot hold, and why
NOT_SAVEABLE = {"Activation": "it is built from arbitrary Python functions, and model files hold no code"}


def exported_layers():
    """Every Layer class that numnet.layers exports in __all__, by name."""
    names = []
    for name in numnet.layers.__all__:
        value = getattr(numnet.layers, name)
        if isinstance(value, type) and issubclass(value, Layer) and name not in NOT_LAYERS | set(SEPARATE):
            names.append(name)
    return sorted(names)


@pytest.fixture(params=exported_layers() + sorted(key for key in LAYERS if " " in key))
def name(request):
    if request.param not in LAYERS:
        pytest.fail(f"numnet.layers exports {request.param}, which the layer contract does not cover: add a factory and "
                    f"an input shape for it to LAYERS in tests/layers/test_contract.py")
    return request.param


@pytest.fixture
def case(name):
    return LAYERS[name]


def test_every_layer_of_the_contract_is_exported():
    # the other direction: a fixture for a layer that numnet.layers no longer exports is stale
    assert {key.split()[0] for key in LAYERS} <= set(exported_layers())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_and_dtypes(case, dtype):
    make, shape = case
    layer = make(dtype)
    x = np.random.default_rng(0).normal(size=(5, *shape)).astype(dtype)
    y = layer.forward(x)
    assert y.dtype == dtype
    assert y.shape == (5, *layer.output_shape(shape))
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.dtype == dtype
    for key, grad in layer.grads.items():
        assert grad.shape == layer.params[key].shape and grad.dtype == dtype


def test_batch_equals_rows_one_by_one(case):
    make, shape = case
    layer = make(np.float64)
    x = np.random.default_rng(0).normal(size=(4, *shape))
    batch = layer.forward(x)
    rows = np.concatenate([layer.forward(x[i : i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(batch, rows, rtol=1e-12, atol=1e-15)


def test_params_and_grads_have_the_same_keys(case):
    layer = case[0](np.float32)
    assert set(layer.params) == set(layer.grads)


def test_backward_before_forward_fails_clearly(case):
    make, shape = case
    layer = make(np.float32)
    with pytest.raises(RuntimeError, match="backward\\(\\) was called before forward\\(\\)"):
        layer.backward(np.ones((2, *layer.output_shape(shape)), dtype=np.float32))


@pytest.mark.parametrize("training", [True, False])
def test_release_cache_leaves_nothing_to_differentiate(case, training):
    # every layer keeps its backward cache in the one place release_cache() empties: a layer that kept
    # it elsewhere would still run backward here (and would hold its arrays through a whole predict)
    make, shape = case
    layer = make(np.float64)
    y = layer.forward(np.random.default_rng(0).normal(size=(5, *shape)), training=training)
    layer.release_cache()
    with pytest.raises(RuntimeError, match="backward\\(\\) was called before forward\\(\\) \\(or after an inference pass"):
        layer.backward(np.ones(y.shape))
    assert layer.forward(np.ones((2, *shape))).shape == (2, *layer.output_shape(shape))  # usable again


def test_rejects_non_numeric_input(case):
    layer = case[0](np.float32)
    with pytest.raises(TypeError, match="expected an array of numbers"):
        layer.forward(np.array([["a", "b"]]))


@pytest.mark.parametrize("training", [True, False])
def test_backward_rejects_a_gradient_of_another_shape(case, training):
    # one sample's gradient would broadcast over the batch into silently wrong gradients
    make, shape = case
    layer = make(np.float64)
    x = np.random.default_rng(0).normal(size=(5, *shape))
    y = layer.forward(x, training=training)
    for wrong in [(1, *y.shape[1:]), (5, *y.shape[1:-1], y.shape[-1] + 1), y.shape[1:]]:
        with pytest.raises(ValueError, match=r"expected grad_output of shape \(5, .*\), got " + re.escape(str(wrong))):
            layer.backward(np.ones(wrong))
    assert layer.backward(np.ones(y.shape)).shape == x.shape


def with_random_params(layer, rng):
    """The layer with every parameter drawn at random, so that no gradient or file test can pass on the
    initial values (zero biases, BatchNorm's γ = 1 and β = 0)."""
    for param in layer.params.values():
        param[...] = rng.normal(size=param.shape)
    return layer


class DropoutWithOneMask(Layer):
    """Dropout that draws the same mask at every training forward (a new Dropout(p, rng=seed) each call,
    and a seed gives one mask per shape), so finite differences see one fixed function of X.
    Its backward is Dropout's own, with the mask of the last forward."""

    def __init__(self, p, seed):
        super().__init__()
        self.p, self.seed, self.dropout = p, seed, None

    def forward(self, x, training=False):
        self.dropout = Dropout(self.p, rng=self.seed)
        return self.dropout.forward(x, training=training)

    def backward(self, grad_output):
        return self.dropout.backward(grad_output)


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_in_float64(name, case, training):
    make, shape = case
    rng = np.random.default_rng(0)
    layer = with_random_params(make(np.float64), rng)
    x = rng.normal(size=(5, *shape)) * 2 + 0.5
    if name == "Dropout" and training:
        # Dropout draws a new mask at every forward, which finite differences cannot follow: one mask, fixed
        layer = DropoutWithOneMask(layer.p, seed=3)
        y = layer.forward(x, training=True)
        assert 0 < np.mean(y == 0) < 0.6  # the mask does drop units, and gradcheck sees the dropping layer
    if training and layer.buffers:
        before = {key: value.copy() for key, value in layer.buffers.items()}
    result = gradcheck(layer, x, training=training)
    assert set(result.errors) == {"input", *layer.params}
    assert result.max_error < 1e-6, str(result)
    if training and layer.buffers:  # gradcheck works on a copy: the layer's running statistics are untouched
        for key, value in layer.buffers.items():
            np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_and_load_round_trip(name, case, dtype, tmp_path):
    make, shape = case
    rng = np.random.default_rng(0)
    layer = with_random_params(make(dtype), rng)
    model = numnet.Sequential([layer], input_shape=shape)
    x = rng.normal(size=(6, *shape)).astype(dtype) * 2 + 0.5
    model.forward(x, training=True)  # BatchNorm's running statistics move away from their initial 0 and 1
    fresh = make(dtype)
    for key, value in layer.buffers.items():
        assert not np.allclose(value, fresh.buffers[key]), key
    path = tmp_path / "layer.safetensors"
    if name in NOT_SAVEABLE:
        with pytest.raises(ModelFormatError, match="cannot save layer 0"):
            model.save(path)
        assert not path.exists()
        return
    model.save(path)
    loaded = numnet.load(path)
    (twin,) = loaded.layers
    assert type(twin) is type(layer) and twin.get_config() == layer.get_config()
    assert loaded.input_shape == shape
    for group in ("params", "buffers"):
        ours, theirs = getattr(layer, group), getattr(twin, group)
        assert set(theirs) == set(ours), group
        for key, value in ours.items():
            assert theirs[key].dtype == value.dtype, f"{group}[{key!r}]"
            np.testing.assert_array_equal(theirs[key], value, err_msg=f"{group}[{key!r}]")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    if name != "Dropout":  # a loaded Dropout draws masks of its own
        np.testing.assert_array_equal(loaded.forward(x, training=True), model.forward(x, training=True))

"""One contract every layer keeps, checked for all of them."""

import re

import numpy as np
import pytest

from numnet.layers import (
    GRU, LSTM, RNN, Activation, AvgPool2D, BatchNorm1d, BatchNorm2d, Conv2D, Dense, Dropout, Flatten, LayerNorm, LeakyReLU,
    MaxPool2D, MultiHeadSelfAttention, PositionalEmbedding, ReLU, Residual, Sigmoid, Softmax, Tanh,
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
    "GRU last step": (lambda dtype: GRU(6, 4, return_sequences=False, rng=0, dtype=dtype), (3, 6)),
    "MultiHeadSelfAttention": (lambda dtype: MultiHeadSelfAttention(6, 2, causal=True, rng=0, dtype=dtype), (3, 6)),
    "Residual": (lambda dtype: Residual([LayerNorm(6, dtype=dtype), Dense(6, 6, rng=0, dtype=dtype)]), (3, 6)),
}


@pytest.fixture(params=sorted(LAYERS))
def case(request):
    return LAYERS[request.param]


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

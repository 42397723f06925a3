import re
import warnings

import numpy as np
import pytest

from numnet import gradcheck
from numnet.layers import Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh

ACTIVATIONS = [Sigmoid, Tanh, ReLU, lambda: LeakyReLU(0.1), Softmax]


@pytest.mark.parametrize("make", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (32, 10)])
def test_gradcheck(make, shape):
    x = np.random.default_rng(0).normal(size=shape)
    result = gradcheck(make(), x)
    assert result.max_error < 1e-6, str(result)


def test_generic_activation_matches_tanh_layer():
    x = np.random.default_rng(0).normal(size=(5, 3))
    generic = Activation(np.tanh, lambda x: 1 - np.tanh(x) ** 2)
    upstream = np.random.default_rng(1).normal(size=x.shape)
    np.testing.assert_allclose(generic.forward(x), Tanh().forward(x), rtol=1e-15)
    tanh = Tanh()
    tanh.forward(x)
    np.testing.assert_allclose(generic.backward(upstream), tanh.backward(upstream), rtol=1e-12)
    assert gradcheck(generic, x).max_error < 1e-6
    with pytest.raises(TypeError, match="two callables"):
        Activation(np.tanh, None)


def test_hand_worked_values():
    # σ(0) = 0.5 and σ'(0) = 0.25; ReLU passes positives; LeakyReLU scales negatives by the slope;
    # softmax of [0, ln 3] is [1/4, 3/4].
    np.testing.assert_allclose(Sigmoid().forward(np.array([[0.0]])), [[0.5]])
    sigmoid = Sigmoid()
    sigmoid.forward(np.array([[0.0]]))
    np.testing.assert_allclose(sigmoid.backward(np.array([[1.0]])), [[0.25]])
    np.testing.assert_array_equal(ReLU().forward(np.array([[-2.0, 3.0]])), [[0.0, 3.0]])
    np.testing.assert_allclose(LeakyReLU(0.1).forward(np.array([[-2.0, 3.0]])), [[-0.2, 3.0]])
    np.testing.assert_allclose(Softmax().forward(np.array([[0.0, np.log(3.0)]])), [[0.25, 0.75]], rtol=1e-15)


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_extreme_inputs_stay_finite_without_warnings(make):
    x = np.array([[-1000.0, 0.0, 1000.0], [1000.0, 1000.0, -1000.0]])
    layer = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    assert np.isfinite(y).all() and np.isfinite(dx).all()


def test_sigmoid_saturates_exactly():
    y = Sigmoid().forward(np.array([[-1000.0, 1000.0]]))
    np.testing.assert_array_equal(y, [[0.0, 1.0]])


@pytest.mark.parametrize("slope", [-1, float("nan"), float("inf"), "0.1", None, True])
def test_leaky_relu_rejects_a_slope_that_is_not_a_finite_non_negative_number(slope):
    with pytest.raises(ValueError, match=rf"LeakyReLU: negative_slope must be a number in the range \[0, inf\). Received: negative_slope={re.escape(repr(slope))}"):
        LeakyReLU(slope)


TORCH_EQUIVALENTS = {
    "Sigmoid": lambda F, t: F.sigmoid(t),
    "Tanh": lambda F, t: F.tanh(t),
    "ReLU": lambda F, t: F.relu(t),
    "LeakyReLU": lambda F, t: F.leaky_relu(t, 0.1),
    "Softmax": lambda F, t: F.softmax(t, dim=-1),
}


@pytest.mark.parametrize("make", ACTIVATIONS)
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_matches_torch(make, dtype, tol):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(8, 5)) * 3).astype(dtype)
    upstream = rng.normal(size=(8, 5)).astype(dtype)
    layer = make()
    xt = torch.from_numpy(x).requires_grad_()
    yt = TORCH_EQUIVALENTS[type(layer).__name__](F, xt)
    yt.backward(torch.from_numpy(upstream))
    y = layer.forward(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), rtol=tol, atol=tol)


def test_relu_follows_changing_batch_shapes_and_dtypes():
    # forward keeps an array of zeros between batches: a new shape or dtype must not reuse a stale one
    relu, rng = ReLU(), np.random.default_rng(3)
    for shape, dtype in [((4, 3), np.float32), ((2, 3), np.float32), ((2, 3), np.float64), ((2, 1, 3, 3), np.float64)]:
        x = rng.normal(size=shape).astype(dtype)
        y = relu.forward(x)
        assert y.dtype == dtype and y.shape == shape
        np.testing.assert_array_equal(y, np.where(x > 0, x, 0))
        np.testing.assert_array_equal(relu.backward(np.ones_like(x)), (x > 0).astype(dtype))

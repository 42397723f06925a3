import numpy as np
import pytest

from numnet import Sequential, gradcheck
from numnet.layers import Dense, Layer, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from numnet.losses import MSE, BinaryCrossEntropy, CrossEntropy


class IgnoresUpstream(Layer):
    """y = x², with a backward that forgets to multiply by dY."""

    def forward(self, x, training=False):
        self._x = x
        return x * x

    def backward(self, grad_output):
        return 2 * self._x


class WrongWeightGradient(Dense):
    def backward(self, grad_output):
        dx = super().backward(grad_output)
        self.grads["weight"] = self.grads["weight"] * 1.01
        return dx


def test_catches_a_backward_that_ignores_its_upstream_gradient():
    assert gradcheck(IgnoresUpstream(), np.random.default_rng(0).normal(size=(3, 4))).max_error > 0.1


def test_catches_a_one_percent_error_in_a_weight_gradient():
    result = gradcheck(WrongWeightGradient(3, 2, rng=0), np.random.default_rng(0).normal(size=(4, 3)))
    assert result.errors["weight"] > 1e-3 and result.errors["input"] < 1e-6


@pytest.mark.parametrize("batch", [1, 5])
def test_whole_models_with_each_loss(batch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, 4))
    deep = Sequential([Dense(4, 5, rng=1), Tanh(), Dense(5, 5, rng=2), LeakyReLU(), Dense(5, 3, rng=3)])
    assert gradcheck(deep, x, rng.integers(0, 3, batch), loss=CrossEntropy()).max_error < 1e-6
    probs = Sequential([Dense(4, 3, rng=1), ReLU(), Dense(3, 2, rng=2), Sigmoid()])
    assert gradcheck(probs, x, rng.integers(0, 2, (batch, 2)), loss=BinaryCrossEntropy()).max_error < 1e-6
    softmax = Sequential([Dense(4, 3, rng=1), Softmax()])
    assert gradcheck(softmax, x, rng.normal(size=(batch, 3)), loss=MSE()).max_error < 1e-6


def test_works_on_a_float64_copy_and_leaves_the_layer_alone():
    layer = Dense(3, 2, rng=0)
    before = layer.weight.copy()
    result = gradcheck(layer, np.random.default_rng(0).normal(size=(2, 3)))
    assert result.max_error < 1e-6 and set(result.errors) == {"input", "weight", "bias"}
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight, before)
    assert "largest" in str(result)


def test_argument_errors():
    with pytest.raises(ValueError, match="checking a loss needs the targets y"):
        gradcheck(MSE(), np.zeros((2, 2)))
    with pytest.raises(TypeError, match="expects a Layer, a model with .layers, or a Loss"):
        gradcheck("dense", np.zeros((2, 2)))

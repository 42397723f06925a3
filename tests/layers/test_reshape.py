import numpy as np

from numnet import gradcheck
from numnet.layers import Flatten


def test_flatten_round_trip():
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    layer = Flatten()
    y = layer.forward(x)
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y[1], np.arange(12, 24))
    np.testing.assert_array_equal(layer.backward(y), x)  # backward is the inverse reshape
    assert layer.output_shape((28, 28)) == (784,)
    assert gradcheck(Flatten(), np.random.default_rng(0).normal(size=(3, 2, 5))).max_error < 1e-6


def test_flatten_hands_back_the_gradient_in_the_input_layout():
    x = np.random.default_rng(1).normal(size=(4, 3, 2, 5)).transpose(0, 3, 1, 2)  # a view, not row-major
    layer = Flatten()
    y = layer.forward(x)
    np.testing.assert_array_equal(y, x.reshape(4, -1))
    d_x = layer.backward(y * 2)
    np.testing.assert_array_equal(d_x, x * 2)
    assert d_x.strides == x.strides

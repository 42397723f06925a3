import numpy as np
import pytest

from numnet import Sequential, fastmath, gradcheck
from numnet.layers import Conv2D, ReLU

CASES = [  # (in, out, kernel, stride, padding, input shape)
    (1, 2, 3, 1, 0, (2, 1, 5, 5)),
    (3, 4, 3, 1, 1, (2, 3, 6, 7)),
    (2, 3, (3, 2), 2, 1, (3, 2, 7, 6)),
    (2, 2, 5, 3, 2, (1, 2, 9, 8)),
    (4, 1, 1, 1, 0, (2, 4, 3, 3)),
]


@pytest.mark.parametrize("in_c, out_c, kernel, stride, padding, shape", CASES)
def test_gradcheck(in_c, out_c, kernel, stride, padding, shape):
    layer = Conv2D(in_c, out_c, kernel, stride=stride, padding=padding, rng=0)
    result = gradcheck(layer, np.random.default_rng(1).normal(size=shape))
    assert result.max_error < 1e-6, str(result)


def test_products_in_slices_match_one_product(monkeypatch):
    # the three products run over slices of fastmath.COLUMNS_PER_SLICE output positions; a slice of 7
    # makes many slices, the last one partial, of this input's 3·4·5 = 60 positions
    x = np.random.default_rng(4).normal(size=(3, 2, 6, 5))
    upstream = np.random.default_rng(5).normal(size=(3, 4, 4, 5))

    def run():
        layer = Conv2D(2, 4, 3, padding=(0, 1), rng=6, dtype=np.float64)
        return layer.forward(x), layer.backward(upstream), layer.grads["weight"], layer.grads["bias"]

    whole = run()
    monkeypatch.setattr(fastmath, "COLUMNS_PER_SLICE", 7)
    for got, expected in zip(run(), whole):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(Conv2D(2, 3, 3, rng=7), x).max_error < 1e-6


def test_hand_worked_example():
    # a 3×3 image 1..9 and a 2×2 kernel [[1, 0], [0, −1]] (top-left minus bottom-right), bias 1:
    # each output is x[i, j] − x[i+1, j+1] + 1 = −4 + 1 = −3 everywhere
    layer = Conv2D(1, 1, 2, dtype=np.float64)
    layer.weight[...] = [[[[1, 0], [0, -1]]]]
    layer.bias[...] = 1
    y = layer.forward(np.arange(1.0, 10.0).reshape(1, 1, 3, 3))
    np.testing.assert_array_equal(y, np.full((1, 1, 2, 2), -3.0))
    # with dY all ones, each input pixel gets Σ of the kernel entries that touched it
    dx = layer.backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 0], [1, 0, -1], [0, -1, -1]])
    np.testing.assert_array_equal(layer.grads["weight"][0, 0], [[12, 16], [24, 28]])  # sums of the 2×2 sub-grids
    assert layer.grads["bias"][0] == 4


def test_output_shape_formula_and_errors():
    layer = Conv2D(3, 8, 5, stride=2, padding=1)
    assert layer.output_shape((3, 28, 28)) == (8, 13, 13)  # ⌊(28 + 2 − 5) / 2⌋ + 1
    with pytest.raises(ValueError, match=r"Conv2D\(in_channels=3, .*\): expected input of shape \(N, 3, H, W\), got \(2, 1, 28, 28\)"):
        layer.forward(np.zeros((2, 1, 28, 28)))
    with pytest.raises(ValueError, match=r"reshape \(N, H, W\) to \(N, 1, H, W\)"):
        Conv2D(1, 2, 3).forward(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match=r"the kernel \(5, 5\) is larger than the padded input \(4, 4\)"):
        Conv2D(1, 2, 5, padding=1).forward(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="kernel_size must be an integer ≥ 1 or a pair of them. Received: kernel_size=0"):
        Conv2D(1, 2, 0)
    with pytest.raises(ValueError, match="padding must be an integer ≥ 0"):
        Conv2D(1, 2, 3, padding=-1)
    with pytest.raises(ValueError, match=r"layer 1 does not fit: Conv2D\(in_channels=4.*expects inputs of shape \(4, H, W\), but receives \(8, 26, 26\)"):
        Sequential([Conv2D(1, 8, 3), Conv2D(4, 2, 3)], input_shape=(1, 28, 28))


def test_auto_init_switches_to_he_before_relu():
    model = Sequential([Conv2D(16, 64, 3, rng=0), ReLU()])
    assert model.layers[0].init == "he_normal"
    assert model.layers[0].weight.std() == pytest.approx(np.sqrt(2 / (16 * 9)), rel=0.03)


@pytest.mark.parametrize("in_c, out_c, kernel, stride, padding, shape", CASES)
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-11), (np.float32, 1e-4)])
def test_matches_torch_conv2d(in_c, out_c, kernel, stride, padding, shape, dtype, tol):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(2)
    layer = Conv2D(in_c, out_c, kernel, stride=stride, padding=padding, rng=3, dtype=dtype)
    layer.bias[...] = rng.normal(size=out_c)
    x = rng.normal(size=shape).astype(dtype)
    weight = torch.from_numpy(layer.weight.copy()).requires_grad_()
    bias = torch.from_numpy(layer.bias.copy()).requires_grad_()
    xt = torch.from_numpy(x).requires_grad_()
    yt = F.conv2d(xt, weight, bias, stride=stride, padding=padding)
    upstream = rng.normal(size=tuple(yt.shape)).astype(dtype)
    yt.backward(torch.from_numpy(upstream))
    y = layer.forward(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads["weight"], weight.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads["bias"], bias.grad.numpy(), rtol=tol, atol=tol)

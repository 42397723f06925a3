import numpy as np
import pytest

from numnet import gradcheck
from numnet.layers import AvgPool2D, BatchNorm2d, MaxPool2D

CASES = [(2, None, (2, 3, 6, 6)), (3, 2, (2, 2, 7, 7)), (2, 1, (1, 2, 5, 4)), ((3, 2), (2, 1), (2, 1, 7, 5)), (2, None, (1, 1, 5, 5))]


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
@pytest.mark.parametrize("kernel, stride, shape", CASES)
def test_gradcheck(cls, kernel, stride, shape):
    result = gradcheck(cls(kernel, stride), np.random.default_rng(0).normal(size=shape))
    assert result.max_error < 1e-6, str(result)


@pytest.mark.parametrize("shape", [(4, 3, 3, 5), (2, 2, 4, 4)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm2d_gradcheck(shape, training):
    layer = BatchNorm2d(shape[1])
    layer.params["weight"][...] = np.linspace(0.5, 2, shape[1])
    layer.buffers["running_var"][...] = 1.5
    result = gradcheck(layer, np.random.default_rng(0).normal(size=shape) * 2 + 1, training=training)
    assert result.max_error < 1e-6, str(result)


def test_hand_worked_pooling():
    x = np.array([[[[1.0, 2, 5, 0], [3, 4, 1, 1], [0, 0, 2, 2], [9, 0, 2, 2]]]])
    pool = MaxPool2D(2)
    np.testing.assert_array_equal(pool.forward(x), [[[[4, 5], [9, 2]]]])
    dx = pool.backward(np.array([[[[10.0, 20], [30, 40]]]]))
    # each gradient goes to its window's maximum; the tie of 2s in the last window takes the first
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 20, 0], [0, 10, 0, 0], [0, 0, 40, 0], [30, 0, 0, 0]])
    np.testing.assert_array_equal(AvgPool2D(2).forward(x), [[[[2.5, 1.75], [2.25, 2]]]])


def test_max_pool_windows_of_more_positions_than_a_byte_counts():
    # forward records which of the kh·kw offsets won; 16·17 = 272 offsets need more than uint8
    x = np.random.default_rng(3).normal(size=(2, 2, 17, 19))
    x[1, 1, :, :] = 0.5  # all tied: the first offset of each window wins
    pool = MaxPool2D((16, 17), stride=(1, 2))
    y = pool.forward(x)
    upstream = np.arange(1.0, 1 + y.size).reshape(y.shape)
    d_x = pool.backward(upstream)
    expected = np.zeros_like(x)
    for n, c, i, j in np.ndindex(y.shape):
        window = x[n, c, i : i + 16, 2 * j : 2 * j + 17]
        assert y[n, c, i, j] == window.max()
        p, q = np.unravel_index(np.argmax(window), window.shape)  # the first maximum in row-major order
        expected[n, c, i + p, 2 * j + q] += upstream[n, c, i, j]
    np.testing.assert_array_equal(d_x, expected)


def test_errors_and_shapes():
    assert MaxPool2D(2).output_shape((6, 28, 28)) == (6, 14, 14)
    assert AvgPool2D(3, stride=2).output_shape((1, 7, 7)) == (1, 3, 3)
    with pytest.raises(ValueError, match=r"the window \(3, 3\) is larger than the input \(2, 2\)"):
        MaxPool2D(3).forward(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, C, H, W\), got \(2, 8\)"):
        AvgPool2D(2).forward(np.zeros((2, 8)))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3, H, W\), got \(2, 4, 5, 5\)"):
        BatchNorm2d(3).forward(np.zeros((2, 4, 5, 5)))


@pytest.mark.parametrize("kernel, stride, shape", CASES)
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_matches_torch_pooling(kernel, stride, shape, dtype, tol):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(1)
    x = rng.normal(size=shape).astype(dtype)
    for layer, function in ((MaxPool2D(kernel, stride), F.max_pool2d), (AvgPool2D(kernel, stride), F.avg_pool2d)):
        xt = torch.from_numpy(x).requires_grad_()
        yt = function(xt, kernel, stride)
        upstream = rng.normal(size=tuple(yt.shape)).astype(dtype)
        yt.backward(torch.from_numpy(upstream))
        np.testing.assert_allclose(layer.forward(x), yt.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm2d_matches_torch(training):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 5, 6)) * 2 + 1
    upstream = rng.normal(size=x.shape)
    layer = BatchNorm2d(4, dtype=np.float64)
    layer.params["weight"][...] = rng.uniform(0.5, 2, 4)
    running_mean, running_var = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    weight = torch.from_numpy(layer.params["weight"].copy()).requires_grad_()
    bias = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    xt = torch.from_numpy(x).requires_grad_()
    yt = F.batch_norm(xt, running_mean, running_var, weight, bias, training=training)
    yt.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(layer.forward(x, training=training), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(layer.grads["weight"], weight.grad.numpy(), rtol=1e-11)
    np.testing.assert_allclose(layer.buffers["running_var"], running_var.numpy(), rtol=1e-12)

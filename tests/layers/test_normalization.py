import numpy as np
import pytest

from numnet import Sequential, gradcheck
from numnet.layers import BatchNorm1d, Dense, LayerNorm


@pytest.mark.parametrize("shape", [(2, 3), (7, 5), (32, 4)])
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck(shape, training):
    x = np.random.default_rng(0).normal(size=shape) * 3 + 1
    layer = BatchNorm1d(shape[1])
    layer.params["weight"][...] = np.linspace(0.5, 2, shape[1])
    layer.params["bias"][...] = np.linspace(-1, 1, shape[1])
    layer.buffers["running_mean"][...] = 0.3
    layer.buffers["running_var"][...] = 2.0
    result = gradcheck(layer, x, training=training)
    assert result.max_error < 1e-6, str(result)


def test_hand_worked_training_forward_and_running_statistics():
    # one feature, batch [1, 3]: μ = 2, σ² = 1 (biased), X̂ = ±1/√(1 + ε);
    # running_mean = 0.9·0 + 0.1·2 = 0.2, running_var = 0.9·1 + 0.1·(1·2/1) = 1.1
    layer = BatchNorm1d(1, eps=1e-5, dtype=np.float64)
    y = layer.forward(np.array([[1.0], [3.0]]), training=True)
    np.testing.assert_allclose(y[:, 0], [-1 / np.sqrt(1 + 1e-5), 1 / np.sqrt(1 + 1e-5)], rtol=1e-14)
    np.testing.assert_allclose(layer.buffers["running_mean"], [0.2], rtol=1e-14)
    np.testing.assert_allclose(layer.buffers["running_var"], [1.1], rtol=1e-14)


def test_training_needs_two_samples_and_the_right_width():
    with pytest.raises(ValueError, match="at least 2 values per feature"):
        BatchNorm1d(3).forward(np.ones((1, 3)), training=True)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3\), got \(4, 2\)"):
        BatchNorm1d(3).forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"momentum must be a number in the range \(0, 1\]"):
        BatchNorm1d(3, momentum=0)


def test_train_and_eval_modes_of_a_model():
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32) * 5
    model = Sequential([Dense(4, 4, rng=0), BatchNorm1d(4)])
    inference = model.forward(x)
    np.testing.assert_array_equal(model.layers[1].buffers["running_mean"], 0)  # eval mode touches nothing
    training = model.train().forward(x)
    np.testing.assert_allclose(training.mean(axis=0), 0, atol=1e-5)  # batch statistics
    assert not np.allclose(training, inference)
    np.testing.assert_array_equal(model.eval().forward(x), model.predict(x))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_matches_torch(training, dtype, tol):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(9, 5)) * 2 + 1).astype(dtype)
    upstream = rng.normal(size=(9, 5)).astype(dtype)
    layer = BatchNorm1d(5, momentum=0.2, dtype=dtype)
    layer.params["weight"][...] = rng.uniform(0.5, 2, 5)
    layer.params["bias"][...] = rng.normal(size=5)
    layer.buffers["running_mean"][...] = rng.normal(size=5)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, 5)
    running_mean = torch.from_numpy(layer.buffers["running_mean"].copy())
    running_var = torch.from_numpy(layer.buffers["running_var"].copy())
    weight = torch.from_numpy(layer.params["weight"].copy()).requires_grad_()
    bias = torch.from_numpy(layer.params["bias"].copy()).requires_grad_()
    xt = torch.from_numpy(x).requires_grad_()
    yt = F.batch_norm(xt, running_mean, running_var, weight, bias, training=training, momentum=0.2, eps=1e-5)
    yt.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(layer.forward(x, training=training), yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads["weight"], weight.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads["bias"], bias.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.buffers["running_mean"], running_mean.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.buffers["running_var"], running_var.numpy(), rtol=tol, atol=tol)


LAYER_NORM_SHAPES = [(1, 1, 4), (2, 3), (3, 5, 6), (2, 1, 3, 5)]


@pytest.mark.parametrize("shape", LAYER_NORM_SHAPES)
def test_layer_norm_gradcheck(shape):
    rng = np.random.default_rng(0)
    layer = LayerNorm(shape[-1])
    layer.params["weight"][...] = rng.uniform(0.5, 2, shape[-1])
    layer.params["bias"][...] = rng.normal(size=shape[-1])
    result = gradcheck(layer, rng.normal(size=shape) * 3 + 1)
    assert result.max_error < 1e-6, str(result)


def test_layer_norm_hand_worked():
    # one row [1, 3]: μ = 2, σ² = 1, x̂ = ±1/√(1 + ε); with γ = [2, 1], β = [0, 5]: y = [−2/√(1 + ε), 5 + 1/√(1 + ε)].
    # dY = [1, 0]: dγ = [x̂₁, 0], dβ = [1, 0], dx̂ = [2, 0]; with D = 2, Σ dx̂ = 2, Σ dx̂ ⊙ x̂ = −2/√(1 + ε):
    # dx = (2·[2, 0] − 2 − x̂ ⊙ (−2/√(1 + ε))) / (2 √(1 + ε)) = ([2, −2] − 2/(1 + ε)·[1, −1]) / (2 √(1 + ε))
    s = np.sqrt(1 + 1e-5)
    layer = LayerNorm(2, dtype=np.float64)
    layer.params["weight"][...] = [2, 1]
    layer.params["bias"][...] = [0, 5]
    np.testing.assert_allclose(layer.forward(np.array([[1.0, 3.0]])), [[-2 / s, 5 + 1 / s]], rtol=1e-14)
    dx = layer.backward(np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(dx, [[(2 - 2 / s**2) / (2 * s), (-2 + 2 / s**2) / (2 * s)]], rtol=1e-9)
    np.testing.assert_allclose(layer.grads["weight"], [-1 / s, 0], rtol=1e-14)
    np.testing.assert_allclose(layer.grads["bias"], [1, 0], rtol=1e-14)


@pytest.mark.parametrize("shape", LAYER_NORM_SHAPES)
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_layer_norm_matches_torch(shape, dtype, tol):
    # float32: the layer and torch sum the last axis in different orders; their rounding differs by a few ulps
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    dim = shape[-1]
    reference = torch.nn.LayerNorm(dim, dtype=getattr(torch, np.dtype(dtype).name))
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(rng.uniform(0.5, 2, dim)))
        reference.bias.copy_(torch.from_numpy(rng.normal(size=dim)))
    layer = LayerNorm(dim, dtype=dtype)
    for name, tensor in reference.named_parameters():
        layer.params[name][...] = tensor.detach().numpy()
    x = (rng.normal(size=shape) * 2 + 1).astype(dtype)
    upstream = rng.normal(size=shape).astype(dtype)
    xt = torch.from_numpy(x).requires_grad_()
    yt = reference(xt)
    yt.backward(torch.from_numpy(upstream))
    y = layer.forward(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), rtol=tol, atol=tol)
    for name, tensor in reference.named_parameters():
        np.testing.assert_allclose(layer.grads[name], tensor.grad.numpy(), rtol=tol, atol=tol)


def test_layer_norm_errors_and_config():
    with pytest.raises(ValueError, match="LayerNorm: dim must be a positive integer. Received: dim=0"):
        LayerNorm(0)
    with pytest.raises(ValueError, match=r"LayerNorm: eps must be a number in the range \(0, 1\]. Received: eps=-1"):
        LayerNorm(3, eps=-1)
    with pytest.raises(TypeError, match="LayerNorm: dtype must be a NumPy float type"):
        LayerNorm(3, dtype=int)
    layer = LayerNorm(3)
    with pytest.raises(ValueError, match=r"LayerNorm\(dim=3, eps=1e-05\): expected input of shape \(N, ..., 3\), got \(2, 4\)"):
        layer.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"expects 3 features on the last axis, but receives shape \(5, 4\)"):
        layer.output_shape((5, 4))
    assert layer.output_shape((None, 3)) == (None, 3)
    assert layer.get_config() == {"dim": 3, "eps": 1e-5}
    assert layer.params["weight"].dtype == np.float32 and set(layer.params) == {"weight", "bias"}

import numpy as np
import pytest

from numnet import gradcheck
from numnet.layers import Dense


def test_hand_worked_forward_and_backward():
    # W = [[1, 2], [3, 4]], b = [0.5, -1], x = [1, -1]:
    #   y = W x + b = [1 - 2 + 0.5, 3 - 4 - 1] = [-0.5, -2]
    # with dY = [1, 2]: dX = dY W = [1 + 6, 2 + 8] = [7, 10], dW = dYᵀ x = [[1, -1], [2, -2]], db = dY
    layer = Dense(2, 2, dtype=np.float64)
    layer.weight[...] = [[1, 2], [3, 4]]
    layer.bias[...] = [0.5, -1]
    y = layer.forward(np.array([[1.0, -1.0]]))
    np.testing.assert_allclose(y, [[-0.5, -2.0]], rtol=1e-15)
    dx = layer.backward(np.array([[1.0, 2.0]]))
    np.testing.assert_allclose(dx, [[7.0, 10.0]], rtol=1e-15)
    np.testing.assert_allclose(layer.grads["weight"], [[1, -1], [2, -2]], rtol=1e-15)
    np.testing.assert_allclose(layer.grads["bias"], [1, 2], rtol=1e-15)


def test_params_are_the_weight_and_bias_arrays():
    layer = Dense(3, 2, rng=0)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert layer.params["weight"] is layer.weight and layer.params["bias"] is layer.bias
    layer.weight[...] = 0
    layer.bias[...] = 7
    np.testing.assert_array_equal(layer.forward(np.ones((4, 3), dtype=np.float32)), np.full((4, 2), 7))


@pytest.mark.parametrize("batch, n_in, n_out", [(1, 1, 1), (3, 5, 4), (16, 7, 2)])
def test_gradcheck(batch, n_in, n_out):
    x = np.random.default_rng(0).normal(size=(batch, n_in))
    result = gradcheck(Dense(n_in, n_out, rng=1), x)
    assert result.max_error < 1e-6, str(result)


def test_same_seed_same_weights_and_generator_accepted():
    np.testing.assert_array_equal(Dense(5, 3, rng=42).weight, Dense(5, 3, rng=42).weight)
    assert not np.array_equal(Dense(5, 3, rng=1).weight, Dense(5, 3, rng=2).weight)
    Dense(5, 3, rng=np.random.default_rng(0))


def test_dtype_float32_by_default_and_float64_honoured():
    layer = Dense(3, 2, rng=0)
    assert layer.weight.dtype == np.float32
    assert layer.forward(np.ones((2, 3), dtype=np.float32)).dtype == np.float32
    layer64 = Dense(3, 2, rng=0, dtype=np.float64)
    assert layer64.forward(np.ones((2, 3))).dtype == np.float64
    assert layer64.backward(np.ones((2, 2))).dtype == np.float64
    assert layer.forward(np.ones((2, 3), dtype=np.float64)).dtype == np.float64  # float64 input stays float64


def test_wrong_feature_count_names_layer_and_shapes():
    layer = Dense(784, 10, rng=0)
    with pytest.raises(ValueError, match=r"Dense\(in_features=784, out_features=10\): expected input of shape \(N, 784\), got \(32, 100\)"):
        layer.forward(np.zeros((32, 100)))
    with pytest.raises(ValueError, match=r"expected .*\(N, 784\), got \(32, 28, 28\); add a Flatten layer"):
        layer.forward(np.zeros((32, 28, 28)))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="in_features must be a positive integer. Received: in_features=0"):
        Dense(0, 3)
    with pytest.raises(ValueError, match="out_features must be a positive integer. Received: out_features=2.5"):
        Dense(3, 2.5)
    with pytest.raises(TypeError, match="dtype must be a NumPy float type"):
        Dense(3, 2, dtype=np.int32)
    with pytest.raises(ValueError, match="unknown initializer 'nope'"):
        Dense(3, 2, init="nope")
    with pytest.raises(TypeError, match="rng must be a seed"):
        Dense(3, 2, rng="seed")


def test_backward_overwrites_gradients():
    layer = Dense(2, 2, rng=0, dtype=np.float64)
    x = np.ones((1, 2))
    layer.forward(x)
    layer.backward(np.ones((1, 2)))
    first = layer.grads["weight"].copy()
    np.testing.assert_array_equal(first, np.ones((2, 2)))  # dW = dYᵀ X = [1, 1]ᵀ [1, 1]
    layer.forward(x)
    layer.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(layer.grads["weight"], first)  # the same again, not 2


def test_matches_torch_linear():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        layer = Dense(7, 5, rng=1, dtype=dtype)
        x = rng.normal(size=(6, 7)).astype(dtype)
        upstream = rng.normal(size=(6, 5)).astype(dtype)
        linear = torch.nn.Linear(7, 5, dtype=getattr(torch, np.dtype(dtype).name))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.weight))
            linear.bias.copy_(torch.from_numpy(layer.bias))
        xt = torch.from_numpy(x).requires_grad_()
        yt = linear(xt)
        yt.backward(torch.from_numpy(upstream))
        np.testing.assert_allclose(layer.forward(x), yt.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.grads["weight"], linear.weight.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.grads["bias"], linear.bias.grad.numpy(), rtol=tol, atol=tol)


def test_auto_init_follows_the_next_activation_in_a_sequential():
    from numnet import Sequential
    from numnet.layers import ReLU, Tanh

    relu_net = Sequential([Dense(500, 400, rng=0), ReLU()])
    tanh_net = Sequential([Dense(500, 400, rng=0), Tanh()])
    assert relu_net.layers[0].init == "he_normal" and tanh_net.layers[0].init == "glorot_uniform"
    assert relu_net.layers[0].weight.std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    assert tanh_net.layers[0].weight.std() == pytest.approx(np.sqrt(2 / 900), rel=0.02)
    np.testing.assert_array_equal(Sequential([Dense(5, 4, rng=3), ReLU()]).layers[0].weight,
                                  Sequential([Dense(5, 4, rng=3), ReLU()]).layers[0].weight)
    # weights set by hand, or an explicit init, are never replaced
    dense = Dense(2, 2, rng=0)
    dense.weight[...] = 1
    Sequential([dense, ReLU()])
    np.testing.assert_array_equal(dense.weight, np.ones((2, 2)))
    assert Sequential([Dense(5, 4, rng=0, init="glorot_normal"), ReLU()]).layers[0].init == "glorot_normal"


def test_constant_initializer():
    from numnet.initializers import constant

    layer = Dense(3, 2, init=constant(1.0))
    np.testing.assert_array_equal(layer.weight, np.ones((2, 3)))


@pytest.mark.parametrize("shape", [(1, 1, 5), (3, 4, 5), (2, 3, 2, 5)])
def test_sequences_map_over_the_last_axis(shape):
    # Y = X Wᵀ + b at every leading index; dW and db sum over all of them
    rng = np.random.default_rng(0)
    layer = Dense(5, 3, rng=1, dtype=np.float64)
    x = rng.normal(size=shape)
    upstream = rng.normal(size=(*shape[:-1], 3))
    y = layer.forward(x)
    assert y.shape == (*shape[:-1], 3)
    np.testing.assert_allclose(y, x @ layer.weight.T + layer.bias, rtol=1e-13, atol=1e-14)
    dx = layer.backward(upstream)
    np.testing.assert_allclose(dx, upstream @ layer.weight, rtol=1e-13, atol=1e-14)
    rows, grad_rows = x.reshape(-1, 5), upstream.reshape(-1, 3)
    np.testing.assert_allclose(layer.grads["weight"], grad_rows.T @ rows, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(layer.grads["bias"], grad_rows.sum(axis=0), rtol=1e-13, atol=1e-14)
    assert gradcheck(layer, x).max_error < 1e-6
    # a 2-D batch afterwards takes the 2-D path again
    layer.forward(x.reshape(-1, 5))
    assert layer.backward(grad_rows).shape == (len(rows), 5)


def test_sequences_match_torch_linear():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        layer = Dense(7, 5, rng=1, dtype=dtype)
        x = rng.normal(size=(4, 6, 7)).astype(dtype)
        upstream = rng.normal(size=(4, 6, 5)).astype(dtype)
        linear = torch.nn.Linear(7, 5, dtype=getattr(torch, np.dtype(dtype).name))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.weight))
            linear.bias.copy_(torch.from_numpy(layer.bias))
        xt = torch.from_numpy(x).requires_grad_()
        yt = linear(xt)
        yt.backward(torch.from_numpy(upstream))
        y = layer.forward(x)
        assert y.dtype == dtype
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.grads["weight"], linear.weight.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.grads["bias"], linear.bias.grad.numpy(), rtol=tol, atol=tol)


def test_sequence_shapes_and_errors():
    layer = Dense(4, 2, rng=0)
    assert layer.output_shape((7, 4)) == (7, 2)
    assert layer.output_shape((None, 4)) == (None, 2)
    with pytest.raises(ValueError, match=r"expects 4 features per sample, but the layer before it outputs shape \(7, 3\); add a Flatten layer"):
        layer.output_shape((7, 3))
    layer.forward(np.ones((2, 3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"expected grad_output of shape \(2, 3, 2\), got \(2, 2\)"):
        layer.backward(np.ones((2, 2), dtype=np.float32))

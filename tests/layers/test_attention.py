import math

import numpy as np
import pytest

from numnet import gradcheck
from numnet.layers import MultiHeadSelfAttention

# (N, T, dim, heads)
SHAPES = [(1, 1, 4, 1), (2, 5, 8, 2), (3, 7, 12, 3), (2, 6, 8, 8)]


def torch_attention(torch, dim, heads, dtype, rng):
    """torch.nn.MultiheadAttention with its own initial weights and random biases (torch starts them at 0)."""
    reference = torch.nn.MultiheadAttention(dim, heads, batch_first=True, dtype=getattr(torch, np.dtype(dtype).name))
    with torch.no_grad():
        reference.in_proj_bias.copy_(torch.from_numpy(rng.normal(size=3 * dim) * 0.5))
        reference.out_proj.bias.copy_(torch.from_numpy(rng.normal(size=dim) * 0.5))
    return reference


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_torch(shape, causal, dtype):
    # float64 to 1e-10; float32 to 2e-5: products, softmax and its backward rounded in different orders (1.2e-6 measured)
    torch = pytest.importorskip("torch")
    n, steps, dim, heads = shape
    tol = 1e-10 if dtype == np.float64 else 2e-5
    rng = np.random.default_rng(0)
    reference = torch_attention(torch, dim, heads, dtype, rng)
    layer = MultiHeadSelfAttention(dim, heads, causal=causal, rng=1, dtype=dtype)
    for name, tensor in reference.named_parameters():  # by name: out_proj.weight -> out_proj_weight
        layer.params[name.replace(".", "_")][...] = tensor.detach().numpy()
    x = rng.normal(size=(n, steps, dim)).astype(dtype)
    upstream = rng.normal(size=(n, steps, dim)).astype(dtype)
    xt = torch.from_numpy(x).requires_grad_()
    mask = torch.triu(torch.ones(steps, steps, dtype=torch.bool), diagonal=1) if causal else None  # True: hidden
    yt, _ = reference(xt, xt, xt, attn_mask=mask, need_weights=False)
    yt.backward(torch.from_numpy(upstream))
    y = layer.forward(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    dx = layer.backward(upstream)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)
    for name, tensor in reference.named_parameters():
        np.testing.assert_allclose(layer.grads[name.replace(".", "_")], tensor.grad.numpy(), rtol=tol, atol=tol)


def test_parameters_are_named_and_shaped_as_torch():
    torch = pytest.importorskip("torch")
    reference = torch.nn.MultiheadAttention(12, 3, batch_first=True)
    layer = MultiHeadSelfAttention(12, 3, rng=0)
    assert {key: tuple(value.shape) for key, value in layer.params.items()} == {
        name.replace(".", "_"): tuple(tensor.shape) for name, tensor in reference.named_parameters()
    }


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("causal", [False, True])
def test_gradcheck(shape, causal):
    n, steps, dim, heads = shape
    rng = np.random.default_rng(0)
    layer = MultiHeadSelfAttention(dim, heads, causal=causal, rng=1)
    layer.params["in_proj_bias"][...] = rng.normal(size=3 * dim) * 0.5
    layer.params["out_proj_bias"][...] = rng.normal(size=dim) * 0.5
    result = gradcheck(layer, rng.normal(size=(n, steps, dim)))
    assert result.max_error < 1e-6, str(result)


def test_hand_worked():
    # dim 1, one head, every weight 1 and bias 0: Q = K = V = X and Y = O. X = [0, 1] (one sequence):
    #   S = Q Kᵀ / √1 = [[0, 0], [0, 1]]
    #   without mask: A = [[1/2, 1/2], [1/(1 + e), e/(1 + e)]],  Y = A V = [1/2, e/(1 + e)]
    #   causal: position 0 sees only itself, A₀ = [1, 0], Y₀ = 0; position 1 as before
    x = np.array([[[0.0], [1.0]]])
    e = math.e
    for causal, expected in ((False, [0.5, e / (1 + e)]), (True, [0.0, e / (1 + e)])):
        layer = MultiHeadSelfAttention(1, 1, causal=causal, dtype=np.float64)
        for key in ("in_proj_weight", "out_proj_weight"):
            layer.params[key][...] = 1
        np.testing.assert_allclose(layer.forward(x)[0, :, 0], expected, rtol=1e-15)


def test_causal_outputs_ignore_later_positions():
    rng = np.random.default_rng(0)
    layer = MultiHeadSelfAttention(8, 2, causal=True, rng=1, dtype=np.float64)
    x = rng.normal(size=(2, 6, 8))
    changed = x.copy()
    changed[:, 4:] = rng.normal(size=(2, 2, 8))
    np.testing.assert_array_equal(layer.forward(x)[:, :4], layer.forward(changed)[:, :4])
    assert not np.allclose(MultiHeadSelfAttention(8, 2, rng=1).forward(x)[:, :4], MultiHeadSelfAttention(8, 2, rng=1).forward(changed)[:, :4])


def test_backward_overwrites_gradients():
    rng = np.random.default_rng(0)
    layer = MultiHeadSelfAttention(4, 2, causal=True, rng=1, dtype=np.float64)
    x, upstream = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    layer.forward(x)
    layer.backward(upstream)
    first = {key: grad.copy() for key, grad in layer.grads.items()}
    layer.forward(x)
    layer.backward(upstream)
    for key, grad in layer.grads.items():
        np.testing.assert_array_equal(grad, first[key])


def test_init_dtype_and_config():
    layer = MultiHeadSelfAttention(64, 4, rng=0)
    assert all(value.dtype == np.float32 for value in layer.params.values())
    assert np.abs(layer.params["in_proj_weight"]).max() <= math.sqrt(6 / (64 + 192))  # Glorot, fans 64 and 3·64
    assert np.abs(layer.params["out_proj_weight"]).max() <= 1 / 8  # U(−1/√dim, 1/√dim)
    assert not layer.params["in_proj_bias"].any() and not layer.params["out_proj_bias"].any()
    assert layer.get_config() == {"dim": 64, "heads": 4, "causal": False}
    assert layer.output_shape((None, 64)) == (None, 64)


def test_errors():
    with pytest.raises(ValueError, match="MultiHeadSelfAttention: dim must be divisible by heads. Received: dim=10, heads=3"):
        MultiHeadSelfAttention(10, 3)
    with pytest.raises(ValueError, match="MultiHeadSelfAttention: heads must be a positive integer. Received: heads=0"):
        MultiHeadSelfAttention(8, 0)
    with pytest.raises(TypeError, match="MultiHeadSelfAttention: causal must be True or False. Received: causal='yes'"):
        MultiHeadSelfAttention(8, 2, causal="yes")
    layer = MultiHeadSelfAttention(8, 2, rng=0)
    name = r"MultiHeadSelfAttention\(dim=8, heads=2, causal=False\)"
    with pytest.raises(ValueError, match=name + r": expected input of shape \(N, T, 8\), got \(4, 8\)"):
        layer.forward(np.zeros((4, 8)))
    with pytest.raises(ValueError, match=r"expected at least one sequence of at least one position, got shape \(4, 0, 8\)"):
        layer.forward(np.zeros((4, 0, 8)))
    with pytest.raises(RuntimeError, match=r"backward\(\) was called before forward\(\)"):
        layer.backward(np.zeros((4, 3, 8)))
    layer.forward(np.zeros((4, 3, 8)))
    with pytest.raises(ValueError, match=r"expected grad_output of shape \(4, 3, 8\), got \(4, 8\)"):
        layer.backward(np.zeros((4, 8)))
    with pytest.raises(ValueError, match=r"expects sequences of shape \(T, 8\) per sample, but receives shape \(3, 6\)"):
        layer.output_shape((3, 6))

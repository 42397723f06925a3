import numpy as np
import pytest

from numnet import Sequential, gradcheck
from numnet.functional import softmax
from numnet.layers import (
    BatchNorm1d, Dense, Embedding, LayerNorm, MultiHeadSelfAttention, PositionalEmbedding, ReLU, Residual, Tanh,
)
from numnet.optimizers import SGD, Adam


def attention_block(dim, heads, causal, dtype=np.float32):
    return Residual([LayerNorm(dim, dtype=dtype), MultiHeadSelfAttention(dim, heads, causal=causal, rng=1, dtype=dtype)])


def feed_forward_block(dim, dtype=np.float32):
    return Residual([LayerNorm(dim, dtype=dtype), Dense(dim, 4 * dim, rng=2, dtype=dtype), ReLU(), Dense(4 * dim, dim, rng=3, dtype=dtype)])


def torch_blocks(torch, dim, heads, dtype, rng):
    """The same two blocks in torch, as ModuleLists whose parameter names match numnet's flattened ones."""
    torch_dtype = getattr(torch, np.dtype(dtype).name)
    attention = torch.nn.ModuleList([torch.nn.LayerNorm(dim, dtype=torch_dtype), torch.nn.MultiheadAttention(dim, heads, batch_first=True, dtype=torch_dtype)])
    feed_forward = torch.nn.ModuleList([torch.nn.LayerNorm(dim, dtype=torch_dtype), torch.nn.Linear(dim, 4 * dim, dtype=torch_dtype),
                                        torch.nn.ReLU(), torch.nn.Linear(4 * dim, dim, dtype=torch_dtype)])
    with torch.no_grad():  # move LayerNorm and the biases away from their trivial initial values
        for block in (attention, feed_forward):
            for name, tensor in block.named_parameters():
                if name.endswith("bias") or name.startswith("0."):
                    tensor.add_(torch.from_numpy(rng.normal(size=tuple(tensor.shape)) * 0.3))
    return attention, feed_forward


def numnet_name(torch_name):
    return torch_name.replace("out_proj.", "out_proj_")  # "1.out_proj.weight" -> "1.out_proj_weight"


@pytest.mark.parametrize("shape", [(1, 1, 8), (2, 5, 8), (3, 4, 8)])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_transformer_blocks_match_torch(shape, causal, dtype):
    # float64 to 1e-10; float32 to 2e-5: two blocks of LayerNorm, attention and products rounded in different orders (2e-6 measured)
    torch = pytest.importorskip("torch")
    n, steps, dim = shape
    tol = 1e-10 if dtype == np.float64 else 2e-5
    rng = np.random.default_rng(0)
    torch_attention, torch_feed_forward = torch_blocks(torch, dim, 2, dtype, rng)
    attention, feed_forward = attention_block(dim, 2, causal, dtype), feed_forward_block(dim, dtype)
    for block, reference in ((attention, torch_attention), (feed_forward, torch_feed_forward)):
        for name, tensor in reference.named_parameters():
            block.params[numnet_name(name)][...] = tensor.detach().numpy()
    x = rng.normal(size=shape).astype(dtype)
    upstream = rng.normal(size=shape).astype(dtype)
    xt = torch.from_numpy(x).requires_grad_()
    mask = torch.triu(torch.ones(steps, steps, dtype=torch.bool), diagonal=1) if causal else None
    normed = torch_attention[0](xt)
    ht = xt + torch_attention[1](normed, normed, normed, attn_mask=mask, need_weights=False)[0]
    yt = ht
    for module in torch_feed_forward:
        yt = module(yt)
    yt = ht + yt
    yt.backward(torch.from_numpy(upstream))

    y = feed_forward.forward(attention.forward(x))
    assert y.dtype == dtype
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    dx = attention.backward(feed_forward.backward(upstream))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)
    for block, reference in ((attention, torch_attention), (feed_forward, torch_feed_forward)):
        assert set(block.grads) == {numnet_name(name) for name, _ in reference.named_parameters()}
        for name, tensor in reference.named_parameters():
            np.testing.assert_allclose(block.grads[numnet_name(name)], tensor.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", [(1, 1, 4), (2, 3, 4)])
@pytest.mark.parametrize("causal", [False, True])
def test_gradcheck(shape, causal):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    for block in (attention_block(4, 2, causal), feed_forward_block(4)):
        for key, value in block.params.items():
            if key.endswith("bias") or key.startswith("0."):
                value += rng.normal(size=value.shape).astype(value.dtype) * 0.3
        result = gradcheck(block, x)
        assert result.max_error < 1e-6, str(result)
    result = gradcheck(Residual([Dense(3, 3, rng=0), Tanh()]), rng.normal(size=(5, 3)))  # any shape-keeping f
    assert result.max_error < 1e-6, str(result)


def test_hand_worked():
    # f(x) = 2x (a Dense with W = [[2]], b = 0): Y = x + 2x = 3x;  dX = dY + 2 dY = 3 dY;  dW = Σ dY·x
    block = Residual([Dense(1, 1, dtype=np.float64)])
    block.params["0.weight"][...] = 2
    block.params["0.bias"][...] = 0
    np.testing.assert_array_equal(block.forward(np.array([[1.0], [-2.0]])), [[3.0], [-6.0]])
    np.testing.assert_array_equal(block.backward(np.array([[1.0], [10.0]])), [[3.0], [30.0]])
    np.testing.assert_array_equal(block.grads["0.weight"], [[1.0 - 20.0]])


def test_params_grads_and_buffers_are_the_inner_layers_arrays():
    block = Residual([LayerNorm(4), Dense(4, 4, rng=0), BatchNorm1d(4)])
    assert list(block.params) == ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]
    assert list(block.buffers) == ["2.running_mean", "2.running_var"]
    assert block.params["1.weight"] is block.layers[1].params["weight"]
    assert block.buffers["2.running_var"] is block.layers[2].buffers["running_var"]
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    block.forward(x, training=True)
    block.backward(np.ones((5, 4), np.float32))
    first = block.grads["1.weight"]
    assert first is block.layers[1].grads["weight"]
    block.forward(x, training=True)
    block.backward(np.ones((5, 4), np.float32))
    assert block.grads["1.weight"] is block.layers[1].grads["weight"]  # the new array, seen at once
    np.testing.assert_array_equal(block.grads["1.weight"], first)  # overwritten, not accumulated
    replacement = np.zeros(4, np.float32)
    block.params["0.bias"] = replacement  # assigning writes through to the inner layer
    assert block.layers[0].params["bias"] is replacement
    with pytest.raises(KeyError):
        block.params["3.weight"] = replacement
    nested = Residual([Residual([Dense(2, 2, rng=0)]), Dense(2, 2, rng=1)])
    assert list(nested.params) == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]
    assert nested.params["0.0.weight"] is nested.layers[0].layers[0].weight


def test_optimizers_and_weights_see_the_inner_parameters():
    rng = np.random.default_rng(0)
    model = Sequential([Dense(3, 4, rng=0), Residual([LayerNorm(4), Dense(4, 4, rng=1)]), Dense(4, 2, rng=2)])
    x, upstream = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=(6, 2)).astype(np.float32)
    inner = model.layers[1].layers[1]
    before = inner.weight.copy()
    optimizer = Adam(0.1)
    for _ in range(2):
        model.forward(x, training=True)
        model.backward(upstream)
        optimizer.step(model)
    assert "1.1.weight" in optimizer.state and not np.array_equal(inner.weight, before)
    weights = model.get_weights()
    assert {"1.0.weight", "1.0.bias", "1.1.weight", "1.1.bias"} <= set(weights)
    inner.weight[...] = 0
    model.set_weights(weights)
    np.testing.assert_array_equal(inner.weight, weights["1.1.weight"])
    # SGD's step is w − lr·g on the inner layer's own array
    model.forward(x, training=True)
    model.backward(upstream)
    expected = inner.weight - 0.5 * inner.grads["weight"]
    SGD(0.5).step(model)
    np.testing.assert_allclose(inner.weight, expected, rtol=1e-6)


def test_dense_before_relu_inside_a_block_starts_he_normal():
    block = Residual([Dense(400, 400, rng=0), ReLU(), Dense(400, 400, rng=1)])
    assert block.layers[0].init == "he_normal" and block.layers[2].init == "glorot_uniform"
    assert block.layers[0].weight.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)


def test_release_cache_releases_the_inner_layers_too():
    inner = [LayerNorm(6, dtype=np.float64), Dense(6, 6, rng=0, dtype=np.float64)]
    block = Residual(inner)
    block.forward(np.random.default_rng(0).normal(size=(2, 3, 6)))
    block.release_cache()
    for layer in inner:
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(np.ones((2, 3, 6)))


def test_shapes_config_and_repr():
    block = attention_block(8, 2, True)
    assert block.output_shape((5, 8)) == (5, 8)
    assert block.output_shape((None, 8)) == (None, 8)
    assert block.get_config() == {"layers": [
        {"type": "LayerNorm", "config": {"dim": 8, "eps": 1e-5}},
        {"type": "MultiHeadSelfAttention", "config": {"dim": 8, "heads": 2, "causal": True}},
    ]}
    assert repr(block) == "Residual([LayerNorm(dim=8, eps=1e-05), MultiHeadSelfAttention(dim=8, heads=2, causal=True)])"


def test_errors():
    with pytest.raises(TypeError, match="Residual expects a list of layers. Received: Dense"):
        Residual(Dense(2, 2))
    with pytest.raises(ValueError, match=r"Residual expects at least one layer. Received: layers=\[\]"):
        Residual([])
    with pytest.raises(TypeError, match="Residual: item 1 must be a numnet layer .* Received: 'relu' of type str"):
        Residual([Dense(2, 2), "relu"])
    block = Residual([Dense(4, 3, rng=0)])
    with pytest.raises(ValueError, match=r"Residual\(\[Dense\(in_features=4, out_features=3\)\]\): its layers turn input of shape \(2, 4\) into \(2, 3\); a residual block must keep the shape"):
        block.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"its layers turn shape \(4,\) into \(3,\); a residual block must keep the shape"):
        block.output_shape((4,))
    with pytest.raises(ValueError, match=r"layer 1 does not fit: .*a residual block must keep the shape"):
        Sequential([Dense(2, 4), block])
    with pytest.raises(RuntimeError, match=r"backward\(\) was called before forward\(\)"):
        Residual([Dense(2, 2)]).backward(np.zeros((1, 2)))


def cross_entropy_per_position(logits, targets):
    """Mean over all N·T positions of −log softmax(logits)[target], and its gradient (softmax − onehot) / (N·T)."""
    probabilities = softmax(logits)
    picked = np.take_along_axis(probabilities, targets[..., None], axis=-1)
    loss = -np.log(picked).mean()
    grad = probabilities.copy()
    np.put_along_axis(grad, targets[..., None], picked - 1, axis=-1)
    return float(loss), grad / targets.size


def test_a_tiny_transformer_learns_to_copy_the_previous_token():
    # Next-token task: the target at position t is the token at t − 1 (at t = 0, the token itself).
    # Only attention to the previous position can solve it, so the loss falls from about ln 8 only if
    # embeddings, positions, causal attention, the residual blocks and Adam all work together.
    vocabulary, steps, dim = 8, 8, 16
    rng = np.random.default_rng(0)
    model = Sequential([
        Embedding(vocabulary, dim, rng=1), PositionalEmbedding(steps, dim, rng=2),
        Residual([LayerNorm(dim), MultiHeadSelfAttention(dim, 2, causal=True, rng=3)]),
        Residual([LayerNorm(dim), Dense(dim, 4 * dim, rng=4), ReLU(), Dense(4 * dim, dim, rng=5)]),
        LayerNorm(dim), Dense(dim, vocabulary, rng=6),
    ])
    assert model.output_shapes()[-1] == (None, vocabulary)
    optimizer = Adam(1e-2)
    losses = []
    for _ in range(120):
        tokens = rng.integers(0, vocabulary, size=(32, steps))
        targets = np.concatenate([tokens[:, :1], tokens[:, :-1]], axis=1)
        loss, grad = cross_entropy_per_position(model.forward(tokens, training=True), targets)
        model.backward(grad, input_grad=False)
        optimizer.step(model)
        losses.append(loss)
    assert np.mean(losses[:5]) > 1.5
    assert np.mean(losses[-5:]) < 0.1
    tokens = rng.integers(0, vocabulary, size=(64, steps))
    predictions = model.predict(tokens).argmax(axis=-1)  # predict casts the tokens to float32: still indices
    assert (predictions[:, 1:] == tokens[:, :-1]).mean() > 0.95

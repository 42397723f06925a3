import numpy as np
import pytest

from numnet import Sequential, gradcheck
from numnet.layers import Dense, Embedding, PositionalEmbedding

INDEX_SHAPES = [(1, 1), (3, 5), (2, 7)]


def test_embedding_hand_worked():
    # W = [[0, 0], [1, 2], [3, 4]]; X = [[1, 2, 1]] -> Y = [[[1, 2], [3, 4], [1, 2]]].
    # dY = [[[1, 1], [2, 0], [10, 20]]]: row 1 was looked up twice, dW[1] = [1, 1] + [10, 20] = [11, 21],
    # dW[2] = [2, 0], dW[0] = 0 (never looked up)
    layer = Embedding(3, 2, dtype=np.float64)
    layer.weight[...] = [[0, 0], [1, 2], [3, 4]]
    y = layer.forward(np.array([[1, 2, 1]]))
    np.testing.assert_array_equal(y, [[[1, 2], [3, 4], [1, 2]]])
    assert layer.backward(np.array([[[1.0, 1.0], [2.0, 0.0], [10.0, 20.0]]])) is None
    np.testing.assert_array_equal(layer.grads["weight"], [[0, 0], [11, 21], [2, 0]])


@pytest.mark.parametrize("shape", INDEX_SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_embedding_matches_torch(shape, dtype):
    # a lookup and a scatter-add: float32 sums at most a few rows per entry, exact up to rounding of those sums
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    tol = 1e-10 if dtype == np.float64 else 1e-6
    reference = torch.nn.Embedding(4, 3, dtype=getattr(torch, np.dtype(dtype).name))
    layer = Embedding(4, 3, rng=1, dtype=dtype)
    for name, tensor in reference.named_parameters():
        layer.params[name][...] = tensor.detach().numpy()
    indices = rng.integers(0, 4, size=shape)  # 4 rows for up to 14 tokens: indices repeat
    upstream = rng.normal(size=(*shape, 3)).astype(dtype)
    yt = reference(torch.from_numpy(indices))
    yt.backward(torch.from_numpy(upstream))
    y = layer.forward(indices)
    assert y.dtype == dtype and y.shape == (*shape, 3)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    assert layer.backward(upstream) is None
    np.testing.assert_allclose(layer.grads["weight"], reference.weight.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", INDEX_SHAPES)
def test_embedding_gradcheck(shape):
    indices = np.random.default_rng(0).integers(0, 5, size=shape)
    result = gradcheck(Embedding(5, 3, rng=1), indices)
    assert set(result.errors) == {"weight"}  # the indices have no gradient to check
    assert result.max_error < 1e-6, str(result)


def test_embedding_backward_overwrites_gradients():
    layer = Embedding(3, 2, rng=0, dtype=np.float64)
    for _ in range(2):
        layer.forward(np.array([[0, 0]]))
        layer.backward(np.ones((1, 2, 2)))
        np.testing.assert_array_equal(layer.grads["weight"], [[2, 2], [0, 0], [0, 0]])


def test_embedding_takes_float_indices_as_sequential_casts_them():
    model = Sequential([Embedding(6, 4, rng=0), Dense(4, 2, rng=1)])
    indices = np.array([[0, 5, 2], [1, 1, 3]])
    np.testing.assert_allclose(model.predict(indices), model.forward(indices), rtol=1e-6)
    assert model.output_shapes() == [(None, 4), (None, 2)]
    assert Sequential([Embedding(6, 4), Dense(4, 2)], input_shape=(3,)).output_shapes() == [(3, 4), (3, 2)]


def test_embedding_errors():
    layer = Embedding(5, 2, rng=0)
    name = r"Embedding\(num_embeddings=5, dim=2\)"
    with pytest.raises(ValueError, match=name + r": token indices must be in the range \[0, 4\], got indices from 0 to 5"):
        layer.forward(np.array([[0, 5]]))
    with pytest.raises(ValueError, match=r"must be in the range \[0, 4\], got indices from -1 to 2"):
        layer.forward(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match=r"expected integer token indices, got non-integer values such as 1.5"):
        layer.forward(np.array([[1.5, 2.0]]))
    with pytest.raises(ValueError, match=r"expected integer token indices, got non-integer values such as nan"):
        layer.forward(np.array([[np.nan, 2.0]]))
    with pytest.raises(ValueError, match=r"got indices from 0 to inf"):
        layer.forward(np.array([[0, np.inf]]))
    with pytest.raises(TypeError, match=r"expected integer token indices, received dtype <U1"):
        layer.forward(np.array([["a"]]))
    with pytest.raises(ValueError, match=r"expected token indices of shape \(N, T\), got \(3,\)"):
        layer.forward(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"expected at least one token, got shape \(2, 0\)"):
        layer.forward(np.zeros((2, 0), dtype=int))
    with pytest.raises(RuntimeError, match=r"backward\(\) was called before forward\(\)"):
        layer.backward(np.ones((1, 1, 2)))
    layer.forward(np.array([[1, 2]]))
    with pytest.raises(ValueError, match=r"expected grad_output of shape \(1, 2, 2\), got \(1, 2\)"):
        layer.backward(np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"expects a sequence of token indices \(T,\) per sample, but receives shape \(3, 4\)"):
        layer.output_shape((3, 4))
    with pytest.raises(ValueError, match="Embedding: num_embeddings must be a positive integer. Received: num_embeddings=0"):
        Embedding(0, 2)
    with pytest.raises(ValueError, match="Embedding: dim must be a positive integer. Received: dim=2.5"):
        Embedding(3, 2.5)
    with pytest.raises(TypeError, match="Embedding: dtype must be a NumPy float type"):
        Embedding(3, 2, dtype=np.int64)


def test_embedding_init_config_and_dtype():
    layer = Embedding(1000, 50, rng=0)
    assert layer.weight.dtype == np.float32 and layer.weight.shape == (1000, 50)
    assert abs(layer.weight.std() - 1) < 0.01  # N(0, 1), as torch.nn.Embedding
    np.testing.assert_array_equal(Embedding(5, 2, rng=3).weight, Embedding(5, 2, rng=3).weight)
    assert layer.get_config() == {"num_embeddings": 1000, "dim": 50}
    assert set(layer.params) == set(layer.grads) == {"weight"}


# -- PositionalEmbedding ----------------------------------------------------------------------------

def test_positional_embedding_hand_worked():
    # P = [[1, 2], [3, 4], [5, 6]] (max_len 3), X of T = 2: Y[n] = X[n] + [[1, 2], [3, 4]];
    # dP[t] = Σₙ dY[n, t] for t < 2, dP[2] = 0 (position 2 unused); dX = dY
    layer = PositionalEmbedding(3, 2, dtype=np.float64)
    layer.weight[...] = [[1, 2], [3, 4], [5, 6]]
    x = np.array([[[0.0, 0.0], [1.0, 1.0]], [[10.0, 20.0], [0.0, -1.0]]])
    np.testing.assert_array_equal(layer.forward(x), [[[1, 2], [4, 5]], [[11, 22], [3, 3]]])
    upstream = np.array([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]])
    np.testing.assert_array_equal(layer.backward(upstream), upstream)
    np.testing.assert_array_equal(layer.grads["weight"], [[6, 8], [10, 12], [0, 0]])


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 4, 3), (3, 6, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_positional_embedding_matches_torch(shape, dtype):
    # torch has no such layer: the reference is x + P[:T] with P a torch parameter (sums of ≤ 3 numbers in float32)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    tol = 1e-10 if dtype == np.float64 else 1e-6
    layer = PositionalEmbedding(6, 3, rng=1, dtype=dtype)
    table = torch.from_numpy(layer.weight.copy()).requires_grad_()
    x = rng.normal(size=shape).astype(dtype)
    upstream = rng.normal(size=shape).astype(dtype)
    xt = torch.from_numpy(x).requires_grad_()
    yt = xt + table[: shape[1]]
    yt.backward(torch.from_numpy(upstream))
    y = layer.forward(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads["weight"], table.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 4, 3), (2, 5, 3)])
def test_positional_embedding_gradcheck(shape):
    result = gradcheck(PositionalEmbedding(5, 3, rng=1), np.random.default_rng(0).normal(size=shape))
    assert result.max_error < 1e-6, str(result)


def test_positional_embedding_errors():
    layer = PositionalEmbedding(4, 2, rng=0)
    with pytest.raises(ValueError, match=r"PositionalEmbedding\(max_len=4, dim=2\): sequences may have at most max_len=4 positions, got T=5"):
        layer.forward(np.zeros((1, 5, 2)))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, T, 2\), got \(1, 3, 3\)"):
        layer.forward(np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match=r"expects sequences of shape \(T, 2\) with T ≤ 4, but receives shape \(5, 2\)"):
        layer.output_shape((5, 2))
    assert layer.output_shape((None, 2)) == (None, 2) and layer.output_shape((4, 2)) == (4, 2)
    with pytest.raises(ValueError, match="PositionalEmbedding: max_len must be a positive integer. Received: max_len=0"):
        PositionalEmbedding(0, 2)
    assert layer.get_config() == {"max_len": 4, "dim": 2}

import numpy as np
import pytest

from numnet import Sequential, gradcheck
from numnet.layers import GRU, LSTM, RNN, Dense, Embedding
from numnet.losses import CrossEntropy
from numnet.optimizers import Adam

# name -> (factory of numnet's layer, name of the torch.nn class, extra torch arguments)
LAYERS = {
    "RNN-tanh": (lambda *a, **k: RNN(*a, **k), "RNN", {}),
    "RNN-relu": (lambda *a, **k: RNN(*a, nonlinearity="relu", **k), "RNN", {"nonlinearity": "relu"}),
    "LSTM": (lambda *a, **k: LSTM(*a, **k), "LSTM", {}),
    "GRU": (lambda *a, **k: GRU(*a, **k), "GRU", {}),
}
# (N, T, input_size, hidden_size)
SHAPES = [(1, 1, 3, 4), (3, 5, 4, 6), (2, 9, 1, 3)]


def initial_state(name, batch, hidden, rng, dtype):
    if name == "LSTM":
        return tuple(rng.normal(size=(batch, hidden)).astype(dtype) for _ in range(2))
    return rng.normal(size=(batch, hidden)).astype(dtype)


def as_pairs(state):
    """A state or its gradient as a tuple of arrays: (h,) or, for LSTM, (h, c)."""
    return state if isinstance(state, tuple) else (state,)


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_torch(name, shape, return_sequences, with_state, dtype):
    # float64 to 1e-10; float32 to 2e-5: the two libraries round each step's sums in different orders
    # and the differences carry through the T steps (at most 2e-6 measured on these shapes)
    torch = pytest.importorskip("torch")
    make, torch_name, torch_args = LAYERS[name]
    n, steps, inputs, hidden = shape
    tol = 1e-10 if dtype == np.float64 else 2e-5
    rng = np.random.default_rng(0)
    torch_dtype = getattr(torch, np.dtype(dtype).name)
    reference = getattr(torch.nn, torch_name)(inputs, hidden, batch_first=True, dtype=torch_dtype, **torch_args)
    layer = make(inputs, hidden, return_sequences=return_sequences, rng=1, dtype=dtype)
    for key, tensor in reference.named_parameters():  # by name: weight_ih_l0 -> weight_ih, ...
        layer.params[key.removesuffix("_l0")][...] = tensor.detach().numpy()

    x = rng.normal(size=(n, steps, inputs)).astype(dtype)
    state = initial_state(name, n, hidden, rng, dtype) if with_state else None
    # torch always gets its (1, N, H) initial state as a leaf, zeros standing for "none given", so that
    # numnet's gradient of the state it started from can be compared in both cases
    torch_state = tuple(
        torch.from_numpy((s if with_state else np.zeros((n, hidden), dtype))[None].copy()).requires_grad_()
        for s in (as_pairs(state) if with_state else ((None,) * (2 if name == "LSTM" else 1)))
    )
    xt = torch.from_numpy(x).requires_grad_()
    out, final = reference(xt, torch_state if name == "LSTM" else torch_state[0])
    if not return_sequences:
        out = out[:, -1]
    upstream = rng.normal(size=tuple(out.shape)).astype(dtype)
    out.backward(torch.from_numpy(upstream))

    y = layer.forward(x, initial_state=state)
    assert y.dtype == dtype and y.shape == tuple(out.shape)
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=tol, atol=tol)
    for ours, theirs in zip(as_pairs(layer.final_state), as_pairs(final)):
        np.testing.assert_allclose(ours, theirs.detach().numpy()[0], rtol=tol, atol=tol)
    dx = layer.backward(upstream)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)
    for key, tensor in reference.named_parameters():
        np.testing.assert_allclose(layer.grads[key.removesuffix("_l0")], tensor.grad.numpy(), rtol=tol, atol=tol)
    for ours, theirs in zip(as_pairs(layer.initial_state_grad), torch_state):
        np.testing.assert_allclose(ours, theirs.grad.numpy()[0], rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_parameters_are_named_and_shaped_as_torch(name):
    torch = pytest.importorskip("torch")
    make, torch_name, torch_args = LAYERS[name]
    reference = getattr(torch.nn, torch_name)(3, 5, batch_first=True, **torch_args)
    layer = make(3, 5, rng=0)
    assert {key: tuple(value.shape) for key, value in layer.params.items()} == {
        key.removesuffix("_l0"): tuple(tensor.shape) for key, tensor in reference.named_parameters()
    }


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_gradcheck(name, shape, return_sequences):
    n, steps, inputs, hidden = shape
    x = np.random.default_rng(0).normal(size=(n, steps, inputs))
    result = gradcheck(LAYERS[name][0](inputs, hidden, return_sequences=return_sequences, rng=1), x)
    assert result.max_error < 1e-6, str(result)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_initial_state_gradient_by_finite_differences(name):
    # L = Σ Y·R as a function of the initial state, by central differences in float64
    rng = np.random.default_rng(0)
    layer = LAYERS[name][0](2, 3, rng=1, dtype=np.float64)
    x = rng.normal(size=(2, 4, 2))
    state = initial_state(name, 2, 3, rng, np.float64)
    upstream = rng.normal(size=(2, 4, 3))
    layer.forward(x, initial_state=state)
    layer.backward(upstream)
    eps = 1e-6
    for part, analytic in zip(as_pairs(state), as_pairs(layer.initial_state_grad)):
        numeric = np.zeros_like(part)
        for index in np.ndindex(part.shape):
            original = part[index]
            part[index] = original + eps
            plus = np.sum(layer.forward(x, initial_state=state) * upstream)
            part[index] = original - eps
            minus = np.sum(layer.forward(x, initial_state=state) * upstream)
            part[index] = original
            numeric[index] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_rnn_hand_worked():
    # one input, one ReLU unit: W_ih = 1, W_hh = 0.5, biases 0, h₀ = 0, X = [1, 2], return_sequences=False.
    # h₁ = relu(1 + 0.5·0) = 1,  h₂ = relu(2 + 0.5·1) = 2.5 = Y.
    # dY = 1:  da₂ = 1·[h₂ > 0] = 1,  dh₁ = da₂ W_hh = 0.5,  da₁ = 0.5·[h₁ > 0] = 0.5,  dh₀ = da₁ W_hh = 0.25;
    # dX = (da₁, da₂)·W_ih = (0.5, 1);  dW_ih = da₁·1 + da₂·2 = 2.5;  dW_hh = da₁·h₀ + da₂·h₁ = 1;  db = 1.5
    layer = RNN(1, 1, nonlinearity="relu", return_sequences=False, dtype=np.float64)
    layer.params["weight_ih"][...] = 1
    layer.params["weight_hh"][...] = 0.5
    layer.params["bias_ih"][...] = 0
    layer.params["bias_hh"][...] = 0
    np.testing.assert_array_equal(layer.forward(np.array([[[1.0], [2.0]]])), [[2.5]])
    np.testing.assert_array_equal(layer.backward(np.array([[1.0]])), [[[0.5], [1.0]]])
    np.testing.assert_array_equal(layer.grads["weight_ih"], [[2.5]])
    np.testing.assert_array_equal(layer.grads["weight_hh"], [[1.0]])
    np.testing.assert_array_equal(layer.grads["bias_ih"], [1.5])
    np.testing.assert_array_equal(layer.grads["bias_hh"], [1.5])
    np.testing.assert_array_equal(layer.initial_state_grad, [[0.25]])


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_backward_overwrites_gradients(name):
    rng = np.random.default_rng(0)
    layer = LAYERS[name][0](2, 3, rng=1, dtype=np.float64)
    x, upstream = rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 4, 3))
    layer.forward(x)
    layer.backward(upstream)
    first = {key: grad.copy() for key, grad in layer.grads.items()}
    layer.forward(x)
    layer.backward(upstream)
    for key, grad in layer.grads.items():
        np.testing.assert_array_equal(grad, first[key])


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_init_dtype_and_config(name):
    layer = LAYERS[name][0](3, 16, rng=0)
    for value in layer.params.values():
        assert value.dtype == np.float32
        assert np.abs(value).max() <= 1 / 4  # U(−1/√H, 1/√H), as torch
        assert value.std() > 0.1
    np.testing.assert_array_equal(LAYERS[name][0](3, 4, rng=5).params["weight_hh"], LAYERS[name][0](3, 4, rng=5).params["weight_hh"])
    config = layer.get_config()
    assert config["input_size"] == 3 and config["hidden_size"] == 16 and config["return_sequences"] is True
    assert RNN(2, 3, "relu").get_config()["nonlinearity"] == "relu"


def test_shapes_in_a_sequential():
    model = Sequential([LSTM(4, 6, rng=0), GRU(6, 5, return_sequences=False, rng=1), Dense(5, 2, rng=2)])
    assert model.output_shapes() == [None, None, (2,)]  # no input_shape: the sequence length is unknown
    model = Sequential([LSTM(4, 6, rng=0), GRU(6, 5, return_sequences=False, rng=1), Dense(5, 2, rng=2)], input_shape=(7, 4))
    assert model.output_shapes() == [(7, 6), (5,), (2,)]
    assert model.predict(np.zeros((3, 7, 4))).shape == (3, 2)
    with pytest.raises(ValueError, match=r"layer 1 does not fit: RNN\(.*\): expects sequences of shape \(T, 5\) per sample, but receives shape \(7, 6\)"):
        Sequential([LSTM(4, 6), RNN(5, 2)], input_shape=(7, 4))


def test_errors():
    with pytest.raises(ValueError, match="LSTM: input_size must be a positive integer. Received: input_size=0"):
        LSTM(0, 3)
    with pytest.raises(ValueError, match="GRU: hidden_size must be a positive integer. Received: hidden_size=-2"):
        GRU(3, -2)
    with pytest.raises(ValueError, match="RNN: nonlinearity must be 'tanh' or 'relu'. Received: nonlinearity='sigmoid'"):
        RNN(3, 2, nonlinearity="sigmoid")
    with pytest.raises(TypeError, match="LSTM: return_sequences must be True or False. Received: return_sequences='yes'"):
        LSTM(3, 2, return_sequences="yes")
    with pytest.raises(TypeError, match="GRU: dtype must be a NumPy float type"):
        GRU(3, 2, dtype=np.int32)

    layer = LSTM(3, 2, rng=0)
    name = r"LSTM\(input_size=3, hidden_size=2, return_sequences=True\)"
    with pytest.raises(ValueError, match=name + r": expected input of shape \(N, T, 3\), got \(4, 5, 2\)"):
        layer.forward(np.zeros((4, 5, 2)))
    with pytest.raises(ValueError, match=r"got \(4, 3\); a batch of one-step inputs needs a time axis: reshape \(N, features\) to \(N, 1, features\)"):
        layer.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"expected at least one sequence of at least one step, got shape \(4, 0, 3\)"):
        layer.forward(np.zeros((4, 0, 3)))
    with pytest.raises(TypeError, match=r"initial_state must be a pair \(h0, c0\) of arrays of shape \(N, hidden_size\). Received: ndarray"):
        layer.forward(np.zeros((4, 5, 3)), initial_state=np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"expected initial_state\[1\] \(c0\) of shape \(N, hidden_size\) = \(4, 2\), got \(4, 3\)"):
        layer.forward(np.zeros((4, 5, 3)), initial_state=(np.zeros((4, 2)), np.zeros((4, 3))))
    with pytest.raises(RuntimeError, match=r"backward\(\) was called before forward\(\)"):
        layer.backward(np.zeros((4, 5, 2)))

    gru = GRU(3, 2, return_sequences=False, rng=0)
    with pytest.raises(ValueError, match=r"expected initial_state of shape \(N, hidden_size\) = \(4, 2\), got \(1, 4, 2\); torch's state of shape \(1, N, hidden_size\) is state\[0\] here"):
        gru.forward(np.zeros((4, 5, 3)), initial_state=np.zeros((1, 4, 2)))
    with pytest.raises(TypeError, match=r"initial_state must be a float array of shape \(N, hidden_size\) = \(4, 2\), received dtype int64"):
        gru.forward(np.zeros((4, 5, 3)), initial_state=np.zeros((4, 2), dtype=np.int64))
    gru.forward(np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match=r"expected grad_output of shape \(4, 2\), got \(4, 5, 2\)"):
        gru.backward(np.zeros((4, 5, 2)))
    with pytest.raises(ValueError, match=r"expects sequences of shape \(T, 3\) per sample, but receives shape \(3,\)"):
        gru.output_shape((3,))


def test_fit_trains_a_sequence_classifier():
    # does token 3 occur in the sequence? Only a state carried across the steps can tell, at any position
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 10, size=(256, 8))
    labels = (tokens == 3).any(axis=1).astype(np.int64)
    model = Sequential([Embedding(10, 8, rng=0), LSTM(8, 16, return_sequences=False, rng=1), Dense(16, 2, rng=2)])
    history = model.fit(tokens, labels, loss=CrossEntropy(), optimizer=Adam(1e-2), epochs=6, batch_size=32, seed=0, verbose=0)
    assert history.history["loss"][0] > 0.5
    assert history.history["loss"][-1] < 0.1 and history.history["accuracy"][-1] > 0.97

import json

import numpy as np
import pytest

from numnet import Sequential
from numnet.layers import (
    LSTM, Conv2D, Dense, Dropout, Embedding, Flatten, LayerNorm, MaxPool2D, MultiHeadSelfAttention, PositionalEmbedding, ReLU,
    Residual, Sigmoid, Tanh,
)
from numnet.losses import MSE, BinaryCrossEntropy, CrossEntropy
from numnet.optimizers import SGD
from numnet.trace import LayerTrace, Trace, trace


def gender_network():
    """The texts' 2-2-1 sigmoid network: every weight 1, every bias 0 (float64, as by hand)."""
    model = Sequential([Dense(2, 2, dtype=np.float64), Sigmoid(), Dense(2, 1, dtype=np.float64), Sigmoid()])
    for dense in (model.layers[0], model.layers[2]):
        dense.weight[...] = 1
        dense.bias[...] = 0
    return model


def mlp(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return Sequential([Dense(4, 5, rng=rng, dtype=dtype), Tanh(), Dense(5, 3, rng=rng, dtype=dtype), ReLU(),
                       Dense(3, 2, rng=rng, dtype=dtype)])


def test_hand_worked_gender_example():
    # Alice (weight −2, height −1, female): h1 = σ(−2·1 − 1·1 + 0) = σ(−3) = 0.0474,
    # ŷ = σ(h1 + h2) = σ(0.0948) = 0.524, L = (1 − ŷ)² = 0.2269,
    # ∂L/∂w1 = −2(1 − ŷ) · σ'(0.0948) · (−2) σ'(−3) = (−0.9526)(0.249)(−0.0904) = 0.0215
    # (the texts write −0.952: they round ŷ to 0.524 before multiplying).
    t = gender_network().trace([-2.0, -1.0], [[1.0]], loss=MSE())
    assert t[0].output[0, 0] == pytest.approx(-3.0)
    assert t[1].output[0, 0] == pytest.approx(0.0474, abs=5e-5)
    assert t.output[0, 0] == pytest.approx(0.524, abs=5e-4)
    assert t.loss == pytest.approx((1 - t.output[0, 0]) ** 2, rel=1e-12)
    assert t[3].grad_output[0, 0] == pytest.approx(-0.9526, abs=5e-5)
    assert t[0].grads["weight"][0, 0] == pytest.approx(0.0215, abs=5e-5)


def test_records_the_real_passes_and_chains_them():
    model = mlp()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 4)), rng.integers(0, 2, size=6)
    t = trace(model, x, y, loss=CrossEntropy())
    assert len(t) == len(model.layers) and all(isinstance(layer, LayerTrace) for layer in t)
    np.testing.assert_array_equal(t.output, model.predict(x))
    np.testing.assert_array_equal(t.input, x)
    for before, after in zip(t.layers, t.layers[1:]):
        np.testing.assert_array_equal(before.output, after.input)
        np.testing.assert_array_equal(before.grad_output, after.grad_input)
    # the same passes, run by hand: the trace's gradients are the model's own
    out = model.forward(x)
    value, grad = CrossEntropy().value_and_gradient(y, out)
    dX = model.backward(grad)
    assert t.loss == value
    np.testing.assert_array_equal(t[0].grad_input, dX)
    np.testing.assert_array_equal(t[-1].grad_output, grad)
    for record, layer in zip(t, model.layers):
        assert record.kind == type(layer).__name__ and record.name == repr(layer)
        assert set(record.params) == set(record.grads) == set(layer.params)
        for key in layer.params:
            np.testing.assert_array_equal(record.grads[key], layer.grads[key])
            np.testing.assert_array_equal(record.params[key], layer.params[key])


@pytest.mark.parametrize("loss, targets", [
    (MSE(), lambda rng: rng.normal(size=(5, 2))),
    (CrossEntropy(), lambda rng: rng.integers(0, 2, size=5)),
    (BinaryCrossEntropy(from_logits=True), lambda rng: rng.integers(0, 2, size=(5, 2)).astype(float)),
])
def test_parameter_gradients_match_finite_differences(loss, targets):
    model = mlp()
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 4)), targets(rng)
    t = model.trace(x, y, loss=loss)
    eps = 1e-6  # central differences in float64: error ~eps², noise ~1e-10
    for index, layer in enumerate(model.layers):
        for key, param in layer.params.items():
            for entry in [(0,) * param.ndim, tuple(s - 1 for s in param.shape)]:
                original = param[entry]
                param[entry] = original + eps
                plus = loss(y, model.predict(x))
                param[entry] = original - eps
                minus = loss(y, model.predict(x))
                param[entry] = original
                numeric = (plus - minus) / (2 * eps)
                assert t[index].grads[key][entry] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_trace_holds_copies():
    model = mlp()
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 2))
    t = trace(model, x, y, loss=MSE())
    saved = json.dumps(t.to_dict())
    for layer in model.layers:
        for param in layer.params.values():
            param += 1.0
    trace(model, 2 * x, -y, loss=MSE())
    model.fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=2, batch_size=3, verbose=0)
    assert json.dumps(t.to_dict()) == saved


def test_forward_only_trace_has_no_gradients():
    model = mlp()
    t = trace(model, np.ones((2, 4)))
    assert t.loss is None and t.target is None and not t.has_gradients
    for record in t:
        assert record.grad_output is None and record.grad_input is None and record.grads == {}
    assert set(t[0].params) == {"weight", "bias"}
    assert "loss" not in str(t)


def test_single_sample_gets_its_batch_axis_and_the_models_dtype():
    model = mlp(np.float32)
    t = trace(model, [1, 2, 3, 4])
    assert t.input.shape == (1, 4) and t.input.dtype == np.float32 and t.output.shape == (1, 2)
    images = Sequential([Flatten(), Dense(4, 2, rng=0)], input_shape=(2, 2))
    assert trace(images, np.ones((2, 2))).input.shape == (1, 2, 2)


def test_dropout_is_off_in_a_trace():
    model = Sequential([Dense(4, 8, rng=0, dtype=np.float64), Dropout(0.5, rng=0), Dense(8, 1, rng=1, dtype=np.float64)])
    x = np.random.default_rng(3).normal(size=(4, 4))
    np.testing.assert_array_equal(trace(model, x)[1].output, trace(model, x)[1].input)


def test_conv_network():
    rng = np.random.default_rng(4)
    model = Sequential([Conv2D(1, 2, 3, padding=1, rng=rng, dtype=np.float64), ReLU(), MaxPool2D(2), Flatten(),
                        Dense(8, 3, rng=rng, dtype=np.float64)], input_shape=(1, 4, 4))
    x, y = rng.normal(size=(2, 1, 4, 4)), np.array([0, 2])
    t = model.trace(x, y, loss=CrossEntropy())
    assert [r.kind for r in t] == ["Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dense"]
    assert t[0].grads["weight"].shape == (2, 1, 3, 3) and t[0].grad_input.shape == x.shape


@pytest.mark.parametrize("middle", [
    lambda rng: [LSTM(4, 5, rng=rng, dtype=np.float64), Dense(5, 6, rng=rng, dtype=np.float64)],
    lambda rng: [PositionalEmbedding(3, 4, rng=rng, dtype=np.float64),
                 Residual([LayerNorm(4, dtype=np.float64), MultiHeadSelfAttention(4, 2, causal=True, rng=rng, dtype=np.float64)]),
                 Dense(4, 6, rng=rng, dtype=np.float64)],
], ids=["lstm", "transformer"])
def test_sequence_network_from_token_indices(middle):
    # a character model: token indices (N, T) in, scores (N, T, C) out, padding ignored by the loss
    rng = np.random.default_rng(5)
    model = Sequential([Embedding(6, 4, rng=rng, dtype=np.float64), *middle(rng)])
    x, y = np.array([[0, 3, 1], [0, 2, 0]]), np.array([[3, 1, 0], [2, 0, -100]])
    loss = CrossEntropy(ignore_index=-100)
    t = model.trace(x, y, loss=loss)
    assert t[0].kind == "Embedding" and t[0].input.shape == (2, 3) and t[-1].output.shape == (2, 3, 6)
    np.testing.assert_array_equal(t[0].input, x)
    np.testing.assert_array_equal(t.output, model.predict(x))
    assert t.loss == pytest.approx(loss(y, model.predict(x)), rel=1e-12)
    assert t[0].grad_input is None and t[1].grad_input.shape == (2, 3, 4)  # indices have no gradient
    eps = 1e-6  # central differences in float64 on a few entries of every parameter
    for index, layer in enumerate(model.layers):
        for key, param in layer.params.items():
            for entry in [(0,) * param.ndim, tuple(s - 1 for s in param.shape), tuple(s // 2 for s in param.shape)]:
                original = param[entry]
                param[entry] = original + eps
                plus = loss(y, model.predict(x))
                param[entry] = original - eps
                minus = loss(y, model.predict(x))
                param[entry] = original
                assert t[index].grads[key][entry] == pytest.approx((plus - minus) / (2 * eps), rel=1e-6, abs=1e-9)


def test_to_dict_is_json_and_can_summarise_big_arrays():
    model = mlp()
    t = trace(model, np.ones((2, 4)), np.array([0, 1]), loss=CrossEntropy())
    full = json.loads(json.dumps(t.to_dict()))
    assert full["loss"] == pytest.approx(t.loss)
    assert full["layers"][0]["grads"]["weight"] == t[0].grads["weight"].tolist()
    assert full["layers"][2]["name"] == "Dense(in_features=5, out_features=3)"
    small = json.loads(json.dumps(t.to_dict(arrays=False)))
    assert small["layers"][0]["params"]["weight"]["shape"] == [5, 4]
    assert small["layers"][0]["params"]["weight"]["max"] == pytest.approx(t[0].params["weight"].max())
    mixed = t.to_dict(max_size=6)
    assert isinstance(mixed["layers"][0]["params"]["bias"], list)  # 5 elements: kept
    assert isinstance(mixed["layers"][0]["params"]["weight"], dict)  # 20 elements: summarised


def test_str_is_a_table_with_the_loss():
    text = str(gender_network().trace([-2.0, -1.0], [[1.0]], loss=MSE()))
    assert "Sigmoid()" in text and "loss MSE() = 0.226866" in text
    assert len(text.splitlines()) == 1 + 4 + 1


def test_errors():
    model = mlp()
    with pytest.raises(ValueError, match="needs both the targets y and a loss"):
        trace(model, np.ones((1, 4)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="needs both the targets y and a loss"):
        trace(model, np.ones((1, 4)), loss=MSE())
    with pytest.raises(TypeError, match="loss must be a numnet.losses loss"):
        trace(model, np.ones((1, 4)), np.ones((1, 2)), loss="mse")
    with pytest.raises(TypeError, match="array of numbers"):
        trace(model, np.array([["a"] * 4]))
    with pytest.raises(ValueError, match="no layers"):
        trace(Sequential([]), np.ones((1, 4)))
    with pytest.raises(ValueError, match="non-empty batch"):
        trace(model, np.ones((0, 4)))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 4\)"):
        trace(model, np.ones((1, 3)))


def test_trace_is_a_dataclass_of_the_documented_fields():
    t = trace(mlp(), np.ones((1, 4)))
    assert isinstance(t, Trace)
    assert {"index", "name", "kind", "input", "output", "grad_output", "grad_input", "params", "grads"} <= set(vars(t[0]))

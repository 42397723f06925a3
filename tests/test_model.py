import os
import signal
import tracemalloc

import numpy as np
import pytest

from numnet import Sequential
from numnet.datasets import xor
from numnet.layers import Dense, Dropout, Flatten, Layer, ReLU, Sigmoid, Tanh
from numnet.losses import MSE, BinaryCrossEntropy, CrossEntropy
from numnet.optimizers import SGD, Adam


def blobs(n=200, seed=0):
    """Three well separated Gaussian clusters in 2-D, labels 0..2."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = np.array([[0, 4], [4, -2], [-4, -2]])
    return (centres[labels] + rng.normal(size=(n, 2))).astype(np.float32), labels


def mlp(seed=0):
    return Sequential([Dense(2, 16, rng=seed), ReLU(), Dense(16, 3, rng=seed + 1)])


def test_fit_learns_and_records_history():
    x, y = blobs()
    xv, yv = blobs(60, seed=1)
    history = mlp().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=5, validation_data=(xv, yv), verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 5 for v in history.history.values()) and history.epoch == [1, 2, 3, 4, 5]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.95


def test_regression_history_has_no_accuracy():
    x, y = xor()
    model = Sequential([Dense(2, 3, rng=0), Tanh(), Dense(3, 1, rng=1)])
    twin = Sequential([Dense(2, 3, rng=0), Tanh(), Dense(3, 1, rng=1)])
    before = MSE()(y, model.predict(x))
    history = model.fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=2, batch_size=4, verbose=0)
    assert set(history.history) == {"loss"}
    # one batch of all 4 samples per epoch: each epoch logs the loss of the weights it started from
    twin.fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=1, batch_size=4, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [before, MSE()(y, twin.predict(x))], rtol=1e-6)


def test_same_seed_same_training():
    x, y = blobs()
    runs = []
    for _ in range(2):
        model = Sequential([Dense(2, 16, rng=0), ReLU(), Dropout(0.2, rng=1), Dense(16, 3, rng=2)])
        history = model.fit(x, y, loss=CrossEntropy(), optimizer=Adam(0.01), epochs=3, seed=5, verbose=0)
        runs.append((history.history["loss"], model.layers[0].weight.copy()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_full_batch_equals_one_manual_gradient_step():
    x, y = blobs(32)
    model, manual = mlp(), mlp()
    model.fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.5), epochs=1, batch_size=32, shuffle=False, verbose=0)
    out = manual.forward(x)
    manual.backward(CrossEntropy().gradient(y, out))
    SGD(0.5).step(manual)
    np.testing.assert_allclose(model.layers[0].weight, manual.layers[0].weight, rtol=1e-6)


def test_per_sample_sgd_takes_one_step_per_sample():
    x, y = xor()
    model = Sequential([Dense(2, 1, rng=0), Sigmoid()])
    optimizer = SGD(0.1)
    model.fit(x, y, loss=MSE(), optimizer=optimizer, epochs=3, batch_size=1, verbose=0)
    assert optimizer.iterations == 12


def test_diverging_training_stops_with_a_clear_error():
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32) * 100
    y = x.sum(axis=1, keepdims=True) * 100
    model = Sequential([Dense(2, 8, rng=0), Dense(8, 1, rng=1)])
    with pytest.raises(FloatingPointError, match=r"at epoch \d+, batch \d+: training diverged. Try a lower learning rate \(lr=10 now\)"):
        model.fit(x, y, loss=MSE(), optimizer=SGD(10.0), epochs=50, batch_size=8, verbose=0)


def test_ctrl_c_stops_after_the_current_batch():
    class InterruptOnCall(Layer):
        def __init__(self, call):
            super().__init__()
            self.calls, self.call = 0, call

        def forward(self, x, training=False):
            if training:
                self.calls += 1
                if self.calls == self.call:
                    os.kill(os.getpid(), signal.SIGINT)
            return x

        def backward(self, grad_output):
            return grad_output

    x, y = blobs(64)
    model = Sequential([InterruptOnCall(call=11), Dense(2, 3, rng=0)])
    optimizer = SGD(0.1)
    history = model.fit(x, y, loss=CrossEntropy(), optimizer=optimizer, epochs=10, batch_size=8, verbose=0)
    assert history.interrupted
    assert optimizer.iterations == 11  # the interrupted batch still completes its step
    assert history.epoch == [1]  # 8 batches per epoch: interrupted in the second
    assert model.predict(x).shape == (64, 3)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_predict_in_batches_equals_forward():
    x, _ = blobs(100)
    model = mlp()
    np.testing.assert_allclose(model.predict(x, batch_size=7), model.forward(x), rtol=1e-6)


def _predict_peak_bytes(model, x):
    tracemalloc.start()
    try:
        model.predict(x)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_predict_memory_does_not_grow_with_depth():
    # a model padded with hundreds of ReLUs once held every layer's activation for a backward that never came
    x = np.random.default_rng(0).normal(size=(256, 512)).astype(np.float32)  # one batch of 512 kB
    shallow = Sequential([Flatten(), *[ReLU() for _ in range(2)], Dense(512, 4, rng=0)])
    deep = Sequential([Flatten(), *[ReLU() for _ in range(300)], Dense(512, 4, rng=0)])
    np.testing.assert_array_equal(deep.predict(x), shallow.predict(x))
    activation = x.nbytes
    # the same few live activations at any depth (300 kept ones would be 150 MB)
    assert _predict_peak_bytes(deep, x) < _predict_peak_bytes(shallow, x) + activation


def test_predict_keeps_nothing_for_backward_and_forward_still_does():
    x, y = blobs(16)
    model = mlp()
    model.predict(x)
    with pytest.raises(RuntimeError, match="after an inference pass such as predict"):
        model.backward(np.ones((16, 3), dtype=np.float32))
    out = model.forward(x)  # forward keeps what backward needs, in either mode
    assert model.backward(np.ones_like(out)).shape == x.shape


def test_inputs_are_cast_to_the_model_dtype():
    x, y = blobs(16)
    assert mlp().predict(x.astype(np.float64)).dtype == np.float32
    model64 = Sequential([Dense(2, 3, rng=0, dtype=np.float64)])
    assert model64.predict(x).dtype == np.float64
    assert mlp().predict(np.ones((2, 2), dtype=np.uint8)).dtype == np.float32


def test_evaluate_returns_named_metrics():
    x, y = blobs()
    model = mlp()
    model.fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=5, verbose=0)
    results = model.evaluate(x, y, loss=CrossEntropy())
    assert set(results) == {"loss", "accuracy"} and results["accuracy"] > 0.95
    scores = model.predict(x)
    assert results["loss"] == pytest.approx(CrossEntropy()(y, scores), rel=1e-6)
    assert results["accuracy"] == pytest.approx(np.mean(scores.argmax(axis=1) == y), abs=1e-12)
    probs = Sequential([Dense(2, 1, rng=0), Sigmoid()])
    is_zero = (y == 0).astype(np.float32)
    results = probs.evaluate(x, is_zero, loss=BinaryCrossEntropy())
    assert set(results) == {"loss", "accuracy"}
    p = probs.predict(x)[:, 0].astype(np.float64)
    bce = -np.mean(is_zero * np.log(p) + (1 - is_zero) * np.log(1 - p))  # the formula, written out
    assert results["loss"] == pytest.approx(bce, rel=1e-5)
    # a probability above 0.5 means class 1
    assert results["accuracy"] == pytest.approx(np.mean((p > 0.5) == (is_zero == 1)), abs=1e-12)


def test_summary_lists_layers_shapes_and_params():
    lines = []
    Sequential([Flatten(), Dense(784, 128), ReLU(), Dense(128, 10)]).summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Dense(in_features=784, out_features=128)" in text and "(N, 128)" in text and "100,480" in text
    assert "Total params: 101,770" in text


def test_construction_errors():
    with pytest.raises(TypeError, match=r"item 1 must be a numnet layer .* Received: 3 of type int"):
        Sequential([Dense(2, 2), 3])
    with pytest.raises(ValueError, match=r"layer 2 does not fit: Dense\(in_features=64, out_features=10\): expects 64 features per sample, but the layer before it outputs shape \(128,\)"):
        Sequential([Dense(784, 128), ReLU(), Dense(64, 10)])
    with pytest.raises(TypeError, match="expects a list of layers"):
        Sequential(Dense(2, 2))


class CountingReLU(ReLU):
    """A ReLU that counts the calls of its output_shape."""

    calls = 0

    def output_shape(self, input_shape):
        CountingReLU.calls += 1
        return super().output_shape(input_shape)


def test_building_n_layers_checks_n_shapes(monkeypatch):
    # the constructor checks each layer against the shape the layers before it output, carried along:
    # a model of n layers (a model file's too) asks each layer for its output shape once, not n²/2 times
    monkeypatch.setattr(CountingReLU, "calls", 0)
    model = Sequential([Dense(3, 4)] + [CountingReLU() for _ in range(500)])
    assert CountingReLU.calls == 500
    model.add(CountingReLU())  # add checks against the layers as they are now, every shape once more: building
    # a model by n calls of add costs n²/2 shape checks, which is accepted for the sake of always-current checks
    assert CountingReLU.calls == 500 + 501


def test_add_checks_against_layers_changed_by_hand():
    model = Sequential([Dense(3, 4), ReLU()])
    model.layers.append(Dense(4, 6))  # not through add: add still checks against the layers as they are
    with pytest.raises(ValueError, match=r"layer 3 does not fit: Dense\(in_features=4, out_features=2\): expects 4 features per sample, but the layer before it outputs shape \(6,\)"):
        model.add(Dense(4, 2))
    model.add(Dense(6, 2))
    model.input_shape = (5,)  # a new input shape: the first layer no longer fits
    with pytest.raises(ValueError, match=r"layer 0 does not fit: Dense\(in_features=3, out_features=4\): expects 3 features per sample, but the layer before it outputs shape \(5,\)"):
        model.add(ReLU())
    assert len(model.layers) == 4


def test_fit_argument_errors():
    x, y = blobs(32)
    model = mlp()
    kwargs = dict(loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="same number of samples: got 32 and 31"):
        model.fit(x, y[:31], **kwargs)
    with pytest.raises(ValueError, match=r"batch_size must be at most the number of samples \(32\). Received: batch_size=64"):
        model.fit(x, y, **{**kwargs, "epochs": 1}, batch_size=64)
    with pytest.raises(ValueError, match="epochs must be a positive integer. Received: epochs=0"):
        model.fit(x, y, **{**kwargs, "epochs": 0})
    with pytest.raises(TypeError, match="loss must be a numnet.losses loss"):
        model.fit(x, y, **{**kwargs, "loss": "mse"})
    with pytest.raises(TypeError, match="optimizer must be a numnet.optimizers optimizer"):
        model.fit(x, y, **{**kwargs, "optimizer": 0.1})
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or infinite values"):
        model.fit(bad, y, **kwargs)
    for value in (np.inf, -np.inf, 1e300):  # 1e300 does not fit in float32: a clear error, not a cast warning
        with pytest.raises(ValueError, match=r"x contains NaN or infinite values \(or values too large for float32\)"):
            model.predict(np.where(np.arange(x.shape[1]) == 0, value, x[:2].astype(np.float64)))
    with pytest.raises(ValueError, match=r"labels must be in the range \[0, 2\]"):
        model.fit(x, y + 5, **kwargs)
    with pytest.raises(ValueError, match=r"x must be a batch of shape \(N, features\), got \(2,\)"):
        model.predict(np.ones(2))


def test_train_and_eval_set_the_mode_forward_uses():
    model = Sequential([Dense(3, 4, rng=0), Dropout(0.5, rng=1)])
    x = np.ones((64, 3), np.float32)
    assert model.train() is model and model.training
    assert (model.forward(x) == 0).any()  # Dropout drops in training mode
    assert model.eval() is model and not model.training
    np.testing.assert_array_equal(model.forward(x), model.predict(x))
    assert model.train(True).training and not model.train(False).training
    with pytest.raises(TypeError, match=r"Sequential.train: mode must be True or False. Received: mode='no'"):
        model.train("no")


def test_input_shape_must_be_positive_integers():
    for bad in [(0,), (), (28, -1), (2.5,), "28", 7]:
        with pytest.raises(ValueError, match=r"^Sequential: input_shape must be a tuple of positive integers. Received: input_shape="):
            Sequential([Dense(3, 4)], input_shape=bad)
    assert Sequential([Flatten(), Dense(784, 2)], input_shape=[28, np.int64(28)]).input_shape == (28, 28)

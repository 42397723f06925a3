import warnings

import numpy as np
import pytest

from numnet import Sequential
from numnet.layers import LSTM, Dense, Embedding, Softmax, Tanh
from numnet.losses import MSE, BinaryCrossEntropy, CrossEntropy
from numnet.optimizers import SGD
from numnet.training import clip_grad_norm


def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = np.array([[0, 4], [4, -2], [-4, -2]])
    return (centres[labels] + rng.normal(size=(n, 2))), labels


def mlp(seed=0, dtype=np.float64):
    return Sequential([Dense(2, 8, rng=seed, dtype=dtype), Tanh(), Dense(8, 3, rng=seed + 1, dtype=dtype)])


# -- sample_weight ---------------------------------------------------------------------------------------


def test_sample_weight_equals_the_hand_weighted_loss_and_its_step():
    # one full batch: the logged loss is Σ wₙ ℓₙ / Σ wₙ of the starting weights, and the step is the SGD
    # step on that weighted mean, its gradient Σ wₙ dℓₙ / Σ wₙ taken by hand from the per-sample losses
    x, y = blobs(12)
    weight = np.random.default_rng(1).uniform(0, 2, 12)
    weight[3] = 0.0
    model, twin = mlp(), mlp()
    history = model.fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.5), epochs=1, batch_size=12, shuffle=False,
                        verbose=0, sample_weight=weight, metrics=[])
    per_sample, d_per_sample = CrossEntropy(reduction="none").value_and_gradient(y, twin.forward(x, training=True))
    assert history.history["loss"][0] == pytest.approx(np.sum(weight * per_sample) / np.sum(weight), rel=1e-13)
    twin.backward(weight[:, None] * d_per_sample / np.sum(weight))
    SGD(0.5).step(twin)
    for ours, theirs in zip(model.layers, twin.layers):
        for key in ours.params:
            np.testing.assert_allclose(ours.params[key], theirs.params[key], rtol=1e-12, atol=1e-15)


def test_integer_sample_weights_equal_repeated_samples():
    # weights 0, 1, 2, 3 in one full batch are the same mean as rows repeated 0, 1, 2, 3 times
    x, y = blobs(8)
    counts = np.array([0, 1, 2, 3, 1, 0, 2, 1])
    weighted, repeated = mlp(), mlp()
    weighted.fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.3), epochs=3, batch_size=8, shuffle=False, verbose=0,
                 sample_weight=counts)
    repeated.fit(np.repeat(x, counts, axis=0), np.repeat(y, counts), loss=CrossEntropy(), optimizer=SGD(0.3), epochs=3,
                 batch_size=int(counts.sum()), shuffle=False, verbose=0)
    for ours, theirs in zip(weighted.layers, repeated.layers):
        for key in ours.params:
            np.testing.assert_allclose(ours.params[key], theirs.params[key], rtol=1e-12, atol=1e-15)


def test_evaluate_with_sample_weight_is_the_weighted_mean():
    x, y = blobs(20)
    model = mlp()
    weight = np.random.default_rng(2).uniform(0, 1, 20)
    out = model.predict(x)
    results = model.evaluate(x, y, loss=CrossEntropy(), sample_weight=weight)
    assert results["loss"] == pytest.approx(np.average(CrossEntropy(reduction="none")(y, out), weights=weight), rel=1e-13)
    assert results["accuracy"] == pytest.approx(np.average(out.argmax(axis=1) == y, weights=weight), rel=1e-13)


def test_validation_split_splits_the_sample_weights_too():
    x, y = blobs(20)
    weight = np.arange(1.0, 21.0)
    model, twin = mlp(), mlp()
    history = model.fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, verbose=0, sample_weight=weight,
                        validation_split=0.25, batch_size=15, shuffle=False)
    twin.fit(x[:15], y[:15], loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, verbose=0, sample_weight=weight[:15],
             batch_size=15, shuffle=False)
    expected = twin.evaluate(x[15:], y[15:], loss=CrossEntropy(), sample_weight=weight[15:])
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"], rel=1e-12)


def test_sample_weight_errors():
    x, y = blobs(10)
    fit = dict(loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight must hold one weight per sample, shape \(10,\). Received shape \(9,\)"):
        mlp().fit(x, y, sample_weight=np.ones(9), **fit)
    with pytest.raises(ValueError, match=r"sample_weight must be finite and non-negative. Received values from -1.0 to 1.0"):
        mlp().fit(x, y, sample_weight=np.r_[-1.0, np.ones(9)], **fit)
    with pytest.raises(ValueError, match="sample_weight is 0 for every sample: nothing to train on"):
        mlp().fit(x, y, sample_weight=np.zeros(10), **fit)
    with pytest.raises(ValueError, match=r"need a loss that reduces to one number; CrossEntropy\(reduction='none'\)"):
        mlp().fit(x, y, loss=CrossEntropy(reduction="none"), optimizer=SGD(0.1), epochs=1, verbose=0)


# -- regression metrics ------------------------------------------------------------------------------------


def test_regression_metrics_in_fit_and_evaluate():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 2))
    y = (x @ np.array([1.5, -2.0]) + 0.5)[:, None]
    model = Sequential([Dense(2, 8, rng=0, dtype=np.float64), Tanh(), Dense(8, 1, rng=1, dtype=np.float64)])
    history = model.fit(x, y, loss=MSE(), optimizer=SGD(0.05), epochs=30, batch_size=8, verbose=0,
                        metrics=["mae", "mse", "r2"], validation_data=(x, y))
    assert set(history.history) == {"loss", "mae", "mse", "r2", "val_loss", "val_mae", "val_mse", "val_r2"}
    assert history.history["r2"][-1] > history.history["r2"][0]
    results = model.evaluate(x, y, loss=MSE(), metrics=["mae", "mse", "r2"])
    out = model.predict(x)
    assert results["mae"] == pytest.approx(sklearn_metrics.mean_absolute_error(y, out), rel=1e-12)
    assert results["mse"] == pytest.approx(results["loss"], rel=1e-12)
    assert results["r2"] == pytest.approx(sklearn_metrics.r2_score(y, out), rel=1e-12)
    assert history.history["val_r2"][-1] == pytest.approx(results["r2"], rel=1e-12)


def test_metric_errors():
    x, y = blobs(10)
    with pytest.raises(ValueError, match=r"unknown metric 'rmse'; expected one of \['accuracy', 'mae', 'mse', 'r2', 'top_k_accuracy'\]"):
        mlp().evaluate(x, y, loss=CrossEntropy(), metrics=["rmse"])
    with pytest.raises(ValueError, match=r"metric 'mae' compares outputs with targets of the same shape.*CrossEntropy's outputs are logits"):
        mlp().evaluate(x, y, loss=CrossEntropy(), metrics=["mae"])
    with pytest.raises(ValueError, match=r"metric 'accuracy' needs a classification loss"):
        mlp().evaluate(x, np.zeros((10, 3)), loss=MSE(), metrics=["accuracy"])


# -- warnings ------------------------------------------------------------------------------------------------


def test_softmax_before_cross_entropy_warns_once_per_fit():
    x, y = blobs(20)
    model = Sequential([Dense(2, 3, rng=0), Softmax()])
    with pytest.warns(UserWarning, match=r"ends with a Softmax layer and the loss is CrossEntropy.*softmax is applied twice") as caught:
        model.fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=3, batch_size=5, verbose=0)
    assert len([w for w in caught if "Softmax" in str(w.message)]) == 1
    assert caught[0].filename == __file__  # points at the user's fit call


def test_no_warning_for_logits_or_for_softmax_with_other_losses():
    x, y = blobs(20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mlp().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, batch_size=5, verbose=0)
        probabilities = Sequential([Dense(2, 3, rng=0), Softmax()])
        probabilities.fit(x, np.eye(3)[y], loss=MSE(), optimizer=SGD(0.1), epochs=1, batch_size=5, verbose=0)


def test_validation_split_of_sorted_labels_warns():
    x, y = blobs(40)
    order = np.argsort(y, kind="stable")
    with pytest.warns(UserWarning, match=r"validation_split=0.2 holds out the last 8 rows, and all their targets are class 2: the data look sorted") as caught:
        mlp().fit(x[order], y[order], loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, verbose=0, validation_split=0.2)
    assert caught[0].filename == __file__  # the warning points at the user's fit call, not inside numnet
    binary = (y == 0).astype(np.float64)[:, None]
    sorted_binary = np.argsort(binary[:, 0], kind="stable")
    model = Sequential([Dense(2, 1, rng=0, dtype=np.float64)])
    with pytest.warns(UserWarning, match=r"all their targets are class \[1.0\]"):
        model.fit(x[sorted_binary], binary[sorted_binary], loss=BinaryCrossEntropy(from_logits=True), optimizer=SGD(0.1),
                  epochs=1, verbose=0, validation_split=0.2)


def test_validation_split_of_shuffled_or_regression_data_stays_quiet():
    x, y = blobs(40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mlp().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, verbose=0, validation_split=0.2)
        targets = np.sort(x[:, :1], axis=0)  # sorted regression targets are no classes
        Sequential([Dense(2, 1, rng=0, dtype=np.float64)]).fit(x, targets, loss=MSE(), optimizer=SGD(0.01), epochs=1,
                                                               verbose=0, validation_split=0.2)
        one_class = np.zeros(40, dtype=np.int64)  # one class everywhere: nothing is sorted
        mlp().fit(x, one_class, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, verbose=0, validation_split=0.2)


def _model_with_random_grads(rng, dtype=np.float64):
    model = Sequential([Embedding(7, 3, rng=rng, dtype=dtype), LSTM(3, 4, rng=rng, dtype=dtype), Dense(4, 2, rng=rng, dtype=dtype)])
    for layer in model.layers:
        for key, param in layer.params.items():
            layer.grads[key] = rng.standard_normal(param.shape).astype(dtype)
    return model


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    model = _model_with_random_grads(rng)
    tensors = []
    for layer in model.layers:
        for key in layer.params:
            tensor = torch.zeros(layer.params[key].shape, dtype=torch.float64, requires_grad=True)
            tensor.grad = torch.from_numpy(layer.grads[key].copy())
            tensors.append(tensor)
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm=1.5)
    norm = clip_grad_norm(model, 1.5)
    assert norm > 1.5
    np.testing.assert_allclose(norm, expected_norm.item(), rtol=1e-12)
    clipped = [layer.grads[key] for layer in model.layers for key in layer.params]
    # torch scales by max_norm / (‖g‖ + 1e-6), numnet by max_norm / ‖g‖: they differ by 1e-6 / ‖g‖ relative
    for ours, theirs in zip(clipped, tensors):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(sum(np.sum(g * g) for g in clipped)), 1.5, rtol=1e-12)


def test_clip_grad_norm_leaves_small_gradients_alone():
    rng = np.random.default_rng(1)
    model = _model_with_random_grads(rng)
    before = {name: g.copy() for name, g in ((f"{i}.{k}", layer.grads[k]) for i, layer in enumerate(model.layers) for k in layer.params)}
    norm = clip_grad_norm(model, 1e6)
    assert norm == pytest.approx(np.sqrt(sum(np.sum(g * g) for g in before.values())), rel=1e-12)
    for index, layer in enumerate(model.layers):
        for key in layer.params:
            np.testing.assert_array_equal(layer.grads[key], before[f"{index}.{key}"])


def test_clip_grad_norm_keeps_the_dtype():
    model = _model_with_random_grads(np.random.default_rng(2), dtype=np.float32)
    clip_grad_norm(model, 0.1)
    assert all(layer.grads[key].dtype == np.float32 for layer in model.layers for key in layer.params)


def test_fit_clips_every_step():
    # one full-batch SGD step: θ ← θ − η g with ‖g‖ clipped to c moves the parameters by exactly η·c
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 3)), 100 * rng.standard_normal((8, 2))  # far targets: a large gradient
    model = Sequential([Dense(3, 2, rng=0, dtype=np.float64)])
    before = model.get_weights()
    model.fit(x, y, loss=MSE(), optimizer=SGD(0.5), epochs=1, batch_size=8, verbose=0, clip_norm=0.01)
    step = np.sqrt(sum(np.sum((model.get_weights()[k] - before[k]) ** 2) for k in before))
    assert step == pytest.approx(0.5 * 0.01, rel=1e-9)


def test_fit_rejects_a_non_positive_clip_norm():
    model = Sequential([Dense(3, 2, rng=0)])
    with pytest.raises(ValueError, match=r"clip_norm must be a number in the range \(0, inf\)\. Received: clip_norm=0"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), loss=MSE(), optimizer=SGD(0.1), epochs=1, verbose=0, clip_norm=0)

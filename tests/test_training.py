import numpy as np
import pytest

from numnet.layers import LSTM, Dense, Embedding
from numnet.losses import MSE
from numnet.model import Sequential
from numnet.optimizers import SGD
from numnet.training import clip_grad_norm


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

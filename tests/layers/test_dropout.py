import numpy as np
import pytest

from numnet.layers import Dropout


def test_inference_is_identity():
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    layer = Dropout(0.5, rng=0)
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)


def test_training_drops_and_rescales_and_backward_uses_same_mask():
    x = np.ones((200, 50), dtype=np.float32)
    layer = Dropout(0.2, rng=0)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.8, rtol=1e-6)
    assert abs(kept.mean() - 0.8) < 0.02  # 10,000 Bernoulli(0.8) draws: std 0.004
    upstream = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(upstream), upstream * y, rtol=1e-6)


def test_seeded_masks_repeat():
    x = np.ones((3, 4))
    assert np.array_equal(Dropout(0.5, rng=3).forward(x, training=True), Dropout(0.5, rng=3).forward(x, training=True))


@pytest.mark.parametrize("p", [-0.1, 1, 1.5, "0.5"])
def test_rejects_bad_p(p):
    with pytest.raises(ValueError, match=r"p must be a number in the range \[0, 1\)"):
        Dropout(p)

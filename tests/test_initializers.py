import numpy as np
import pytest

from numnet import initializers


@pytest.mark.parametrize("name, expected_std", [
    ("glorot_uniform", np.sqrt(2 / (300 + 200))),
    ("glorot_normal", np.sqrt(2 / (300 + 200))),
    ("he_uniform", np.sqrt(2 / 300)),
    ("he_normal", np.sqrt(2 / 300)),
    ("lecun_normal", np.sqrt(1 / 300)),
    ("small_random", 0.01),
])
def test_scales(name, expected_std):
    w = initializers.get(name)((200, 300), np.random.default_rng(0), np.float32)
    assert w.dtype == np.float32 and w.shape == (200, 300)
    assert abs(w.mean()) < 0.05 * expected_std + 1e-4
    assert w.std() == pytest.approx(expected_std, rel=0.02)  # 60,000 draws: the sample std is within ~0.5%


def test_fans_of_a_conv_kernel_count_the_receptive_field():
    w = initializers.he_normal((64, 32, 3, 3), np.random.default_rng(0))
    assert w.std() == pytest.approx(np.sqrt(2 / (32 * 9)), rel=0.02)


def test_zeros_and_unknown():
    assert not initializers.zeros((2, 3)).any()
    with pytest.raises(ValueError, match="unknown initializer 'xavier'; expected one of"):
        initializers.get("xavier")

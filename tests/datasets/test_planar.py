import numpy as np
import pytest

from numnet.datasets.planar import EXTENT, PLANAR_DATASETS, planar_dataset


@pytest.mark.parametrize("name", PLANAR_DATASETS)
def test_shapes_split_and_balance(name):
    (x_train, y_train), (x_test, y_test) = planar_dataset(name, points=300, noise=0.1, test_fraction=0.3, seed=2)
    assert x_train.shape == (210, 2) and x_test.shape == (90, 2)
    assert x_train.dtype == np.float32 and y_train.dtype == np.uint8
    assert set(np.unique(y_train)) == {0, 1} and set(np.unique(y_test)) == {0, 1}
    counts = np.bincount(np.concatenate([y_train, y_test]))
    if name == "xor":  # the quadrant, and so the label, is drawn at random
        assert 100 < counts[0] < 200
    else:
        assert counts.tolist() == [150, 150]
    if name != "blobs":  # Gaussian tails may leave the square
        assert np.abs(np.concatenate([x_train, x_test])).max() <= EXTENT


def test_same_seed_same_points_other_seed_other_points():
    first, second, other = (planar_dataset("spirals", seed=s)[0][0] for s in (1, 1, 2))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_clean_labels_follow_the_rule():
    (x, y), _ = planar_dataset("xor", points=400, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.uint8))
    assert np.abs(x).min() >= 0.3  # kept off the axes, so that a perfect boundary exists
    (x, y), _ = planar_dataset("circles", points=400, noise=0.0, seed=0)
    radius = np.hypot(x[:, 0], x[:, 1])
    assert radius[y == 1].max() <= 2.5 < 3.5 <= radius[y == 0].min()


def test_noise_moves_points():
    (clean, _), _ = planar_dataset("circles", noise=0.0, seed=3)
    (noisy, _), _ = planar_dataset("circles", noise=0.5, seed=3)
    assert np.abs(noisy - clean).mean() > 0.5


def test_errors():
    with pytest.raises(ValueError, match="unknown planar data set 'moons'; expected one of circles, xor"):
        planar_dataset("moons")
    with pytest.raises(ValueError, match=r"noise must be a number in the range \[0, 0.5\]. Received: noise=0.9"):
        planar_dataset("xor", noise=0.9)
    with pytest.raises(ValueError, match="points must be an integer of at least 4. Received: points=2"):
        planar_dataset("xor", points=2)
    with pytest.raises(ValueError, match=r"test_fraction must be a number in the range \(0, 1\)"):
        planar_dataset("xor", test_fraction=1)
    with pytest.raises(ValueError, match="leaves 1 for training and 9 for testing"):
        planar_dataset("xor", points=10, test_fraction=0.9)

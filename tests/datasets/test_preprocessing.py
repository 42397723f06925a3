import numpy as np
import pytest

from numnet.datasets import flatten, one_hot, scale


def test_scale_flatten_one_hot():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    scaled = scale(images)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, [[[0, 1], [0.2, 0.4]]], rtol=1e-6)
    np.testing.assert_array_equal(flatten(images), [[0, 255, 51, 102]])  # row by row
    np.testing.assert_array_equal(one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


def test_errors():
    with pytest.raises(TypeError, match="scale expects uint8 pixels"):
        scale(np.ones(3))
    with pytest.raises(ValueError, match=r"labels must be in the range \[0, 2\]"):
        one_hot(np.array([3]), 3)
    with pytest.raises(ValueError, match="one_hot expects integer labels"):
        one_hot(np.array([0.5]))

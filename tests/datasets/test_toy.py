import numpy as np
import pytest

from numnet.datasets import GENDER_NAMES, gender, logic_gate, xor


def test_xor_and_gates():
    x, y = xor()
    assert x.shape == (4, 2) and y.shape == (4, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(y[:, 0], [0, 1, 1, 0])
    np.testing.assert_array_equal(logic_gate("AND")[1][:, 0], [0, 0, 0, 1])
    np.testing.assert_array_equal(logic_gate("nand")[1][:, 0], [1, 1, 1, 0])
    with pytest.raises(ValueError, match="unknown logic gate 'maybe'"):
        logic_gate("maybe")


def test_gender_data_of_the_texts():
    x, y = gender()
    assert GENDER_NAMES[0] == "Alice"
    np.testing.assert_array_equal(x[0], [-2, -1])
    np.testing.assert_array_equal(y[:, 0], [1, 0, 0, 1])

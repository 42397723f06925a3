"""numnet.validation: each check accepts good values (converted) and rejects bad ones with a message
naming what was expected and what was received."""

import math

import numpy as np
import pytest

from numnet import validation


def test_positive_int():
    assert validation.positive_int("units", 3) == 3
    converted = validation.positive_int("units", np.int64(4))
    assert converted == 4 and type(converted) is int
    for bad in (0, -2, 2.5, True, "3", None):
        with pytest.raises(ValueError, match=rf"Dense: units must be a positive integer. Received: units={bad!r}"):
            validation.positive_int("units", bad, owner="Dense")
    with pytest.raises(ValueError, match=r"^units must be a positive integer. Received: units=0$"):  # no owner
        validation.positive_int("units", 0)


def test_non_negative_int():
    assert validation.non_negative_int("patience", 0) == 0
    assert type(validation.non_negative_int("patience", np.uint8(5))) is int
    for bad in (-1, 1.0, False):
        with pytest.raises(ValueError, match=rf"EarlyStopping: patience must be a non-negative integer. Received: patience={bad!r}"):
            validation.non_negative_int("patience", bad, owner="EarlyStopping")


def test_number_accepts_values_in_range_and_returns_floats():
    assert validation.number("lr", 0.1, 0, low_inclusive=False) == 0.1
    assert type(validation.number("lr", 1, 0)) is float
    assert validation.number("p", 0, 0, 1, high_inclusive=False) == 0.0  # the closed end is allowed
    assert validation.number("momentum", 1, 0, 1) == 1.0
    assert validation.number("x", -5.5) == -5.5  # no range: any finite number
    epochs = validation.number("warmup_epochs", np.int32(3), 0, 9, integer=True)
    assert epochs == 3 and type(epochs) is int


@pytest.mark.parametrize("value, low, high, inclusive, message", [
    (0, 0, math.inf, {"low_inclusive": False}, r"SGD: lr must be a number in the range \(0, inf\). Received: lr=0"),
    (1.0, 0, 1, {"high_inclusive": False}, r"SGD: lr must be a number in the range \[0, 1\). Received: lr=1.0"),
    (-0.5, 0, 1, {}, r"SGD: lr must be a number in the range \[0, 1\]. Received: lr=-0.5"),
    (2, -math.inf, 1, {}, r"SGD: lr must be a number in the range \(-inf, 1\]. Received: lr=2"),
    (float("nan"), 0, 1, {}, r"SGD: lr must be a number in the range \[0, 1\]. Received: lr=nan"),
    (float("inf"), 0, math.inf, {}, r"SGD: lr must be a number in the range \[0, inf\). Received: lr=inf"),
    ("0.1", 0, math.inf, {}, r"SGD: lr must be a number in the range \[0, inf\). Received: lr='0.1'"),
    (True, 0, math.inf, {}, r"SGD: lr must be a number in the range \[0, inf\). Received: lr=True"),
    (None, -math.inf, math.inf, {}, r"SGD: lr must be a number. Received: lr=None"),
])
def test_number_rejects_with_the_range_and_the_value(value, low, high, inclusive, message):
    with pytest.raises(ValueError, match=message):
        validation.number("lr", value, low, high, owner="SGD", **inclusive)


def test_number_with_integer_true_rejects_fractions():
    with pytest.raises(ValueError, match=r"T: k must be an integer in the range \[0, 9\]. Received: k=2.5"):
        validation.number("k", 2.5, 0, 9, integer=True, owner="T")
    with pytest.raises(ValueError, match=r"T: k must be an integer in the range \[0, 9\]. Received: k=10"):
        validation.number("k", 10, 0, 9, integer=True, owner="T")


def test_one_of():
    assert validation.one_of("mode", "max", ("min", "max")) == "max"
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: mode must be one of 'min', 'max'. Received: mode='up'"):
        validation.one_of("mode", "up", ("min", "max"), owner="ReduceLROnPlateau")


def test_boolean():
    assert validation.boolean("from_logits", True) is True
    assert validation.boolean("from_logits", np.bool_(False)) is False
    for bad in (1, "yes", None):
        with pytest.raises(TypeError, match=rf"BCE: from_logits must be True or False. Received: from_logits={bad!r}"):
            validation.boolean("from_logits", bad, owner="BCE")


def test_float_dtype():
    assert validation.float_dtype("Dense", np.float32) == np.dtype(np.float32)
    assert validation.float_dtype("Dense", "float64") == np.dtype(np.float64)
    with pytest.raises(TypeError, match=r"Dense: dtype must be a NumPy float type such as float32. Received: dtype=int32"):
        validation.float_dtype("Dense", np.int32)
    with pytest.raises(TypeError, match=r"Dense: dtype must be a NumPy float type. Received: dtype='nope'"):
        validation.float_dtype("Dense", "nope")


def test_instance():
    value = [1, 2]
    assert validation.instance("layers", value, list, "a list of layers") is value
    with pytest.raises(TypeError, match=r"Sequential: layers must be a list of layers. Received: \(1, 2\)"):
        validation.instance("layers", (1, 2), list, "a list of layers", owner="Sequential")


def test_as_array():
    x = np.ones((2, 3), np.float64)
    assert validation.as_array(x, "Dense()") is x  # a float array passes through untouched
    converted = validation.as_array([[1, 2], [3, 4]], "Dense()")
    assert converted.dtype == np.float32 and converted.shape == (2, 2)  # integers become float32
    with pytest.raises(TypeError, match=r"'Dense\(\)': expected an array of numbers, received dtype <U1"):
        validation.as_array(np.array(["a"]), "Dense()")
    with pytest.raises(ValueError, match=r"'Dense\(\)': expected a batch of shape \(N, ...\), received a scalar"):
        validation.as_array(3.0, "Dense()")
    with pytest.raises(TypeError, match=r"expected an array of numbers, received list"):
        validation.as_array([[1, 2], [3]], "Dense()")  # ragged


def test_as_batch():
    x = validation.as_batch([[1, 2, 3]], np.dtype(np.float32), input_shape=(3,))
    assert x.dtype == np.float32 and x.shape == (1, 3)
    with pytest.raises(ValueError, match=r"x must be a batch of shape \(N, features\), got \(3,\); for one sample use x\[None\]"):
        validation.as_batch(np.ones(3), np.dtype(np.float32))
    with pytest.raises(ValueError, match=r"x has shape \(2, 4\); this model expects \(N, 3\)"):
        validation.as_batch(np.ones((2, 4)), np.dtype(np.float32), input_shape=(3,))
    with pytest.raises(TypeError, match=r"x must be an array of numbers. Received dtype <U1"):
        validation.as_batch(np.array([["a"]]), np.dtype(np.float32))
    with pytest.raises(ValueError, match=r"x contains NaN or infinite values \(or values too large for float32\)"):
        validation.as_batch(np.array([[1e300]]), np.dtype(np.float32))
    with pytest.raises(ValueError, match=r"validation x contains NaN"):
        validation.as_batch(np.array([[np.nan]]), np.dtype(np.float64), name="validation x")


def test_all_finite():
    assert validation.all_finite(np.ones((3, 4), np.float32))
    assert validation.all_finite(np.full(4, 1e30, np.float32))  # x·x overflows, yet every entry is finite
    for bad in (np.nan, np.inf, -np.inf):
        x = np.ones(5)
        x[2] = bad
        assert not validation.all_finite(x)

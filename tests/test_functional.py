import warnings

import numpy as np
import pytest

from numnet.functional import sigmoid, softmax


def reference_log_softmax(x, axis):
    x = x.astype(np.float64)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# class scores (few and many classes), the last axis given as 1, a leading axis, and a 3-D batch
@pytest.mark.parametrize("shape, axis", [((64, 10), -1), ((5, 32), 1), ((7, 33), -1), ((64, 10), 0), ((3, 4, 5), -1)])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 2e-6)])
def test_softmax_matches_the_plain_formula(shape, axis, dtype, tol):
    x = (np.random.default_rng(0).normal(size=shape) * 6).astype(dtype)
    x.reshape(-1)[0] = 900.0  # a huge score must not overflow
    expected = reference_log_softmax(x, axis)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = softmax(x, axis=axis)
    assert p.dtype == dtype and p.shape == x.shape
    np.testing.assert_allclose(p.sum(axis=axis), 1, rtol=tol * 10)
    finite = expected > -30  # log of a probability that is not rounded to 0
    np.testing.assert_allclose(np.log(np.maximum(p, np.finfo(dtype).tiny))[finite], expected[finite], rtol=tol, atol=tol * 10)


def test_softmax_propagates_nan_rows_and_leaves_the_others_alone():
    x = np.array([[1.0, np.nan, 0.0], [1.0, 2.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = softmax(x)
    assert np.isnan(p[0]).all()
    np.testing.assert_allclose(p[1], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_matches_the_formula_and_stays_finite(dtype):
    x = np.array([-1000.0, -30.0, -1.0, 0.0, 0.5, 30.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = sigmoid(x)
    assert y.dtype == dtype
    # σ(0) = 1/2; σ(±1000) saturates to 1 and 0 without overflow; elsewhere 1 / (1 + e⁻ˣ) in float64
    reference = 1 / (1 + np.exp(-x[1:-1].astype(np.float64)))
    np.testing.assert_allclose(y[1:-1], reference, rtol=1e-6 if dtype == np.float32 else 1e-15)
    assert y[0] == 0 and y[-1] == 1 and y[3] == 0.5

import warnings

import numpy as np
import pytest

from numnet.functional import log_softmax, softmax, softmax_and_log_softmax


def reference_log_softmax(x, axis):
    x = x.astype(np.float64)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# class scores (few and many classes), the last axis given as 1, a leading axis, and a 3-D batch
@pytest.mark.parametrize("shape, axis", [((64, 10), -1), ((5, 32), 1), ((7, 33), -1), ((64, 10), 0), ((3, 4, 5), -1)])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 2e-6)])
def test_softmax_family_matches_the_plain_formulas(shape, axis, dtype, tol):
    x = (np.random.default_rng(0).normal(size=shape) * 6).astype(dtype)
    x.reshape(-1)[0] = 900.0  # a huge score must not overflow
    expected = reference_log_softmax(x, axis)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, log_p = softmax_and_log_softmax(x, axis=axis)
        results = [log_softmax(x, axis=axis), log_p, np.log(np.maximum(softmax(x, axis=axis), np.finfo(dtype).tiny))]
    assert p.dtype == log_p.dtype == dtype and p.shape == x.shape
    np.testing.assert_allclose(p.sum(axis=axis), 1, rtol=tol * 10)
    np.testing.assert_allclose(results[0], expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(results[1], expected, rtol=tol, atol=tol)
    finite = expected > -30  # log of a probability that is not rounded to 0
    np.testing.assert_allclose(results[2][finite], expected[finite], rtol=tol, atol=tol * 10)


def test_softmax_propagates_nan_rows_and_leaves_the_others_alone():
    x = np.array([[1.0, np.nan, 0.0], [1.0, 2.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = softmax(x)
    assert np.isnan(p[0]).all()
    np.testing.assert_allclose(p[1], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), rtol=1e-15)

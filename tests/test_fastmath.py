"""Every helper of numnet.fastmath against the plain NumPy formula its docstring names."""

import numpy as np
import pytest

from numnet import fastmath

RNG = np.random.default_rng


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 10), (1, 256), (7, 1), (0, 3)])
def test_column_sums_is_the_sum_over_rows(shape, dtype):
    a = RNG(0).normal(size=shape).astype(dtype)
    sums = fastmath.column_sums(a)
    assert sums.dtype == dtype and sums.shape == (shape[1],)
    np.testing.assert_allclose(sums, a.astype(np.float64).sum(axis=0), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


def test_column_sums_of_a_fortran_ordered_array():
    a = np.asfortranarray(RNG(1).normal(size=(5, 4)))
    np.testing.assert_allclose(fastmath.column_sums(a), a.sum(axis=0), rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 10), (3, 4, 5), (6,)])
def test_row_sums_is_the_sum_along_the_last_axis(shape, dtype):
    a = RNG(2).normal(size=shape).astype(dtype)
    sums = fastmath.row_sums(a)
    assert sums.dtype == dtype and sums.shape == shape[:-1]
    np.testing.assert_allclose(sums, a.astype(np.float64).sum(axis=-1), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("shape", [(64, 10), (3, 4, 5), (1, 1), (6,)])
def test_row_max_is_the_max_along_the_last_axis(shape):
    a = RNG(3).normal(size=shape).astype(np.float32)
    got = fastmath.row_max(a)
    assert got.dtype == a.dtype and got.shape == shape[:-1]
    np.testing.assert_array_equal(got, a.max(axis=-1))  # an entry of a, so exactly equal


def test_row_max_of_a_transposed_view_and_with_nan_and_inf():
    a = RNG(4).normal(size=(10, 6)).T  # not C-ordered: the rows are read from a copy
    np.testing.assert_array_equal(fastmath.row_max(a), a.max(axis=-1))
    b = np.array([[1.0, np.nan, 3.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0]])
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(fastmath.row_max(b), b.max(axis=-1))  # NaN, −inf and inf as NumPy gives


@pytest.mark.parametrize("labels_dtype", [np.int64, np.uint8, np.int32])
def test_pick_takes_one_entry_per_row(labels_dtype):
    a = RNG(5).normal(size=(64, 10))
    columns = RNG(6).integers(0, 10, 64).astype(labels_dtype)
    np.testing.assert_array_equal(fastmath.pick(a, columns), a[np.arange(64), columns])


@pytest.mark.parametrize("labels_dtype", [np.int64, np.uint8])
def test_flat_indices_point_at_one_entry_per_row(labels_dtype):
    a = RNG(8).normal(size=(6, 4))
    columns = np.array([3, 0, 1, 3, 2, 0], dtype=labels_dtype)
    np.testing.assert_array_equal(a.ravel()[fastmath.flat_indices(a, columns)], a[np.arange(6), columns])


def test_pick_from_an_array_that_is_not_c_ordered():
    a = np.asfortranarray(RNG(7).normal(size=(8, 3)))
    columns = np.array([0, 2, 1, 1, 0, 2, 2, 0])
    np.testing.assert_array_equal(fastmath.pick(a, columns), a[np.arange(8), columns])


@pytest.mark.parametrize("order", ["C", "F"])
def test_inplace_subtract_at_subtracts_a_one_hot_row_in_place(order):
    a = np.asarray(RNG(8).normal(size=(6, 4)), order=order)
    columns = np.array([3, 0, 0, 2, 1, 3], dtype=np.uint8)
    expected = a - 0.5 * np.eye(4)[columns]
    before = a
    fastmath.inplace_subtract_at(a, columns, 0.5)
    assert a is before
    np.testing.assert_allclose(a, expected, rtol=1e-15)


@pytest.mark.parametrize("make", [
    lambda x: x,  # C-ordered
    lambda x: np.asfortranarray(x),
    lambda x: x.transpose(1, 2, 3, 0).copy().transpose(3, 0, 1, 2),  # batch-innermost, as a conv layer's maps
])
def test_zeros_in_layout_of_has_the_shape_dtype_and_strides_of_x(make):
    x = make(RNG(9).normal(size=(2, 3, 4, 5)).astype(np.float32))
    zeros = fastmath.zeros_in_layout_of(x)
    assert zeros.shape == x.shape and zeros.dtype == x.dtype and zeros.strides == x.strides
    assert not zeros.any()
    assert fastmath.zeros_in_layout_of(x, reuse=zeros) is zeros  # reused as long as it fits
    other = fastmath.zeros_in_layout_of(x, np.uint8)
    assert other.dtype == np.uint8 and other.shape == x.shape and not other.any()
    assert fastmath.zeros_in_layout_of(x, np.uint8, reuse=zeros) is not zeros  # another dtype: new zeros
    assert fastmath.zeros_in_layout_of(x[:1], reuse=zeros).shape == (1, 3, 4, 5)  # another shape: new zeros


def test_maximum_against_layout_zeros_is_relu():
    x = RNG(10).normal(size=(3, 4, 5)).transpose(2, 0, 1)
    np.testing.assert_array_equal(np.maximum(x, fastmath.zeros_in_layout_of(x)), np.maximum(x, 0))


def test_as_layout_of_keeps_values_and_takes_the_layout():
    like = RNG(11).normal(size=(5, 2, 3)).transpose(1, 2, 0)  # not C-ordered
    a = RNG(12).normal(size=like.shape)
    out = fastmath.as_layout_of(a, like)
    np.testing.assert_array_equal(out, a)
    assert out.strides == like.strides
    c_ordered = np.ascontiguousarray(like)
    assert fastmath.as_layout_of(a, c_ordered) is a  # nothing to do for a C-ordered like


@pytest.mark.parametrize("slice_columns", [7, 4096])
def test_matmul_in_slices_is_one_product(monkeypatch, slice_columns):
    monkeypatch.setattr(fastmath, "COLUMNS_PER_SLICE", slice_columns)  # 7: many slices, the last partial
    left, right = RNG(13).normal(size=(4, 6)), RNG(14).normal(size=(6, 60))
    np.testing.assert_allclose(fastmath.matmul_in_slices(left, right), left @ right, rtol=1e-13, atol=1e-13)
    other = RNG(15).normal(size=(5, 60))
    np.testing.assert_allclose(fastmath.matmul_transposed_in_slices(right, other), right @ other.T, rtol=1e-12, atol=1e-12)


def test_column_slices_cover_every_column_once(monkeypatch):
    monkeypatch.setattr(fastmath, "COLUMNS_PER_SLICE", 7)
    covered = np.concatenate([np.arange(60)[part] for part in fastmath.column_slices(60)])
    np.testing.assert_array_equal(covered, np.arange(60))


def test_work_array_is_kept_while_it_fits():
    cache = {}
    w = np.asfortranarray(np.ones((3, 4), np.float32))
    work = fastmath.work_array(cache, "0.weight", w)
    assert work.shape == w.shape and work.dtype == w.dtype and work.strides == w.strides
    assert fastmath.work_array(cache, "0.weight", w) is work
    assert fastmath.work_array(cache, "0.weight", np.ones((3, 4), np.float32)) is not work  # another layout
    assert fastmath.work_array(cache, "0.weight", np.ones((3, 4), np.float64)).dtype == np.float64
    assert fastmath.work_array(cache, "0.weight", np.ones(5)).shape == (5,)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-6), (np.float64, 1e-15)])
def test_inplace_moving_average(dtype, rtol):
    rng = RNG(16)
    average, x = rng.normal(size=(4, 5)).astype(dtype), rng.normal(size=(4, 5)).astype(dtype)
    expected = 0.9 * average.astype(np.float64) + 0.1 * x.astype(np.float64)
    before, x_before = average, x.copy()
    fastmath.inplace_moving_average(average, x, 0.9, np.empty_like(x))
    assert average is before and average.dtype == dtype
    np.testing.assert_allclose(average, expected, rtol=rtol)
    np.testing.assert_array_equal(x, x_before)  # x is only read


def test_inplace_moving_average_of_values_held_in_the_work_array():
    # v ← β v + (1 − β) g², with g² already in the work array
    g, v = np.array([2.0, -1.0]), np.array([1.0, 0.5])
    work = np.empty(2)
    fastmath.inplace_moving_average(v, np.square(g, out=work), 0.999, work)
    np.testing.assert_allclose(v, [0.999 * 1.0 + 0.001 * 4.0, 0.999 * 0.5 + 0.001 * 1.0], rtol=1e-15)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-6), (np.float64, 1e-14)])
def test_inplace_divided_step(dtype, rtol):
    rng = RNG(17)
    w, numerator, mean_square = (rng.normal(size=(3, 7)).astype(dtype) for _ in range(3))
    mean_square = mean_square * mean_square
    expected = w.astype(np.float64) - 0.01 * numerator.astype(np.float64) / (np.sqrt(mean_square.astype(np.float64)) + 1e-8)
    before = w
    fastmath.inplace_divided_step(w, 0.01, numerator, mean_square, 1e-8, np.empty_like(w))
    assert w is before and w.dtype == dtype
    np.testing.assert_allclose(w, expected, rtol=rtol)


def test_inplace_divided_step_with_a_subnormal_numerator():
    # a running mean decayed into the subnormal range still gives the exact step: 0.5 · m / (√1 + 0) = m / 2
    m = np.array([1e-40], np.float32)  # subnormal in float32: 71362 · 2⁻¹⁴⁹, so m / 2 is exact
    assert 0 < m[0] < np.finfo(np.float32).tiny
    w = np.zeros(1, np.float32)
    fastmath.inplace_divided_step(w, 0.5, m, np.ones(1, np.float32), 0.0, np.empty_like(w))
    assert w[0] == -(m[0] / 2)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "every other column"])
def test_inplace_flush_subnormals_sets_what_is_below_tiny_to_zero(dtype, layout):
    info = np.finfo(dtype)
    special = [info.tiny, -info.tiny, info.tiny / 2, -info.tiny / 4, info.smallest_subnormal, 0.0, -0.0,
               info.max, -info.max, np.inf, -np.inf, np.nan, 1.0, -3.5]
    values = np.array(RNG(18).normal(size=len(special) * 3).tolist() + special, dtype=dtype)
    values[: len(special)] *= info.tiny  # subnormals and small normals of both signs
    a = values.reshape(-1, len(special), order="F" if layout == "F" else "C")
    if layout == "every other column":
        a = np.repeat(a, 2, axis=1)[:, ::2]
    assert ((a != 0) & (np.abs(a) < info.tiny)).sum() >= 5  # subnormals of both signs to flush
    expected = a.copy()
    expected[np.abs(expected) < info.tiny] = 0  # the plain formula
    fastmath.inplace_flush_subnormals(a, np.empty_like(a))
    np.testing.assert_array_equal(a, expected)  # NaN where NaN, every normal number and infinity untouched
    assert not np.signbit(a[a == 0]).any()  # every zero, −0 included, is +0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_gates_are_sigmoid_sigmoid_tanh_sigmoid(dtype):
    from numnet.functional import sigmoid

    hidden = 5
    a = (RNG(9).normal(size=(7, 4 * hidden)) * 6).astype(dtype)
    a[0, :] = 1000  # far beyond exp's range: no overflow, no warning (RuntimeWarnings are errors here)
    a[1, :] = -1000
    out = np.empty_like(a)
    gates = fastmath.lstm_gates(a, out)
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    plain = np.concatenate([sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)], axis=1)
    assert out.dtype == dtype
    # ½ + ½ tanh(x/2) agrees with σ to a rounding unit of the result's size (≤ 1), not relatively
    np.testing.assert_allclose(out, plain, rtol=0, atol=2 * np.finfo(dtype).eps)
    for gate, expected in zip(gates, np.split(plain, 4, axis=1)):
        assert gate.shape == (7, hidden) and np.shares_memory(gate, out)
        np.testing.assert_allclose(gate, expected, rtol=0, atol=2 * np.finfo(dtype).eps)
    np.testing.assert_array_equal(out[0], [1] * 10 + [1] * 5 + [1] * 5)
    np.testing.assert_array_equal(out[1], [0] * 10 + [-1] * 5 + [0] * 5)

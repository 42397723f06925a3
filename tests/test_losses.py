import warnings

import numpy as np
import pytest

from numnet import gradcheck
from numnet.losses import MSE, BinaryCrossEntropy, CrossEntropy


def test_mse_worked_example():
    assert MSE()(np.array([1, 0, 0, 1]), np.array([0.0, 0, 0, 0])) == pytest.approx(0.5, rel=1e-15)


def test_mse_gradient_hand_worked():
    # L = ((ŷ1 − y1)² + (ŷ2 − y2)²) / 2, so dL/dŷ = (ŷ − y): for ŷ = [3, 1], y = [1, 1] that is [2, 0]
    np.testing.assert_allclose(MSE().gradient(np.array([[1.0, 1.0]]), np.array([[3.0, 1.0]])), [[2.0, 0.0]])


def test_cross_entropy_hand_worked():
    # logits [0, ln 3]: softmax [1/4, 3/4]; label 1 -> L = −ln(3/4); dL/dz = [1/4, 3/4] − [0, 1] = [1/4, −1/4]
    z = np.array([[0.0, np.log(3.0)]])
    assert CrossEntropy()(np.array([1]), z) == pytest.approx(-np.log(0.75), rel=1e-14)
    np.testing.assert_allclose(CrossEntropy().gradient(np.array([1]), z), [[0.25, -0.25]], rtol=1e-14)
    value, grad = reference_cross_entropy(np.array([[0.0, 1.0]]), z)  # the reference below, on the same numbers
    assert value == pytest.approx(-np.log(0.75), rel=1e-14)
    np.testing.assert_allclose(grad, [[0.25, -0.25]], rtol=1e-14)


def reference_cross_entropy(one_hot, z):
    """−mean Σ y log softmax(z) and (softmax(z) − y) / N in float64, written from the formula on its own:
    log Σ exp z by np.logaddexp.reduce (no max shift), so it shares no code or trick with numnet's."""
    z = np.asarray(z, dtype=np.float64)
    log_softmax = z - np.logaddexp.reduce(z, axis=1, keepdims=True)
    return -np.sum(one_hot * log_softmax) / len(z), (np.exp(log_softmax) - one_hot) / len(z)


def test_cross_entropy_labels_and_one_hot_agree():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 4))
    labels = rng.integers(0, 4, 6)
    one_hot = np.eye(4)[labels]
    loss = CrossEntropy()
    expected_value, expected_grad = reference_cross_entropy(one_hot, z)
    for targets in (labels, one_hot):
        assert loss(targets, z) == pytest.approx(expected_value, rel=1e-14)
        np.testing.assert_allclose(loss.gradient(targets, z), expected_grad, rtol=1e-13, atol=1e-16)


def test_cross_entropy_with_logits_in_any_memory_layout():
    # the label entries are picked and corrected through flat indices: a layout that is not C-contiguous
    # (Fortran order, a column slice) must give the same numbers, not write into a copy
    rng = np.random.default_rng(1)
    z = rng.normal(size=(7, 5))
    labels = rng.integers(0, 5, 7)
    loss = CrossEntropy()
    value, grad = reference_cross_entropy(np.eye(5)[labels], z)
    wide = np.zeros((7, 9))
    wide[:, 2:7] = z
    for layout in (z, np.asfortranarray(z), wide[:, 2:7]):
        other_value, other_grad = loss.value_and_gradient(labels, layout)
        assert other_value == pytest.approx(value, rel=1e-14)
        np.testing.assert_allclose(other_grad, grad, rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(other_grad.sum(axis=1), 0, atol=1e-15)  # softmax − one-hot: each row sums to 0


@pytest.mark.parametrize("dtype", ["i1", "u1", "i2", ">i2", "<i4", "u4", "i8", "u8", ">u8"])
def test_cross_entropy_takes_labels_of_any_integer_type(dtype):
    """Labels of any integer width and byte order give the same loss, and are checked against both ends
    of the range."""
    z = np.random.default_rng(2).normal(size=(4, 3))
    labels = np.array([0, 2, 1, 2])
    loss = CrossEntropy()
    value, grad = loss.value_and_gradient(labels.astype(dtype), z)
    expected_value, expected_grad = reference_cross_entropy(np.eye(3)[labels], z)
    assert value == pytest.approx(expected_value, rel=1e-14)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-13, atol=1e-16)
    with pytest.raises(ValueError, match=r"got labels from 0 to 3"):
        loss(np.array([0, 3, 1, 2], dtype), z)
    if np.dtype(dtype).kind == "i":
        lowest = np.iinfo(dtype).min
        with pytest.raises(ValueError, match=rf"got labels from {lowest} to 2"):
            loss(np.array([lowest, 2, 1, 2], dtype), z)


RNG = np.random.default_rng(0)
CASES = {
    "MSE": (MSE(), lambda n: RNG.normal(size=(n, 3)), lambda n: RNG.normal(size=(n, 3))),
    "BCE": (BinaryCrossEntropy(), lambda n: RNG.uniform(0.05, 0.95, (n, 2)), lambda n: RNG.integers(0, 2, (n, 2))),
    "BCE-logits": (BinaryCrossEntropy(from_logits=True), lambda n: RNG.normal(size=(n, 1)) * 3, lambda n: RNG.integers(0, 2, (n, 1))),
    "CE-labels": (CrossEntropy(), lambda n: RNG.normal(size=(n, 5)), lambda n: RNG.integers(0, 5, n)),
    "CE-soft": (CrossEntropy(), lambda n: RNG.normal(size=(n, 5)), lambda n: RNG.dirichlet(np.ones(5), n)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("batch", [1, 4, 17])
def test_gradcheck(name, batch):
    loss, make_pred, make_true = CASES[name]
    result = gradcheck(loss, make_pred(batch), make_true(batch))
    assert result.max_error < 1e-6, str(result)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_keeps_prediction_dtype(name):
    loss, make_pred, make_true = CASES[name]
    pred = make_pred(3).astype(np.float32)
    assert loss.gradient(make_true(3), pred).dtype == np.float32
    value, grad = loss.value_and_gradient(make_true(3), pred)
    assert isinstance(value, float) and grad.dtype == np.float32


def test_extreme_logits_stay_finite_without_warnings():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = CrossEntropy()(np.array([1, 2]), z)
        grad = CrossEntropy().gradient(np.array([1, 2]), z)
        bce = BinaryCrossEntropy(from_logits=True)
        logits = np.array([[1000.0], [-1000.0]])
        b_value, b_grad = bce(np.array([0, 1]), logits), bce.gradient(np.array([0, 1]), logits)
        saturated = BinaryCrossEntropy()(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert value == pytest.approx(1000.0) and np.isfinite(grad).all()
    assert b_value == pytest.approx(1000.0) and np.isfinite(b_grad).all()
    assert saturated == pytest.approx(100.0)  # log clamped at −100, as torch's BCELoss


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 1e-6)])
def test_cross_entropy_matches_a_reference_written_from_the_formula(dtype, tol):
    # value_and_gradient, loss() and gradient() all against the float64 reference, for labels and one-hot rows
    rng = np.random.default_rng(5)
    z = (rng.normal(size=(9, 6)) * 5).astype(dtype)
    z[0] = [1000.0, -1000.0, 0.0, 3.0, -2.0, 999.0]  # large logits must not overflow
    labels = rng.integers(0, 6, 9)
    labels[0] = 5  # that row's term: log(e¹⁰⁰⁰ + e⁹⁹⁹ + …) − 999 = log(e + 1), not inf or nan
    one_hot = np.eye(6)[labels]
    expected_value, expected_grad = reference_cross_entropy(one_hot, z)
    loss = CrossEntropy()
    for targets in (labels, one_hot):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            value, grad = loss.value_and_gradient(targets, z)
            separate = loss(targets, z), loss.gradient(targets, z)
        for got_value, got_grad in ((value, grad), separate):
            assert got_grad.dtype == dtype and got_grad.shape == z.shape
            assert got_value == pytest.approx(expected_value, rel=tol)
            np.testing.assert_allclose(got_grad, expected_grad, rtol=tol * 10, atol=tol / len(z))


def test_targets_of_shape_n_against_outputs_of_shape_n_by_1():
    assert MSE()(np.array([1.0, 0.0]), np.array([[1.0], [1.0]])) == pytest.approx(0.5)


def test_errors():
    with pytest.raises(ValueError, match=r"labels must be in the range \[0, 2\] for 3 classes, got labels from 0 to 3"):
        CrossEntropy()(np.array([0, 3]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"labels must be in the range"):
        CrossEntropy()(np.array([-1, 0]), np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"targets of shape \(2,\) must be integer class labels"):
        CrossEntropy()(np.array([0.0, 1.0]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"expected integer labels of shape \(2,\) or one-hot targets of shape \(2, 3\), got \(2, 4\)"):
        CrossEntropy()(np.zeros((2, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"expected y_true of the same shape as y_pred \(2, 3\), got \(3, 2\)"):
        MSE()(np.zeros((3, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="predictions must be probabilities"):
        BinaryCrossEntropy()(np.array([[1.0]]), np.array([[3.0]]))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        BinaryCrossEntropy()(np.array([[2.0]]), np.array([[0.5]]))


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_matches_torch(dtype, tol):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    z = rng.normal(size=(7, 4)).astype(dtype) * 4
    labels = rng.integers(0, 4, 7)
    probs = rng.uniform(0.01, 0.99, (7, 4)).astype(dtype)
    binary = rng.integers(0, 2, (7, 4)).astype(dtype)
    target = rng.normal(size=(7, 4)).astype(dtype)
    cases = [
        (CrossEntropy(), labels, z, lambda t: F.cross_entropy(t, torch.from_numpy(labels))),
        (MSE(), target, z, lambda t: F.mse_loss(t, torch.from_numpy(target))),
        (BinaryCrossEntropy(), binary, probs, lambda t: F.binary_cross_entropy(t, torch.from_numpy(binary))),
        (BinaryCrossEntropy(from_logits=True), binary, z, lambda t: F.binary_cross_entropy_with_logits(t, torch.from_numpy(binary))),
    ]
    for loss, y_true, y_pred, torch_loss in cases:
        t = torch.from_numpy(y_pred).requires_grad_()
        value = torch_loss(t)
        value.backward()
        assert loss(y_true, y_pred) == pytest.approx(value.item(), rel=tol), loss
        np.testing.assert_allclose(loss.gradient(y_true, y_pred), t.grad.numpy(), rtol=tol, atol=tol, err_msg=repr(loss))


# -- reductions, sample weights, class weights, sequences, ignore_index: each against PyTorch ----------------


def _torch_value_and_gradient(torch, function, y_pred, reduction):
    """torch's loss and the gradient of its sum (for reduction="none": backward with ones, as numnet's "none")."""
    t = torch.from_numpy(y_pred).requires_grad_()
    value = function(t)
    value.sum().backward()
    return value.detach().numpy(), t.grad.numpy()


def _torch_cases(torch, reduction, rng):
    import torch.nn.functional as F

    z = rng.normal(size=(7, 4)) * 4
    labels = rng.integers(0, 4, 7)
    probs = rng.uniform(0.01, 0.99, (7, 4))
    binary = rng.integers(0, 2, (7, 4)).astype(np.float64)
    target = rng.normal(size=(7, 4))
    soft = rng.dirichlet(np.ones(4), 7)
    return [
        (CrossEntropy(reduction=reduction), labels, z, lambda t: F.cross_entropy(t, torch.from_numpy(labels), reduction=reduction)),
        (CrossEntropy(reduction=reduction), soft, z, lambda t: F.cross_entropy(t, torch.from_numpy(soft), reduction=reduction)),
        (MSE(reduction=reduction), target, z, lambda t: F.mse_loss(t, torch.from_numpy(target), reduction=reduction)),
        (BinaryCrossEntropy(reduction=reduction), binary, probs,
         lambda t: F.binary_cross_entropy(t, torch.from_numpy(binary), reduction=reduction)),
        (BinaryCrossEntropy(from_logits=True, reduction=reduction), binary, z,
         lambda t: F.binary_cross_entropy_with_logits(t, torch.from_numpy(binary), reduction=reduction)),
    ]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reductions_match_torch(reduction):
    torch = pytest.importorskip("torch")
    for loss, y_true, y_pred, torch_loss in _torch_cases(torch, reduction, np.random.default_rng(3)):
        expected_value, expected_grad = _torch_value_and_gradient(torch, torch_loss, y_pred, reduction)
        value, grad = loss.value_and_gradient(y_true, y_pred)
        assert isinstance(value, np.ndarray if reduction == "none" else float), loss
        np.testing.assert_allclose(value, expected_value, rtol=1e-12, atol=1e-14, err_msg=repr(loss))
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-14, err_msg=repr(loss))
        np.testing.assert_allclose(loss(y_true, y_pred), value, rtol=1e-15)
        np.testing.assert_allclose(loss.gradient(y_true, y_pred), grad, rtol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("targets", ["labels", "soft"])
def test_cross_entropy_class_weight_matches_torch(reduction, targets):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(4)
    z = rng.normal(size=(9, 5)) * 3
    y = rng.integers(0, 5, 9) if targets == "labels" else rng.dirichlet(np.ones(5), 9)
    weight = rng.uniform(0.1, 3.0, 5)
    loss = CrossEntropy(class_weight=weight, reduction=reduction)
    expected_value, expected_grad = _torch_value_and_gradient(
        torch, lambda t: F.cross_entropy(t, torch.from_numpy(y), weight=torch.from_numpy(weight), reduction=reduction), z, reduction
    )
    value, grad = loss.value_and_gradient(y, z)
    np.testing.assert_allclose(value, expected_value, rtol=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


def test_cross_entropy_class_weight_hand_worked():
    # two samples with equal logits (softmax [1/2, 1/2], so each ℓ = ln 2) of classes 0 and 1, weights [1, 3]:
    # L = (1·ln 2 + 3·ln 2) / (1 + 3) = ln 2;  dL/dz₀ = 1·([1/2, 1/2] − [1, 0]) / 4 = [−1/8, 1/8]
    loss = CrossEntropy(class_weight=[1.0, 3.0])
    value, grad = loss.value_and_gradient(np.array([0, 1]), np.zeros((2, 2)))
    assert value == pytest.approx(np.log(2), rel=1e-15)
    np.testing.assert_allclose(grad, [[-1 / 8, 1 / 8], [3 / 8, -3 / 8]], rtol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore_index", [None, -100, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_on_sequences_matches_torch(reduction, ignore_index, weighted):
    # numnet: logits (N, T, C), class axis last; torch: (N, C, T), class axis second: the same numbers moved
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(5)
    z = rng.normal(size=(3, 6, 4)) * 3
    labels = rng.integers(0, 4, (3, 6))
    if ignore_index is not None:
        labels[0, 4:] = ignore_index  # padding at the end of a sequence
        labels[2, 0] = ignore_index
    weight = rng.uniform(0.2, 2.0, 4) if weighted else None
    loss = CrossEntropy(class_weight=weight, ignore_index=ignore_index, reduction=reduction)
    options = {"weight": torch.from_numpy(weight) if weighted else None, "reduction": reduction,
               "ignore_index": -100 if ignore_index is None else ignore_index}
    expected_value, expected_grad = _torch_value_and_gradient(
        torch, lambda t: F.cross_entropy(t.transpose(1, 2), torch.from_numpy(labels), **options), z, reduction
    )
    value, grad = loss.value_and_gradient(labels, z)
    assert grad.shape == z.shape
    np.testing.assert_allclose(value, expected_value, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-12)
    if reduction != "none":  # gradcheck needs a scalar loss
        assert gradcheck(loss, z, labels).max_error < 1e-6


def test_cross_entropy_on_sequences_with_one_hot_targets_matches_torch():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(6)
    z = rng.normal(size=(2, 5, 3))
    soft = rng.dirichlet(np.ones(3), (2, 5))
    expected_value, expected_grad = _torch_value_and_gradient(
        torch, lambda t: F.cross_entropy(t.transpose(1, 2), torch.from_numpy(soft).transpose(1, 2)), z, "mean"
    )
    value, grad = CrossEntropy().value_and_gradient(soft, z)
    assert value == pytest.approx(float(expected_value), rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


def test_ignore_index_ignores_the_logits_of_ignored_positions():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(4, 3))
    labels = np.array([0, -1, 2, -1])
    loss = CrossEntropy(ignore_index=-1)
    value, grad = loss.value_and_gradient(labels, z)
    changed = z.copy()
    changed[[1, 3]] = 1e6
    assert loss(labels, changed) == pytest.approx(value, rel=1e-15)
    np.testing.assert_array_equal(grad[[1, 3]], 0)
    assert value == pytest.approx(CrossEntropy()(labels[[0, 2]], z[[0, 2]]), rel=1e-14)


def test_all_ignored_or_zero_weight_gives_zero_loss_and_gradient_not_nan():
    z = np.random.default_rng(8).normal(size=(3, 4))
    value, grad = CrossEntropy(ignore_index=-1).value_and_gradient(np.array([-1, -1, -1]), z)
    assert value == 0.0 and np.array_equal(grad, np.zeros_like(z))
    value, grad = MSE().value_and_gradient(np.zeros((3, 4)), z, sample_weight=np.zeros(3))
    assert value == 0.0 and np.array_equal(grad, np.zeros_like(z))


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_weight_is_a_weighted_mean_of_the_per_sample_losses(name):
    # L = Σ wₙ ℓₙ / Σ wₙ, ℓₙ the mean of sample n's terms; its gradient checked by finite differences
    loss, make_pred, make_true = CASES[name]
    rng = np.random.default_rng(9)
    y_pred, y_true = make_pred(6), make_true(6)
    weight = rng.uniform(0, 2, 6)
    weight[2] = 0.0
    per_term = type(loss)(**({"from_logits": loss.from_logits} if hasattr(loss, "from_logits") else {}), reduction="none")
    terms = per_term(y_true, y_pred)
    per_sample = terms.reshape(6, -1).mean(axis=1)
    expected = np.sum(weight * per_sample) / np.sum(weight)
    assert loss(y_true, y_pred, sample_weight=weight) == pytest.approx(expected, rel=1e-13)
    # a weight of 0 is the same as leaving the sample out; equal weights are no weights
    kept = weight > 0
    assert loss(y_true, y_pred, sample_weight=weight) != pytest.approx(loss(y_true, y_pred))
    assert loss(y_true[kept], y_pred[kept], sample_weight=weight[kept]) == pytest.approx(expected, rel=1e-13)
    assert loss(y_true, y_pred, sample_weight=np.full(6, 3.0)) == pytest.approx(loss(y_true, y_pred), rel=1e-13)

    class Weighted(type(loss)):
        def value_and_gradient(self, y, p, sample_weight=None):
            return super().value_and_gradient(y, p, weight)

    weighted = Weighted(**({"from_logits": loss.from_logits} if hasattr(loss, "from_logits") else {}))
    assert gradcheck(weighted, y_pred, y_true).max_error < 1e-6


def test_sample_weight_with_class_weight_matches_torch_reduction_none():
    # torch has no sample weights: its reduction="none" terms, weighted by hand, are the reference
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(10)
    z = rng.normal(size=(8, 3))
    labels = rng.integers(0, 3, 8)
    class_weight = np.array([0.5, 2.0, 1.0])
    sample_weight = rng.uniform(0, 2, 8)
    t = torch.from_numpy(z).requires_grad_()
    terms = F.cross_entropy(t, torch.from_numpy(labels), weight=torch.from_numpy(class_weight), reduction="none")
    expected = (terms * torch.from_numpy(sample_weight)).sum() / (torch.from_numpy(class_weight[labels] * sample_weight)).sum()
    expected.backward()
    value, grad = CrossEntropy(class_weight=class_weight).value_and_gradient(labels, z, sample_weight=sample_weight)
    assert value == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_option_errors():
    with pytest.raises(ValueError, match=r"CrossEntropy: reduction must be one of 'mean', 'sum', 'none'. Received: reduction='avg'"):
        CrossEntropy(reduction="avg")
    with pytest.raises(ValueError, match=r"MSE: reduction must be one of"):
        MSE(reduction=None)
    with pytest.raises(ValueError, match=r"class_weight must be a 1-D array of one weight per class"):
        CrossEntropy(class_weight=[[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"class_weight must be finite and non-negative"):
        CrossEntropy(class_weight=[1.0, -2.0])
    with pytest.raises(ValueError, match=r"class_weight has 2 weights, the logits 3 classes \(4, 3\)"):
        CrossEntropy(class_weight=[1.0, 2.0])(np.zeros(4, int), np.zeros((4, 3)))
    with pytest.raises(TypeError, match=r"ignore_index must be an integer label or None. Received: ignore_index=1.5"):
        CrossEntropy(ignore_index=1.5)
    with pytest.raises(ValueError, match=r"labels must be in the range \[0, 2\] for 3 classes, got labels from -2 to 1"):
        CrossEntropy(ignore_index=-1)(np.array([-1, -2, 1]), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"expected labels of shape \(2, 5\) for logits of shape \(2, 5, 3\), got \(2, 4\)"):
        CrossEntropy()(np.zeros((2, 4), int), np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"expected one sample weight per sample, shape \(3,\), got \(2,\)"):
        MSE()(np.zeros(3), np.zeros(3), sample_weight=np.ones(2))
    with pytest.raises(ValueError, match=r"sample_weight must be finite and non-negative, got values from -1.0 to 1.0"):
        MSE()(np.zeros(3), np.zeros(3), sample_weight=np.array([1.0, -1.0, 1.0]))
    with pytest.raises(TypeError, match=r"sample_weight must be numbers"):
        MSE()(np.zeros(3), np.zeros(3), sample_weight=np.array(["a", "b", "c"]))


def test_repr_names_the_options():
    assert repr(CrossEntropy()) == "CrossEntropy()"
    assert repr(CrossEntropy(class_weight=[1, 2], ignore_index=-100, reduction="sum")) == (
        "CrossEntropy(class_weight=[1.0, 2.0], ignore_index=-100, reduction='sum')"
    )
    assert repr(BinaryCrossEntropy(from_logits=True, reduction="none")) == "BinaryCrossEntropy(from_logits=True, reduction='none')"

import numpy as np
import pytest

from numnet import metrics


def test_regression_metrics_hand_worked():
    # errors ŷ − y = [1, −2, 0, 1]: MAE = 4/4 = 1, MSE = 6/4 = 1.5;
    # y = [0, 2, 4, 6] has mean 3, Σ (y − ȳ)² = 9 + 1 + 1 + 9 = 20, so R² = 1 − 6/20 = 0.7
    y = np.array([0.0, 2.0, 4.0, 6.0])
    y_hat = np.array([[1.0], [0.0], [4.0], [7.0]])
    assert metrics.mean_absolute_error(y, y_hat) == pytest.approx(1.0, rel=1e-15)
    assert metrics.mean_squared_error(y, y_hat) == pytest.approx(1.5, rel=1e-15)
    assert metrics.r2_score(y, y_hat) == pytest.approx(0.7, rel=1e-15)


@pytest.mark.parametrize("outputs", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_regression_metrics_equal_scikit_learn(outputs, weighted):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.normal(size=(20, outputs))
    y_hat = y + rng.normal(scale=0.5, size=(20, outputs))
    weight = rng.uniform(0, 3, 20) if weighted else None
    for ours, theirs in ((metrics.mean_absolute_error, sklearn_metrics.mean_absolute_error),
                         (metrics.mean_squared_error, sklearn_metrics.mean_squared_error),
                         (metrics.r2_score, sklearn_metrics.r2_score)):
        assert ours(y, y_hat, sample_weight=weight) == pytest.approx(theirs(y, y_hat, sample_weight=weight), rel=1e-12), ours


def test_r2_of_constant_targets_follows_scikit_learn():
    # Σ (y − ȳ)² = 0: 1 for a perfect fit, 0 otherwise (no division by zero)
    y = np.full(5, 2.0)
    assert metrics.r2_score(y, y.copy()) == 1.0
    assert metrics.r2_score(y, y + 1) == 0.0


@pytest.mark.parametrize("name", ["accuracy", "top_k_accuracy"])
def test_classification_metrics_with_sample_weight(name):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(30, 4))
    labels = rng.integers(0, 4, 30)
    weight = rng.uniform(0, 2, 30)
    if name == "accuracy":
        expected = sklearn_metrics.accuracy_score(labels, logits.argmax(axis=1), sample_weight=weight)
        assert metrics.accuracy(labels, logits, sample_weight=weight) == pytest.approx(expected, rel=1e-14)
    else:
        expected = sklearn_metrics.top_k_accuracy_score(labels, logits, k=2, sample_weight=weight)
        assert metrics.top_k_accuracy(labels, logits, k=2, sample_weight=weight) == pytest.approx(expected, rel=1e-14)


def test_accuracy_hand_worked_with_weights():
    # rows 0 and 2 right, row 1 wrong: weights [1, 3, 1] give (1 + 1) / 5
    logits = np.array([[2.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    assert metrics.accuracy(np.array([0, 1, 1]), logits, sample_weight=[1, 3, 1]) == pytest.approx(0.4, rel=1e-15)
    assert metrics.accuracy(np.array([0, 1, 1]), logits) == pytest.approx(2 / 3, rel=1e-15)


def test_regression_metrics_reject_mismatched_shapes():
    with pytest.raises(ValueError, match=r"mean_absolute_error compares outputs with targets of the same shape; got outputs \(3, 2\) and targets \(3,\)"):
        metrics.mean_absolute_error(np.zeros(3), np.zeros((3, 2)))

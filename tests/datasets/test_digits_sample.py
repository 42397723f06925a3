import numpy as np

from numnet.datasets import load_digits_sample, stratified_split


def test_embedded_sample_split():
    (x_train, y_train), (x_test, y_test) = load_digits_sample()
    assert x_train.shape == (8000, 28, 28) and x_test.shape == (2000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    counts = np.bincount(np.concatenate([y_train, y_test]), minlength=10)
    np.testing.assert_array_equal(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978])
    # stratified: every class has 20% ± one sample in the test split
    np.testing.assert_array_less(np.abs(np.bincount(y_test) - counts * 0.2), 1)
    # fixed seed: the same split every time, and no image in both splits
    (_, y_again), _ = load_digits_sample()
    np.testing.assert_array_equal(y_train, y_again)
    train_rows = {row.tobytes() for row in x_train}
    assert not any(row.tobytes() in train_rows for row in x_test)


def test_stratified_split_exact_size():
    labels = np.array([0] * 7 + [1] * 5 + [2] * 3)
    train, test = stratified_split(labels, 0.2, seed=1)
    assert len(test) == 3 and len(train) == 12
    assert set(np.bincount(labels[test], minlength=3)) <= {0, 1, 2}
    assert not set(train) & set(test)

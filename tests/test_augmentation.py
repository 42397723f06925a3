import numpy as np
import pytest

import numnet
from numnet.augmentation import ImageAugmenter
from numnet.layers import Dense, Flatten
from numnet.losses import CrossEntropy
from numnet.optimizers import SGD


def test_zero_ranges_leave_images_unchanged():
    images = np.random.default_rng(0).random((4, 9, 7), dtype=np.float32)
    out = ImageAugmenter(0, 0, 0)(images, np.random.default_rng(1))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, images, atol=1e-6)


def test_a_whole_pixel_shift_moves_the_image():
    image = np.zeros((1, 9, 9), dtype=np.float32)
    image[0, 4, 4] = 1

    class FixedShift:  # a generator stand-in: rotation 0, shift (+1, −2)
        def uniform(self, low, high, size):
            return np.zeros(size) if np.ndim(size) == 0 or size == 1 else np.array([[1.0, -2.0]])

    out = ImageAugmenter(max_shift=2, max_rotation=0)(image, FixedShift())
    assert out[0, 5, 2] == pytest.approx(1) and out.sum() == pytest.approx(1)


def test_a_quarter_turn_rotates_about_the_centre():
    image = np.zeros((1, 5, 5))
    image[0, 0, 2] = 1  # top middle

    class QuarterTurn:
        def uniform(self, low, high, size):
            return np.full(size, 90.0) if np.ndim(size) == 0 or size == 1 else np.zeros((1, 2))

    out = ImageAugmenter(max_shift=0, max_rotation=90)(image, QuarterTurn())
    assert out.sum() == pytest.approx(1) and max(out[0, 2, 0], out[0, 2, 4]) == pytest.approx(1)


def test_seeded_and_bounded():
    images = np.random.default_rng(0).random((8, 28, 28))
    augmenter = ImageAugmenter(max_shift=3, max_rotation=15, noise=0.1)
    a = augmenter(images, np.random.default_rng(5))
    np.testing.assert_array_equal(a, augmenter(images, np.random.default_rng(5)))
    assert a.min() >= 0 and a.max() <= 1 and not np.allclose(a, images)
    with pytest.raises(ValueError, match=r"ImageAugmenter: max_shift must be a number in the range \[0, inf\). Received: max_shift="):
        ImageAugmenter(max_shift=-1)
    with pytest.raises(ValueError, match=r"expected images of shape \(N, H, W\) or \(N, C, H, W\), got \(8, 784\)"):
        augmenter(images.reshape(8, -1), np.random.default_rng(0))


def test_fit_augments_training_batches_only():
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 6, 6), dtype=np.float32), rng.integers(0, 2, 40)
    seen = []

    def augment(batch, generator):
        seen.append(len(batch))
        return batch

    model = numnet.Sequential([Flatten(), Dense(36, 2, rng=0)])
    model.fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=2, batch_size=10, verbose=0,
              validation_data=(x[:7], y[:7]), augment=augment)
    assert seen == [10] * 8  # 4 batches per epoch, never the 7 validation images

"""A LeNet-like convolutional network on the embedded MNIST sample, through the Python API.

Run: python examples/mnist_cnn.py        (about 35–40 s on two cores; 98.50 % on the 2,000 test digits)
"""

import numpy as np

import numnet
from numnet.augmentation import ImageAugmenter
from numnet.callbacks import LearningRateScheduler
from numnet.datasets import load_digits_sample, scale
from numnet.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from numnet.losses import CrossEntropy
from numnet.optimizers import Adam
from numnet.schedules import CosineAnnealingLR


def build(seed=0):
    rng = np.random.default_rng(seed)
    return numnet.Sequential([
        Conv2D(1, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),    # (N, 16, 14, 14)
        Conv2D(16, 32, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),   # (N, 32, 7, 7)
        Flatten(), Dense(32 * 7 * 7, 128, rng=rng), ReLU(), Dropout(0.3, rng=rng),
        Dense(128, 10, rng=rng),
    ], input_shape=(1, 28, 28))


def main(epochs=15):
    (x_train, y_train), (x_test, y_test) = load_digits_sample()
    x_train, x_test = scale(x_train)[:, None], scale(x_test)[:, None]  # add the channel axis: (N, 1, 28, 28)
    model = build()
    model.summary()
    optimizer = Adam(1e-3)
    model.fit(x_train, y_train, loss=CrossEntropy(), optimizer=optimizer, epochs=epochs, batch_size=64, seed=0,
              validation_split=0.1, augment=ImageAugmenter(max_shift=2, max_rotation=10),
              callbacks=[LearningRateScheduler(CosineAnnealingLR(optimizer, T_max=epochs, warmup_epochs=min(2, epochs - 1)))])
    results = model.evaluate(x_test, y_test, loss=CrossEntropy())
    print(f"test accuracy: {results['accuracy']:.2%}")
    return model, results


if __name__ == "__main__":
    main()

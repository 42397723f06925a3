"""The offline default: 10,000 real MNIST digits shipped inside the package.

The digits are MNIST's (Yann LeCun, Corinna Cortes, Christopher J.C. Burges), under the Creative
Commons Attribution-Share Alike 3.0 licence; see data/README.md beside this module.
"""

from __future__ import annotations

from importlib import resources
from typing import Tuple

import numpy as np

from .idx import read_idx
from .preprocessing import stratified_split

SPLIT_SEED = 0
TEST_FRACTION = 0.2


def load_digits_sample() -> Tuple[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]:
    """The embedded digit sample, split stratified 8,000 train / 2,000 test with a fixed seed.

    Returns:
        (x_train, y_train), (x_test, y_test): images (N, 28, 28) uint8 (0 background, 255 ink)
        and labels (N,) uint8 in 0..9.
    """
    data = resources.files(__package__) / "data"
    with resources.as_file(data / "images-idx3-ubyte.gz") as images, resources.as_file(data / "labels-idx1-ubyte.gz") as labels:
        x, y = read_idx(images), read_idx(labels)
    train, test = stratified_split(y, TEST_FRACTION, SPLIT_SEED)
    return (x[train], y[train]), (x[test], y[test])

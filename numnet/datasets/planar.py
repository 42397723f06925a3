"""Two-class data sets in the plane: circles, XOR, two spirals and Gaussian blobs.

The pictures every introduction to neural networks draws (and TensorFlow's playground made famous):
small enough to train in a blink, and the decision boundary a network learns can be seen whole.
Points lie in the square [−6, 6]² (the blobs' tails may stray a little beyond it).
"""

import numpy as np

from .preprocessing import stratified_split

PLANAR_DATASETS = ("circles", "xor", "spirals", "blobs")
#: the plane a planar data set is drawn in: x₁ and x₂ both range over [−EXTENT, EXTENT]
EXTENT = 6.0


def _circles(n, noise, rng):
    """Label 1 inside a disc of radius 2.5, label 0 on a ring from 3.5 to 5."""
    radius = 5.0
    inside = np.arange(n) < n // 2
    r = np.where(inside, rng.uniform(0, 0.5 * radius, n), rng.uniform(0.7 * radius, radius, n))
    angle = rng.uniform(0, 2 * np.pi, n)
    x = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    x += rng.uniform(-radius, radius, (n, 2)) * noise
    return x, inside.astype(np.uint8)


def _xor(n, noise, rng):
    """Label 1 where x₁·x₂ > 0 (the first and third quadrants); points keep 0.3 away from the axes."""
    x = rng.uniform(-5, 5, (n, 2))
    x += np.where(x > 0, 0.3, -0.3)
    label = (x[:, 0] * x[:, 1] > 0).astype(np.uint8)
    x += rng.uniform(-5, 5, (n, 2)) * noise
    return x, label


def _spirals(n, noise, rng):
    """Two interleaved spirals of 1.75 turns, one per class, starting at the origin."""
    half = n // 2
    label = (np.arange(n) >= half).astype(np.uint8)
    position = np.where(label == 0, np.arange(n), np.arange(n) - half) / np.where(label == 0, half, n - half)
    r = 5 * position
    angle = 1.75 * 2 * np.pi * position + np.pi * label
    x = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    x += rng.uniform(-1, 1, (n, 2)) * noise * 2
    return x, label


def _blobs(n, noise, rng):
    """Two round Gaussian clusters around (2, 2) (label 1) and (−2, −2) (label 0); noise widens them."""
    label = (np.arange(n) < n // 2).astype(np.uint8)
    centre = np.where(label[:, None] == 1, 2.0, -2.0)
    spread = 0.5 + 3.5 * (noise / 0.5)  # variance from 0.5 (noise 0) to 4 (noise 0.5)
    x = centre + rng.normal(0, np.sqrt(spread), (n, 2))
    return x, label


_MAKERS = {"circles": _circles, "xor": _xor, "spirals": _spirals, "blobs": _blobs}


def planar_dataset(name, points=500, noise=0.0, test_fraction=0.5, seed=0):
    """A two-class data set in the plane, split stratified into a training and a test part.

    Args:
        name: one of PLANAR_DATASETS: "circles", "xor", "spirals", "blobs".
        points: number of points, both parts together (default 500; at least 4).
        noise: in [0, 0.5]: how far points are pushed off their clean position (for "blobs",
            how wide the clusters are). 0 gives classes that a network can separate perfectly.
        test_fraction: the share of points held out for testing, in (0, 1) (default 0.5).
        seed: seed of the points and of the split.

    Returns:
        (x_train, y_train), (x_test, y_test): x float32 (N, 2) coordinates, y uint8 (N,) labels 0 or 1.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = planar_dataset("xor", points=200, seed=1)
    """
    if name not in _MAKERS:
        raise ValueError(f"unknown planar data set {name!r}; expected one of {', '.join(PLANAR_DATASETS)}")
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 4:
        raise ValueError(f"points must be an integer of at least 4. Received: points={points!r}")
    if not (isinstance(noise, (int, float)) and 0 <= noise <= 0.5):
        raise ValueError(f"noise must be a number in the range [0, 0.5]. Received: noise={noise!r}")
    if not (isinstance(test_fraction, (int, float)) and 0 < test_fraction < 1):
        raise ValueError(f"test_fraction must be a number in the range (0, 1). Received: test_fraction={test_fraction!r}")
    rng = np.random.default_rng(seed)
    x, y = _MAKERS[name](int(points), float(noise), rng)
    train, test = stratified_split(y, test_fraction, seed)
    if min(len(train), len(test)) < 2:
        raise ValueError(
            f"test_fraction={test_fraction} of {points} points leaves {len(train)} for training and {len(test)} for "
            "testing; each part needs at least 2"
        )
    x = x.astype(np.float32)
    return (x[train], y[train]), (x[test], y[test])

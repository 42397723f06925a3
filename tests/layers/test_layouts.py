"""A conv stack keeps its feature maps batch-innermost in memory, (C, H, W, N) behind (N, C, H, W)
views; every layer must give the same results whatever the memory layout of its input."""

import numpy as np
import pytest

from numnet.layers import AvgPool2D, Conv2D, Flatten, MaxPool2D, ReLU


def in_layouts(x):
    """x (N, C, H, W) stored row-major, batch-innermost and channels-last."""
    for axes in [(0, 1, 2, 3), (1, 2, 3, 0), (0, 2, 3, 1)]:
        yield np.ascontiguousarray(x.transpose(axes)).transpose(np.argsort(axes))


def batch_innermost(array):
    return array.transpose(1, 2, 3, 0).flags.c_contiguous


LAYERS = {
    "conv": lambda: Conv2D(3, 4, 3, padding=1, rng=0, dtype=np.float64),
    "strided conv": lambda: Conv2D(3, 2, (3, 2), stride=2, rng=0, dtype=np.float64),
    "relu": ReLU,
    "max pool": lambda: MaxPool2D(2),
    "overlapping max pool": lambda: MaxPool2D(3, stride=1),
    "avg pool": lambda: AvgPool2D(2),
    "flatten": Flatten,
}


@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS.keys())
def test_results_do_not_depend_on_the_input_layout(make):
    x = np.random.default_rng(0).normal(size=(5, 3, 7, 6))
    x[0, 0, :2, :2] = 1.0  # a tie inside a pooling window
    results = []
    for x_in in in_layouts(x):
        layer = make()
        y = layer.forward(x_in)
        d_x = layer.backward(np.random.default_rng(1).normal(size=y.shape))
        assert d_x.shape == x.shape
        results.append((y, d_x, *layer.grads.values()))
    for result in results[1:]:
        for got, expected in zip(result, results[0]):
            np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


def test_a_conv_stack_passes_batch_innermost_maps_both_ways():
    layers = [Conv2D(1, 4, 3, padding=1, rng=0), ReLU(), MaxPool2D(2), Conv2D(4, 6, 3, rng=1), ReLU(),
              AvgPool2D(2), Flatten()]
    h = np.random.default_rng(2).normal(size=(8, 1, 12, 12)).astype(np.float32)  # row-major, as data comes
    for layer in layers:
        h = layer.forward(h)
        assert h.ndim == 2 or batch_innermost(h), layer
    grad = np.ones_like(h)
    for layer in reversed(layers[1:]):
        grad = layer.backward(grad)
        assert batch_innermost(grad), layer

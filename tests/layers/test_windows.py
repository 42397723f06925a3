import numpy as np
import pytest

from numnet.layers.windows import kernel_offsets, output_size, pair


def test_pair():
    assert pair("Conv2D", "kernel_size", 3) == (3, 3)
    assert pair("Conv2D", "kernel_size", (3, np.int64(2))) == (3, 2)
    assert pair("Conv2D", "padding", 0, minimum=0) == (0, 0)
    for bad in (0, (3,), (3, 0), (3, 2.0), True, "33", None):
        with pytest.raises(ValueError, match=rf"Conv2D: kernel_size must be an integer ≥ 1 or a pair of them. Received: kernel_size="):
            pair("Conv2D", "kernel_size", bad)


@pytest.mark.parametrize("size, kernel, stride, padding, expected", [
    (28, 5, 1, 0, 24), (28, 3, 1, 1, 28), (7, 3, 2, 1, 4), (6, 2, 2, 0, 3), (5, 5, 1, 0, 1), (8, 3, 3, 0, 2),
])
def test_output_size_counts_window_positions(size, kernel, stride, padding, expected):
    assert output_size(size, kernel, stride, padding) == expected
    # the same count by brute force: window starts s·i with s·i + kernel ≤ size + 2·padding
    assert expected == len([start for start in range(0, size + 2 * padding, stride) if start + kernel <= size + 2 * padding])


def test_kernel_offsets_visit_every_window_entry_once():
    # 7×6 input, kernel (3, 2), stride (2, 2): each (offset, window) pair meets one input position
    x = np.arange(42).reshape(7, 6)
    out_h, out_w = output_size(7, 3, 2, 0), output_size(6, 2, 2, 0)
    windows = np.empty((3, 2, out_h, out_w), dtype=int)
    for (p, q), rows, columns in kernel_offsets((3, 2), (2, 2), out_h, out_w):
        windows[p, q] = x[rows, columns]
    for i in range(out_h):
        for j in range(out_w):
            np.testing.assert_array_equal(windows[:, :, i, j], x[2 * i : 2 * i + 3, 2 * j : 2 * j + 2])

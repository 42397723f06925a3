"""2-D convolution, computed as a matrix multiply over all image patches (im2col)."""

import numbers

import numpy as np

from ._checks import float_dtype, positive_int
from .base import WeightedLayer, as_array


def pair(layer_name, name, value, minimum=1):
    """An int or a pair of ints -> a pair of ints ≥ minimum."""
    values = (value, value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
    except TypeError:
        values = ()
    if len(values) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= minimum for v in values):
        raise ValueError(f"{layer_name}: {name} must be an integer ≥ {minimum} or a pair of them. Received: {name}={value!r}")
    return tuple(int(v) for v in values)


def output_size(size, kernel, stride, padding):
    """⌊(size + 2·padding − kernel) / stride⌋ + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def kernel_offsets(kernel, stride, out_h, out_w):
    """For each kernel offset (p, q): the rows and the columns of the input that offset meets across
    all windows, as two strided slices. Looping over the kh·kw offsets with whole-array operations
    is what keeps convolution and pooling free of per-pixel Python loops."""
    (kh, kw), (sh, sw) = kernel, stride
    for p in range(kh):
        for q in range(kw):
            yield (p, q), slice(p, p + sh * out_h, sh), slice(q, q + sw * out_w, sw)


# The products below multiply matrices ~10 rows high and 10⁴–10⁵ output positions wide. OpenBLAS runs
# such a product 2–4x slower whole than in slices of a few thousand positions, which stay in cache.
POSITIONS_PER_SLICE = 4096


def position_slices(positions):
    return (slice(start, start + POSITIONS_PER_SLICE) for start in range(0, positions, POSITIONS_PER_SLICE))


def product_by_slices(left, right):
    """left @ right, computed over slices of right's columns (the output positions)."""
    product = np.empty((left.shape[0], right.shape[1]), dtype=np.result_type(left, right))
    for part in position_slices(right.shape[1]):
        np.matmul(left, right[:, part], out=product[:, part])
    return product


class Conv2D(WeightedLayer):
    """2-D convolution (as in deep learning: a cross-correlation), NCHW layout as in PyTorch.

    Forward:  Y[n, o, i, j] = b[o] + Σ_c Σ_p Σ_q W[o, c, p, q] · Xpad[n, c, i·s + p, j·s + q]
              computed as a matrix multiply: Y = W cols(X) + b, with W as (out, in·kh·kw) and
              cols(X) holding every patch as a column, one per output position (i, j, n).
    Backward: dW[o, c, p, q] = Σ_n Σ_i Σ_j dY[n, o, i, j] · Xpad[n, c, i·s + p, j·s + q]
                  (a correlation of the input with dY: dW = dY cols(X)ᵀ)
              db[o] = Σ_n Σ_i Σ_j dY[n, o, i, j]
              dX = the full convolution of dY (dilated by the stride) with W flipped in both axes,
                  computed by scattering Wᵀ dY back onto the patches (col2im) and cropping the padding.
    Shapes:   X (N, in_channels, H, W) -> Y (N, out_channels, OH, OW),
              OH = ⌊(H + 2·padding − kh) / stride⌋ + 1 (likewise OW);
              weight (out_channels, in_channels, kh, kw), bias (out_channels,).
              Y is a view of an array stored (out_channels, OH, OW, N), batch-innermost; any layout of X works.

    Args:
        in_channels, out_channels: channels of input and output.
        kernel_size: k or (kh, kw). stride: s or (sh, sw), default 1. padding: zeros added on each
            side, p or (ph, pw), default 0.
        rng: a seed or numpy.random.Generator for the initial weights. dtype: default float32.
        init: as Dense: "auto" (Glorot, switched to He when a ReLU follows in a Sequential), or a name.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, *, rng=None, dtype=np.float32, init="auto"):
        super().__init__()
        self.in_channels = positive_int("Conv2D", "in_channels", in_channels)
        self.out_channels = positive_int("Conv2D", "out_channels", out_channels)
        self.kernel_size = pair("Conv2D", "kernel_size", kernel_size)
        self.stride = pair("Conv2D", "stride", stride)
        self.padding = pair("Conv2D", "padding", padding, minimum=0)
        dtype = float_dtype("Conv2D", dtype)
        self._init_params((self.out_channels, self.in_channels, *self.kernel_size), init, rng, dtype)
        self._cache = None

    def _output_hw(self, height, width):
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if height + 2 * ph < kh or width + 2 * pw < kw:
            raise ValueError(
                f"{self!r}: the kernel {self.kernel_size} is larger than the padded input "
                f"({height + 2 * ph}, {width + 2 * pw})"
            )
        return output_size(height, kh, sh, ph), output_size(width, kw, sw, pw)

    def output_shape(self, input_shape):
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ValueError(f"{self!r}: expects inputs of shape ({self.in_channels}, H, W), but receives {tuple(input_shape)}")
        return (self.out_channels, *self._output_hw(*input_shape[1:]))

    def forward(self, x, training=False):
        x = as_array(x, self)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            hint = "; images need a channel axis: reshape (N, H, W) to (N, 1, H, W)" if x.ndim == 3 else ""
            raise ValueError(f"{self!r}: expected input of shape (N, {self.in_channels}, H, W), got {x.shape}{hint}")
        n, channels, height, width = x.shape
        out_h, out_w = self._output_hw(height, width)
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        # Feature maps are kept batch-innermost in memory, (C, H, W, N), behind the (N, C, H, W)
        # view: every window copy below and every add of the backward then moves runs of W·N
        # contiguous numbers, not rows of W, and a conv layer's output is such a view for free.
        x = x.transpose(1, 2, 3, 0)
        if ph or pw:
            padded = np.zeros((channels, height + 2 * ph, width + 2 * pw, n), dtype=x.dtype)
            padded[:, ph : ph + height, pw : pw + width] = x
        else:
            padded = x
        # im2col: one row per (channel, p, q) of the kernel, one column per output position (i, j, n),
        # filled one kernel offset at a time from a strided view of the input
        cols = np.empty((channels, kh, kw, out_h, out_w, n), dtype=x.dtype)
        for (p, q), rows, columns in kernel_offsets(self.kernel_size, self.stride, out_h, out_w):
            cols[:, p, q] = padded[:, rows, columns]
        cols = cols.reshape(channels * kh * kw, -1)
        self._cache = (cols, padded.shape, (n, self.out_channels, out_h, out_w))
        y = product_by_slices(self.weight.reshape(self.out_channels, -1), cols)  # Y = W cols
        y += self.bias[:, None]
        return y.reshape(self.out_channels, out_h, out_w, n).transpose(3, 0, 1, 2)

    def _backward(self, grad_output, input_grad):
        cols, padded_shape, output_shape = self._cached(self._cache)
        grad_output = self._checked_grad(grad_output, output_shape)
        n, _, out_h, out_w = output_shape
        dy = grad_output.transpose(1, 2, 3, 0).reshape(self.out_channels, -1)  # (out, OH·OW·N), like cols
        grad_weight = np.zeros((cols.shape[0], self.out_channels), dtype=np.result_type(cols, dy))
        for part in position_slices(cols.shape[1]):
            grad_weight += cols[:, part] @ dy[:, part].T  # dWᵀ = cols dYᵀ, the faster order in OpenBLAS
        self.grads["weight"] = grad_weight.T.reshape(self.weight.shape)
        self.grads["bias"] = dy.sum(axis=1)
        if not input_grad:
            return None
        d_cols = product_by_slices(self.weight.reshape(self.out_channels, -1).T, dy)  # d_cols = Wᵀ dY
        d_cols = d_cols.reshape(self.in_channels, *self.kernel_size, out_h, out_w, n)
        # col2im: add each kernel offset's share back onto the input positions it read
        d_padded = np.zeros(padded_shape, dtype=d_cols.dtype)
        for (p, q), rows, columns in kernel_offsets(self.kernel_size, self.stride, out_h, out_w):
            d_padded[:, rows, columns] += d_cols[:, p, q]
        (ph, pw), (padded_h, padded_w) = self.padding, padded_shape[1:3]
        return d_padded[:, ph : padded_h - ph, pw : padded_w - pw].transpose(3, 0, 1, 2)

    def get_config(self):
        return {"in_channels": self.in_channels, "out_channels": self.out_channels, "kernel_size": list(self.kernel_size),
                "stride": list(self.stride), "padding": list(self.padding)}

    @classmethod
    def tensor_shapes(cls, config):
        kernel = config.get("kernel_size")
        kernel = list(kernel) if isinstance(kernel, list) else [kernel, kernel]
        out_channels = config.get("out_channels")
        return {"weight": (out_channels, config.get("in_channels"), *kernel), "bias": (out_channels,)}

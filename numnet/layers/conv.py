"""2-D convolution, computed as a matrix multiply over all image patches (im2col)."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .. import fastmath
from ..validation import as_array, float_dtype, positive_int
from ..initializers import Initializer
from .base import WeightedLayer
from .windows import kernel_offsets, output_size, pair


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

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Union[int, Tuple[int, int]],
                 stride: Union[int, Tuple[int, int]] = 1, padding: Union[int, Tuple[int, int]] = 0, *,
                 rng: Union[None, int, np.random.Generator] = None, dtype: DTypeLike = np.float32,
                 init: Union[str, Initializer] = "auto") -> None:
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels, owner="Conv2D")
        self.out_channels = positive_int("out_channels", out_channels, owner="Conv2D")
        self.kernel_size = pair("Conv2D", "kernel_size", kernel_size)
        self.stride = pair("Conv2D", "stride", stride)
        self.padding = pair("Conv2D", "padding", padding, minimum=0)
        dtype = float_dtype("Conv2D", dtype)
        self._init_params((self.out_channels, self.in_channels, *self.kernel_size), init, rng, dtype)

    def _output_hw(self, height: int, width: int) -> Tuple[int, int]:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if height + 2 * ph < kh or width + 2 * pw < kw:
            raise ValueError(
                f"{self!r}: the kernel {self.kernel_size} is larger than the padded input "
                f"({height + 2 * ph}, {width + 2 * pw})"
            )
        return output_size(height, kh, sh, ph), output_size(width, kw, sw, pw)

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ValueError(f"{self!r}: expects inputs of shape ({self.in_channels}, H, W), but receives {tuple(input_shape)}")
        return (self.out_channels, *self._output_hw(*cast(Tuple[int, int], input_shape[1:])))

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        X = as_array(x, self)
        if X.ndim != 4 or X.shape[1] != self.in_channels:
            hint = "; images need a channel axis: reshape (N, H, W) to (N, 1, H, W)" if X.ndim == 3 else ""
            raise ValueError(f"{self!r}: expected input of shape (N, {self.in_channels}, H, W), got {X.shape}{hint}")
        n, channels, height, width = X.shape
        out_h, out_w = self._output_hw(height, width)
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        W = self.weight.reshape(self.out_channels, -1)  # (out, in·kh·kw)
        # Feature maps are kept batch-innermost in memory, (C, H, W, N), behind the (N, C, H, W)
        # view: every window copy below and every add of the backward then moves runs of width·N
        # contiguous numbers, not single rows, and a conv layer's output is such a view for free.
        X = X.transpose(1, 2, 3, 0)
        if ph or pw:
            Xpad = np.zeros((channels, height + 2 * ph, width + 2 * pw, n), dtype=X.dtype)
            Xpad[:, ph : ph + height, pw : pw + width] = X
        else:
            Xpad = X
        # im2col: one row per (channel, p, q) of the kernel, one column per output position (i, j, n),
        # filled one kernel offset at a time from a strided view of the input
        cols = np.empty((channels, kh, kw, out_h, out_w, n), dtype=X.dtype)
        for (p, q), rows, columns in kernel_offsets(self.kernel_size, self.stride, out_h, out_w):
            cols[:, p, q] = Xpad[:, rows, columns]
        cols = cols.reshape(channels * kh * kw, -1)
        self._cache = (cols, Xpad.shape, (n, self.out_channels, out_h, out_w))
        Y = fastmath.matmul_in_slices(W, cols)  # Y = W cols(X)
        Y += self.bias[:, None]  # + b
        return Y.reshape(self.out_channels, out_h, out_w, n).transpose(3, 0, 1, 2)

    def _backward(self, grad_output: np.ndarray, input_grad: bool) -> Optional[np.ndarray]:
        cols, padded_shape, output_shape = self._cached()
        dY = self._checked_grad(grad_output, output_shape)
        n, _, out_h, out_w = output_shape
        W = self.weight.reshape(self.out_channels, -1)
        dY = dY.transpose(1, 2, 3, 0).reshape(self.out_channels, -1)  # (out, OH·OW·N), like cols
        # dW = dY cols(X)ᵀ, computed as (cols(X) dYᵀ)ᵀ, the order OpenBLAS runs best
        self.grads["weight"] = fastmath.matmul_transposed_in_slices(cols, dY).T.reshape(self.weight.shape)
        self.grads["bias"] = dY.sum(axis=1)  # db = Σ_n Σ_i Σ_j dY
        if not input_grad:
            return None
        d_cols = fastmath.matmul_in_slices(W.T, dY)  # d cols = Wᵀ dY
        d_cols = d_cols.reshape(self.in_channels, *self.kernel_size, out_h, out_w, n)
        # col2im: add each kernel offset's share back onto the input positions it read
        dXpad = np.zeros(padded_shape, dtype=d_cols.dtype)
        for (p, q), rows, columns in kernel_offsets(self.kernel_size, self.stride, out_h, out_w):
            dXpad[:, rows, columns] += d_cols[:, p, q]
        (ph, pw), (padded_h, padded_w) = self.padding, padded_shape[1:3]
        return dXpad[:, ph : padded_h - ph, pw : padded_w - pw].transpose(3, 0, 1, 2)  # dX: dXpad without the padding

    def get_config(self) -> Dict[str, Any]:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels, "kernel_size": list(self.kernel_size),
                "stride": list(self.stride), "padding": list(self.padding)}

    @classmethod
    def tensor_shapes(cls, config: Dict[str, Any]) -> Optional[Dict[str, Tuple[int, ...]]]:
        in_channels = positive_int("in_channels", config.get("in_channels"), owner="Conv2D")
        out_channels = positive_int("out_channels", config.get("out_channels"), owner="Conv2D")
        kernel = pair("Conv2D", "kernel_size", config.get("kernel_size"))
        return {"weight": (out_channels, in_channels, *kernel), "bias": (out_channels,)}

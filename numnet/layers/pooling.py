"""Pooling: summarize each window of a feature map by its maximum or its mean."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union, cast

import numpy as np
from numpy.typing import ArrayLike

from .. import fastmath
from ..validation import as_array
from .base import Layer
from .windows import kernel_offsets, output_size, pair


class _Pool2D(Layer):
    """Shared checks and shapes of the 2-D pooling layers (NCHW, no padding)."""

    def __init__(self, kernel_size: Union[int, Tuple[int, int]], stride: Union[None, int, Tuple[int, int]] = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = pair(name, "kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else pair(name, "stride", stride)

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        if len(input_shape) != 3:
            raise ValueError(f"{self!r}: expects inputs of shape (C, H, W), but receives {tuple(input_shape)}")
        return (input_shape[0], *self._output_hw(*cast(Tuple[int, int], input_shape[1:])))

    def _output_hw(self, height: int, width: int) -> Tuple[int, int]:
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        if height < kh or width < kw:
            raise ValueError(f"{self!r}: the window {self.kernel_size} is larger than the input ({height}, {width})")
        return output_size(height, kh, sh, 0), output_size(width, kw, sw, 0)

    def _check(self, x: ArrayLike | np.ndarray) -> Tuple[np.ndarray, Tuple[int, int]]:
        X = as_array(x, self)
        if X.ndim != 4:
            raise ValueError(f"{self!r}: expected input of shape (N, C, H, W), got {X.shape}")
        return X, self._output_hw(*X.shape[2:])

    def get_config(self) -> Dict[str, Any]:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride)}


class MaxPool2D(_Pool2D):
    """Max pooling: each output is the largest input in its window.

    Forward:  Y[n, c, i, j] = max over p < kh, q < kw of X[n, c, i·s + p, j·s + q]
    Backward: dX receives each dY[n, c, i, j] at the position of its window's maximum (the first
              one in row-major order on ties, as PyTorch), zero elsewhere; overlapping windows add up.
    Shapes:   X (N, C, H, W) -> Y (N, C, OH, OW), OH = ⌊(H − kh) / stride⌋ + 1 (likewise OW).

    Args:
        kernel_size: k or (kh, kw). stride: default kernel_size (windows side by side).
    """

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        X, (out_h, out_w) = self._check(x)
        offsets = kernel_offsets(self.kernel_size, self.stride, out_h, out_w)
        _, rows, columns = next(offsets)
        Y = X[..., rows, columns].copy(order="K")  # "K": Y keeps X's memory layout
        # winner: the offset (0 … kh·kw − 1) of each window's first maximum, which backward needs
        winner = fastmath.zeros_in_layout_of(Y, np.min_scalar_type(np.prod(self.kernel_size) - 1))
        for offset, (_, rows, columns) in enumerate(offsets, start=1):
            window = X[..., rows, columns]
            # winner ← offset where window > Y (strictly: on ties the first maximum wins, as in PyTorch).
            # Offsets only grow, so that is max(winner, offset·[window > Y]): branch-free, unlike a masked copy.
            np.maximum(winner, (window > Y).view(np.uint8) * winner.dtype.type(offset), out=winner)
            np.maximum(Y, window, out=Y)  # Y = max over the window offsets
        self._cache = (X, winner)
        return Y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        X, winner = self._cached()
        dY = self._checked_grad(grad_output, winner.shape)
        dX = fastmath.zeros_in_layout_of(X, dY.dtype)
        for offset, (_, rows, columns) in enumerate(kernel_offsets(self.kernel_size, self.stride, *winner.shape[2:])):
            dX[..., rows, columns] += dY * (winner == offset)  # each dY to its window's maximum
        return dX


class AvgPool2D(_Pool2D):
    """Average pooling: each output is the mean of its window.

    Forward:  Y[n, c, i, j] = (1 / (kh·kw)) Σ_p Σ_q X[n, c, i·s + p, j·s + q]
    Backward: dX[n, c, i·s + p, j·s + q] += dY[n, c, i, j] / (kh·kw)   for every p < kh, q < kw
    Shapes:   X (N, C, H, W) -> Y (N, C, OH, OW), OH = ⌊(H − kh) / stride⌋ + 1 (likewise OW).

    Args:
        kernel_size: k or (kh, kw). stride: default kernel_size.
    """

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        X, (out_h, out_w) = self._check(x)
        self._cache = X
        windows = kernel_offsets(self.kernel_size, self.stride, out_h, out_w)
        total = sum(X[..., rows, columns] for _, rows, columns in windows)  # Σ_p Σ_q X[..., i·s + p, j·s + q]
        return total / X.dtype.type(np.prod(self.kernel_size))  # Y = total / (kh·kw)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        X = self._cached()
        dY = self._checked_grad(grad_output, (*X.shape[:2], *self._output_hw(*X.shape[2:])))
        share = dY / dY.dtype.type(np.prod(self.kernel_size))  # dY / (kh·kw)
        dX = fastmath.zeros_in_layout_of(X, dY.dtype)
        for _, rows, columns in kernel_offsets(self.kernel_size, self.stride, *dY.shape[2:]):
            dX[..., rows, columns] += share
        return dX

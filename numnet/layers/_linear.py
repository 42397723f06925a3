"""The affine map Y = X Wᵀ + b over the last axis of arrays with any leading axes (batch, time), and its gradients.

Shared by the sequence layers, whose projections act on every (n, t) alike. Each product is taken
as one 2-D matrix product over all N·T rows: np.matmul on a 3-D array would call BLAS once per
leading index, on small matrices.
"""

from __future__ import annotations

from typing import Literal, Optional, Tuple, overload

import numpy as np


def _rows(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, a.shape[-1])


def linear(x: np.ndarray, weight: np.ndarray, bias: Optional[np.ndarray] = None) -> np.ndarray:
    """Y = X Wᵀ + b.   Shapes: X (..., in), W (out, in), b (out,) -> Y (..., out)."""
    y = _rows(x) @ weight.T
    if bias is not None:
        y += bias
    return y.reshape(*x.shape[:-1], weight.shape[0])


# the overloads tell the type checker that dX is None exactly when input_grad is False
@overload
def linear_grads(grad_output: np.ndarray, x: np.ndarray, weight: np.ndarray, input_grad: Literal[True] = ...
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]: ...
@overload
def linear_grads(grad_output: np.ndarray, x: np.ndarray, weight: np.ndarray, input_grad: Literal[False]
                 ) -> Tuple[None, np.ndarray, np.ndarray]: ...
@overload
def linear_grads(grad_output: np.ndarray, x: np.ndarray, weight: np.ndarray, input_grad: bool
                 ) -> Tuple[Optional[np.ndarray], np.ndarray, np.ndarray]: ...
def linear_grads(grad_output: np.ndarray, x: np.ndarray, weight: np.ndarray, input_grad: bool = True
                 ) -> Tuple[Optional[np.ndarray], np.ndarray, np.ndarray]:
    """The gradients of Y = X Wᵀ + b, summed over every leading axis:
    dX = dY W (None when input_grad is False),  dW = Σ dYᵀ X,  db = Σ dY.
    Shapes: dY (..., out), X (..., in), W (out, in) -> dX (..., in), dW (out, in), db (out,)."""
    grad_rows = _rows(grad_output)
    grad_weight = grad_rows.T @ _rows(x)
    grad_bias = grad_rows.sum(axis=0)
    grad_input = (grad_rows @ weight).reshape(*grad_output.shape[:-1], weight.shape[1]) if input_grad else None
    return grad_input, grad_weight, grad_bias

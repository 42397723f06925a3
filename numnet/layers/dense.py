"""The fully connected layer."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .. import fastmath
from ..validation import as_array, float_dtype, positive_int
from ..initializers import Initializer
from .base import WeightedLayer


class Dense(WeightedLayer):
    """Fully connected layer: every output is a weighted sum of every input, plus a bias.

    Forward:  Y = X Wᵀ + b          (for one sample x, a column: y = W x + b)
    Backward: dX = dY W,   dW = dYᵀ X,   db = Σₙ dY      (sums over the batch rows n)
    Shapes:   X (N, in_features) -> Y (N, out_features);  W (out_features, in_features),  b (out_features,)

    The loss already divides by N, so dW and db come out as batch means.

    Inputs with more axes, such as sequences (N, T, in_features), are mapped over their last axis
    as torch.nn.Linear does: Y = X Wᵀ + b for every (n, t), dX = dY W, and dW = Σₙₜ dYₙₜᵀ Xₙₜ,
    db = Σₙₜ dYₙₜ sum over all leading axes. Shapes: X (N, ..., in_features) -> Y (N, ..., out_features).

    Args:
        in_features: inputs per sample.
        out_features: outputs per sample (neurons).
        rng: a seed or numpy.random.Generator for the initial weights (None: fresh entropy).
        dtype: float type of the parameters, float32 by default; float64 for gradient checks.
        init: weight initializer: a name from numnet.initializers ("glorot_uniform", "he_normal",
            ...) or a function (shape, rng, dtype). The default "auto" draws Glorot uniform weights
            (right for tanh, sigmoid and linear outputs) and switches to He normal when a Sequential
            puts a ReLU-family activation right after this layer, as long as the weights are untouched.
            Biases start at zero.

    Example:
        >>> layer = Dense(2, 1, rng=0)
        >>> layer.weight[...] = [[0.0, 1.0]]; layer.bias[...] = 4.0
        >>> layer.forward(np.array([[2.0, 3.0]]))     # 0·2 + 1·3 + 4
        array([[7.]], dtype=float32)
    """

    def __init__(self, in_features: int, out_features: int, *, rng: Union[None, int, np.random.Generator] = None,
                 dtype: DTypeLike = np.float32, init: Union[str, Initializer] = "auto") -> None:
        super().__init__()
        self.in_features = positive_int("in_features", in_features, owner="Dense")
        self.out_features = positive_int("out_features", out_features, owner="Dense")
        dtype = float_dtype("Dense", dtype)
        self._init_params((self.out_features, self.in_features), init, rng, dtype)
        # W keeps its (out, in) shape but is laid out column by column (Fortran order), so that Wᵀ is
        # an ordinary row-major array: OpenBLAS multiplies X Wᵀ best without a transposed operand.
        self.params["weight"] = np.asfortranarray(self.params["weight"])

    @property
    def input_shape(self) -> Tuple[int, ...]:  # type: ignore[override]  # read-only here: it follows in_features
        return (self.in_features,)

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        if len(input_shape) > 1 and input_shape[-1] == self.in_features:  # a sequence (T, in_features), ...
            return (*input_shape[:-1], self.out_features)
        if tuple(input_shape) != (self.in_features,):
            raise ValueError(
                f"{self!r}: expects {self.in_features} features per sample, "
                f"but the layer before it outputs shape {tuple(input_shape)}"
                + ("; add a Flatten layer" if len(input_shape) > 1 else "")
            )
        return (self.out_features,)

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        X = as_array(x, self)
        if X.ndim != 2 or X.shape[1] != self.in_features:
            if X.ndim > 2 and X.shape[-1] == self.in_features:
                return self._forward_over_leading_axes(X)
            hint = "; add a Flatten layer" if X.ndim > 2 else ""
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.in_features}), got {X.shape}{hint}"
            )
        self._cache = X
        W, b = self.weight, self.bias
        Y = X.dot(W.T)  # X Wᵀ; ndarray.dot dispatches with less overhead than @ (single-sample latency)
        Y += b[None]  # + b, in place, as a (1, out) row: NumPy's same-rank path (single-sample latency)
        return Y

    def _backward(self, grad_output: np.ndarray, input_grad: bool) -> Optional[np.ndarray]:
        X, W = self._cached(), self.weight
        if X.ndim > 2:
            return self._backward_over_leading_axes(X, grad_output, input_grad)
        dY = self._checked_grad(grad_output, (X.shape[0], self.out_features))
        self.grads["weight"] = X.T.dot(dY).T  # dW = dYᵀ X, computed as (Xᵀ dY)ᵀ: the same layout as W
        self.grads["bias"] = fastmath.column_sums(dY)  # db = Σₙ dY
        return dY.dot(W) if input_grad else None  # dX = dY W

    def _forward_over_leading_axes(self, X: np.ndarray) -> np.ndarray:
        """Y = X Wᵀ + b over the last axis of X (N, ..., in_features): the 2-D product on X viewed as rows."""
        self._cache = X
        Y = X.reshape(-1, self.in_features).dot(self.weight.T) + self.bias
        return Y.reshape(*X.shape[:-1], self.out_features)

    def _backward_over_leading_axes(self, X: np.ndarray, grad_output: np.ndarray, input_grad: bool) -> Optional[np.ndarray]:
        """dW = Σ dYᵀ X and db = Σ dY over every leading axis, dX = dY W, with X and dY viewed as rows."""
        dY = self._checked_grad(grad_output, (*X.shape[:-1], self.out_features))
        X_rows, dY_rows = X.reshape(-1, self.in_features), dY.reshape(-1, self.out_features)
        self.grads["weight"] = X_rows.T.dot(dY_rows).T  # dW = dYᵀ X, in the layout of W
        self.grads["bias"] = dY_rows.sum(axis=0)  # db = Σ dY
        return dY_rows.dot(self.weight).reshape(X.shape) if input_grad else None  # dX = dY W

    def get_config(self) -> Dict[str, Any]:
        return {"in_features": self.in_features, "out_features": self.out_features}

    @classmethod
    def tensor_shapes(cls, config: Dict[str, Any]) -> Optional[Dict[str, Tuple[int, ...]]]:
        in_features = positive_int("in_features", config.get("in_features"), owner="Dense")
        out_features = positive_int("out_features", config.get("out_features"), owner="Dense")
        return {"weight": (out_features, in_features), "bias": (out_features,)}

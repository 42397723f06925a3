"""Batch normalization: standardize each feature over the batch, then scale and shift it."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..validation import as_array, float_dtype, number, positive_int
from .base import Layer


class BatchNorm1d(Layer):
    """Batch normalization over the batch axis of (N, C) inputs.

    Forward (training):  μ = mean(X), σ² = var(X) over the batch (per feature, biased),
                         X̂ = (X − μ) / √(σ² + ε),   Y = γ ⊙ X̂ + β;
                         running_mean ← (1 − m)·running_mean + m·μ,
                         running_var  ← (1 − m)·running_var  + m·σ²·N/(N − 1)   (unbiased, as PyTorch)
    Forward (inference): X̂ = (X − running_mean) / √(running_var + ε),  Y = γ ⊙ X̂ + β
    Backward:            dγ = Σₙ dY ⊙ X̂,   dβ = Σₙ dY,   dX̂ = dY ⊙ γ;
                         training:  dX = (N·dX̂ − Σₙ dX̂ − X̂ ⊙ Σₙ(dX̂ ⊙ X̂)) / (N √(σ² + ε))
                         inference: dX = dX̂ / √(running_var + ε)
    Shapes:              X (N, C) -> Y (N, C);  γ = weight (C,), β = bias (C,).

    Args:
        num_features: C.
        eps: ε added to the variance (default 1e-5).
        momentum: m, weight of the newest batch in the running statistics (default 0.1).
        dtype: float type of the parameters (default float32).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, *, dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        owner = type(self).__name__
        self.num_features = positive_int("num_features", num_features, owner=owner)
        self.eps = number("eps", eps, 0, 1, low_inclusive=False, owner=owner)
        self.momentum = number("momentum", momentum, 0, 1, low_inclusive=False, owner=owner)
        dtype = float_dtype(owner, dtype)
        self.params = {"weight": np.ones(self.num_features, dtype), "bias": np.zeros(self.num_features, dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers = {"running_mean": np.zeros(self.num_features, dtype), "running_var": np.ones(self.num_features, dtype)}

    @property
    def input_shape(self) -> Optional[Tuple[int, ...]]:  # type: ignore[override]  # read-only here: it follows num_features
        return (self.num_features,)

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        if tuple(input_shape) != (self.num_features,):
            raise ValueError(f"{self!r}: expects {self.num_features} features per sample, but receives shape {tuple(input_shape)}")
        return (self.num_features,)

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        X = as_array(x, self)
        if X.ndim != 2 or X.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.num_features}), got {X.shape}")
        Y, self._cache = self._normalize(X, training)
        return Y

    def _normalize(self, X: np.ndarray, training: bool) -> Tuple[np.ndarray, Tuple[np.ndarray, np.ndarray, bool]]:
        """Y = γ ⊙ X̂ + β for X (M, C), and what backward needs: (X̂, 1 / √(σ² + ε), training)."""
        if training:
            n = X.shape[0]
            if n < 2:
                raise ValueError(f"{self!r}: training needs at least 2 values per feature to estimate a variance, got {n}")
            mu, var = X.mean(axis=0), X.var(axis=0)  # μ, σ²
            m, running_mean, running_var = self.momentum, self.buffers["running_mean"], self.buffers["running_var"]
            running_mean[...] = (1 - m) * running_mean + m * mu
            running_var[...] = (1 - m) * running_var + m * var * (n / (n - 1))
        else:
            mu, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1 / np.sqrt(var + self.eps)  # 1 / √(σ² + ε)
        X_hat = (X - mu) * inv_std
        gamma, beta = self.params["weight"], self.params["bias"]
        return gamma * X_hat + beta, (X_hat, inv_std, training)  # Y = γ ⊙ X̂ + β

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        X_hat, inv_std, training = self._cached()
        return self._normalize_backward(self._checked_grad(grad_output, X_hat.shape), X_hat, inv_std, training)

    def _normalize_backward(self, dY: np.ndarray, X_hat: np.ndarray, inv_std: np.ndarray, training: bool) -> np.ndarray:
        """dX for dY (M, C) from what _normalize kept; stores dγ and dβ."""
        gamma = self.params["weight"]
        self.grads["weight"] = (dY * X_hat).sum(axis=0)  # dγ = Σₙ dY ⊙ X̂
        self.grads["bias"] = dY.sum(axis=0)  # dβ = Σₙ dY
        dX_hat = dY * gamma
        if not training:
            return dX_hat * inv_std  # dX = dX̂ / √(running_var + ε)
        n = dY.shape[0]
        # dX = (N·dX̂ − Σₙ dX̂ − X̂ ⊙ Σₙ(dX̂ ⊙ X̂)) / (N √(σ² + ε))
        return (n * dX_hat - dX_hat.sum(axis=0) - X_hat * (dX_hat * X_hat).sum(axis=0)) * (inv_std / n)

    def get_config(self) -> Dict[str, Any]:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum}

    @classmethod
    def tensor_shapes(cls, config: Dict[str, Any]) -> Optional[Dict[str, Tuple[int, ...]]]:
        shape = (positive_int("num_features", config.get("num_features"), owner=cls.__name__),)
        return {"weight": shape, "bias": shape, "running_mean": shape, "running_var": shape}

    def check_tensors(self, tensors: Dict[str, np.ndarray]) -> None:
        smallest = tensors["running_var"].min()
        if smallest < 0:
            raise ValueError(f"{self!r}: running_var holds variances, which cannot be negative; it holds {smallest:g}")


class BatchNorm2d(BatchNorm1d):
    """Batch normalization of feature maps: BatchNorm1d's formulas per channel, with the mean and
    variance taken over the batch and both spatial axes (N·H·W values per channel).

    Shapes:   X (N, C, H, W) -> Y (N, C, H, W);  γ = weight (C,), β = bias (C,).
    Args:     as BatchNorm1d (num_features = C).
    """

    @property
    def input_shape(self) -> Optional[Tuple[int, ...]]:  # type: ignore[override]  # any (C, H, W) with C = num_features
        return None

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        if len(input_shape) != 3 or input_shape[0] != self.num_features:
            raise ValueError(f"{self!r}: expects inputs of shape ({self.num_features}, H, W), but receives {tuple(input_shape)}")
        return tuple(input_shape)

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        X = as_array(x, self)
        if X.ndim != 4 or X.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.num_features}, H, W), got {X.shape}")
        n, c, h, w = X.shape
        # each pixel of each image is one sample of its channel's distribution
        Y, normalized = self._normalize(X.transpose(0, 2, 3, 1).reshape(-1, c), training)
        self._cache = (X.shape, normalized)
        return Y.reshape(n, h, w, c).transpose(0, 3, 1, 2)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        shape, normalized = self._cached()
        n, c, h, w = shape
        dY = self._checked_grad(grad_output, shape)
        dX = self._normalize_backward(dY.transpose(0, 2, 3, 1).reshape(-1, c), *normalized)
        return dX.reshape(n, h, w, c).transpose(0, 3, 1, 2)


class LayerNorm(Layer):
    """Layer normalization: standardize each sample's features (the last axis), then scale and shift them.

    Forward:  μ = mean(x), σ² = var(x) over the last axis of each row x (biased),
              x̂ = (x − μ) / √(σ² + ε),   y = γ ⊙ x̂ + β
    Backward: dγ = Σ dY ⊙ X̂,   dβ = Σ dY   (sums over every axis but the last),   dx̂ = dy ⊙ γ,
              dx = (D·dx̂ − Σ_d dx̂ − x̂ ⊙ Σ_d(dx̂ ⊙ x̂)) / (D √(σ² + ε))     (per row, D = dim)
    Shapes:   X (N, ..., dim) -> Y (N, ..., dim), e.g. (N, T, dim) for sequences;  γ = weight (dim,), β = bias (dim,).

    The same in training and inference: there are no running statistics. Parameters as
    torch.nn.LayerNorm(dim): ``weight`` and ``bias`` load from it by name.

    Args:
        dim: D, the size of the last axis.
        eps: ε added to the variance (default 1e-5).
        dtype: float type of the parameters (default float32).

    Example:
        >>> LayerNorm(2, dtype=np.float64).forward(np.array([[1.0, 3.0]]))   # μ = 2, σ² = 1
        array([[-0.999995,  0.999995]])
    """

    def __init__(self, dim: int, eps: float = 1e-5, *, dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        self.dim = positive_int("dim", dim, owner="LayerNorm")
        self.eps = number("eps", eps, 0, 1, low_inclusive=False, owner="LayerNorm")
        dtype = float_dtype("LayerNorm", dtype)
        self.params = {"weight": np.ones(self.dim, dtype), "bias": np.zeros(self.dim, dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        if input_shape[-1] != self.dim:
            raise ValueError(f"{self!r}: expects {self.dim} features on the last axis, but receives shape {tuple(input_shape)}")
        return tuple(input_shape)

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        x = as_array(x, self)
        if x.ndim < 2 or x.shape[-1] != self.dim:
            raise ValueError(f"{self!r}: expected input of shape (N, ..., {self.dim}), got {x.shape}")
        mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
        inv_std = 1 / np.sqrt(var + self.eps)
        x_hat = (x - mean) * inv_std
        self._cache = (x_hat, inv_std)
        return x_hat * self.params["weight"] + self.params["bias"]

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x_hat, inv_std = self._cached()
        grad_output = self._checked_grad(grad_output, x_hat.shape)
        leading = tuple(range(grad_output.ndim - 1))
        self.grads["weight"] = (grad_output * x_hat).sum(axis=leading)
        self.grads["bias"] = grad_output.sum(axis=leading)
        d_x_hat = grad_output * self.params["weight"]
        d = self.dim
        return (d * d_x_hat - d_x_hat.sum(axis=-1, keepdims=True)
                - x_hat * (d_x_hat * x_hat).sum(axis=-1, keepdims=True)) * (inv_std / d)

    def get_config(self) -> Dict[str, Any]:
        return {"dim": self.dim, "eps": self.eps}

    @classmethod
    def tensor_shapes(cls, config: Dict[str, Any]) -> Optional[Dict[str, Tuple[int, ...]]]:
        shape = (positive_int("dim", config.get("dim"), owner="LayerNorm"),)
        return {"weight": shape, "bias": shape}

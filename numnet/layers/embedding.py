"""Embeddings: learned vectors looked up by token index, and learned vectors added by position."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..validation import as_array, float_dtype, positive_int
from .. import initializers
from .base import Layer


def scatter_add_rows(shape: Tuple[int, ...], indices: np.ndarray, rows: np.ndarray, dtype: DTypeLike) -> np.ndarray:
    """A zero array of ``shape`` with every row of ``rows`` added at its index: out[indices[k]] += rows[k].

    An index may repeat (the same token twice in a batch): its rows must all be summed, which
    ``out[indices] += rows`` would not do (it keeps only one of them). np.add.at sums them all.
    """
    out = np.zeros(shape, dtype=dtype)
    np.add.at(out, indices.reshape(-1), rows.reshape(-1, shape[-1]))
    return out


class _VectorTable(Layer):
    """A layer whose one parameter is a table W (rows, dim) of learned vectors, starting as N(0, 1)."""

    def __init__(self, rows: int, dim: int, rng: Union[None, int, np.random.Generator], dtype: DTypeLike, owner: str) -> None:
        super().__init__()
        self.dim = positive_int("dim", dim, owner=owner)
        dtype = float_dtype(owner, dtype)
        weight = initializers.as_generator(rng).standard_normal((rows, self.dim)).astype(dtype)
        self.params = {"weight": weight}
        self.grads = {"weight": np.zeros_like(weight)}

    @property
    def weight(self) -> np.ndarray:
        return self.params["weight"]


class Embedding(_VectorTable):
    """A lookup table of learned vectors: token index i -> row i of W.

    Forward:  Y[n, t] = W[X[n, t]]
    Backward: dW[i] = Σ over every (n, t) with X[n, t] = i of dY[n, t]   (rows never looked up get 0);
              dX: none. The indices are not differentiable, so ``backward`` returns None and an
              Embedding must be the first layer of a model.
    Shapes:   X (N, T) integer indices in [0, num_embeddings) -> Y (N, T, dim);  W = weight (num_embeddings, dim).

    X may hold integers, or floats with integer values (Sequential.fit and predict cast their input to
    the model's dtype; float32 holds every integer up to 2²⁴ exactly). The weights start as N(0, 1),
    as torch.nn.Embedding's, and ``weight`` loads from torch.nn.Embedding(num_embeddings, dim) by name.

    Args:
        num_embeddings: size of the vocabulary.
        dim: length of each vector.
        rng: a seed or numpy.random.Generator for the initial weights (None: fresh entropy).
        dtype: float type of the weights, float32 by default; float64 for gradient checks.

    Example:
        >>> layer = Embedding(10, 4, rng=0)
        >>> layer.forward(np.array([[1, 2, 1]])).shape
        (1, 3, 4)
    """

    #: a sequence of any length T: None stands for a size known only from the data
    input_shape = (None,)

    def __init__(self, num_embeddings: int, dim: int, *, rng: Union[None, int, np.random.Generator] = None, dtype: DTypeLike = np.float32) -> None:
        self.num_embeddings = positive_int("num_embeddings", num_embeddings, owner="Embedding")
        super().__init__(self.num_embeddings, dim, rng, dtype, owner="Embedding")

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        if len(input_shape) != 1:
            raise ValueError(f"{self!r}: expects a sequence of token indices (T,) per sample, but receives shape {tuple(input_shape)}")
        return (*input_shape, self.dim)

    def _as_indices(self, x: ArrayLike) -> np.ndarray:
        """x checked to be a batch (N, T) of integer indices in [0, num_embeddings), as an intp array."""
        x = np.asarray(x)
        if x.dtype.kind not in "iuf":
            raise TypeError(f"{self!r}: expected integer token indices, received dtype {x.dtype}")
        if x.ndim != 2:
            raise ValueError(f"{self!r}: expected token indices of shape (N, T), got {x.shape}")
        if x.size == 0:
            raise ValueError(f"{self!r}: expected at least one token, got shape {x.shape}")
        if x.dtype.kind == "f" and not np.array_equal(x, np.floor(x)):  # NaN fails this, ±inf the range check below
            raise ValueError(f"{self!r}: expected integer token indices, got non-integer values such as {x[x != np.floor(x)][0]}")
        low, high = x.min(), x.max()
        if low < 0 or high >= self.num_embeddings:
            raise ValueError(
                f"{self!r}: token indices must be in the range [0, {self.num_embeddings - 1}], "
                f"got indices from {low:g} to {high:g}"
            )
        return x.astype(np.intp, copy=False)

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        indices = self._cache = self._as_indices(x)
        return self.weight[indices]  # Y[n, t] = W[X[n, t]]

    def backward(self, grad_output: np.ndarray) -> Optional[np.ndarray]:
        indices = self._cached()
        grad_output = self._checked_grad(grad_output, (*indices.shape, self.dim))
        self.grads["weight"] = scatter_add_rows(self.weight.shape, indices, grad_output, np.result_type(self.weight, grad_output))
        return None  # the indices have no gradient

    def get_config(self) -> Dict[str, Any]:
        return {"num_embeddings": self.num_embeddings, "dim": self.dim}

    @classmethod
    def tensor_shapes(cls, config: Dict[str, Any]) -> Optional[Dict[str, Tuple[int, ...]]]:
        num_embeddings = positive_int("num_embeddings", config.get("num_embeddings"), owner="Embedding")
        return {"weight": (num_embeddings, positive_int("dim", config.get("dim"), owner="Embedding"))}


class PositionalEmbedding(_VectorTable):
    """Learned positional embeddings: adds a learned vector for each position t to every sequence.

    Forward:  Y[n, t] = X[n, t] + P[t]           (P = weight, its first T rows used)
    Backward: dX = dY,   dP[t] = Σₙ dY[n, t] for t < T,   dP[t] = 0 for t ≥ T
    Shapes:   X (N, T, dim) -> Y (N, T, dim), T ≤ max_len;  P = weight (max_len, dim).

    Put it after an Embedding: Embedding(vocabulary, dim) then PositionalEmbedding(max_len, dim).
    The table starts as N(0, 1), like Embedding's, so tokens and positions start on the same scale.

    Args:
        max_len: the longest sequence the layer accepts.
        dim: the feature size of the sequences.
        rng: a seed or numpy.random.Generator for the initial table (None: fresh entropy).
        dtype: float type of the table (default float32).
    """

    def __init__(self, max_len: int, dim: int, *, rng: Union[None, int, np.random.Generator] = None, dtype: DTypeLike = np.float32) -> None:
        self.max_len = positive_int("max_len", max_len, owner="PositionalEmbedding")
        super().__init__(self.max_len, dim, rng, dtype, owner="PositionalEmbedding")

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        steps = input_shape[0] if len(input_shape) == 2 else None
        if len(input_shape) != 2 or input_shape[1] != self.dim or (steps is not None and steps > self.max_len):
            raise ValueError(
                f"{self!r}: expects sequences of shape (T, {self.dim}) with T ≤ {self.max_len}, "
                f"but receives shape {tuple(input_shape)}"
            )
        return tuple(input_shape)

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        x = as_array(x, self)
        if x.ndim != 3 or x.shape[2] != self.dim:
            raise ValueError(f"{self!r}: expected input of shape (N, T, {self.dim}), got {x.shape}")
        if x.shape[1] > self.max_len:
            raise ValueError(f"{self!r}: sequences may have at most max_len={self.max_len} positions, got T={x.shape[1]}")
        self._cache = x.shape
        return x + self.weight[: x.shape[1]]

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        shape = self._cached()
        grad_output = self._checked_grad(grad_output, shape)
        t = shape[1]
        grad_weight = np.zeros_like(self.weight, dtype=np.result_type(self.weight, grad_output))
        grad_weight[:t] = grad_output.sum(axis=0)
        self.grads["weight"] = grad_weight
        return grad_output

    def get_config(self) -> Dict[str, Any]:
        return {"max_len": self.max_len, "dim": self.dim}

    @classmethod
    def tensor_shapes(cls, config: Dict[str, Any]) -> Optional[Dict[str, Tuple[int, ...]]]:
        max_len = positive_int("max_len", config.get("max_len"), owner="PositionalEmbedding")
        return {"weight": (max_len, positive_int("dim", config.get("dim"), owner="PositionalEmbedding"))}

"""Multi-head self-attention: every position of a sequence takes a weighted mean of every position's values."""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..validation import as_array, float_dtype, positive_int
from .. import initializers
from ..functional import softmax
from ._linear import linear, linear_grads
from .base import Layer


class MultiHeadSelfAttention(Layer):
    """Multi-head scaled dot-product self-attention, as torch.nn.MultiheadAttention(dim, heads, batch_first=True)
    called with query = key = value = X (and, when causal, an attn_mask hiding the future).

    Forward:  [Q K V] = X W_inᵀ + b_in                        (W_in = in_proj_weight: W_q, W_k, W_v stacked)
              each split into h heads of size d = dim / h:  Q, K, V (N, h, T, d)
              S = Q Kᵀ / √d,   with causal=True: S[i, j] = −∞ for j > i (position i sees only j ≤ i)
              A = softmax(S) over the last axis (the attended positions j)
              O = A V,  its heads concatenated back to (N, T, dim)
              Y = O W_outᵀ + b_out
    Backward: dO = dY W_out,   dW_out = Σ dYᵀ O,   db_out = Σ dY          (Σ over n and t)
              dA = dO Vᵀ,   dV = Aᵀ dO
              dS = A ⊙ (dA − Σⱼ dA ⊙ A)                                   (softmax backward, per row;
                                                                            0 where masked, since A = 0 there)
              dQ = dS K / √d,   dK = dSᵀ Q / √d
              dX = [dQ dK dV] W_in,   dW_in = Σ [dQ dK dV]ᵀ X,   db_in = Σ [dQ dK dV]
    Shapes:   X (N, T, dim) -> Y (N, T, dim);  A (N, h, T, T);
              in_proj_weight (3·dim, dim), in_proj_bias (3·dim,), out_proj_weight (dim, dim), out_proj_bias (dim,).

    The parameters are torch's, with "out_proj.weight" and "out_proj.bias" spelled "out_proj_weight" and
    "out_proj_bias": ``layer.params[name.replace(".", "_")][...] = tensor.numpy()`` for each
    ``name, tensor in torch_attention.named_parameters()``. They start as torch's do: in_proj_weight
    Glorot uniform, out_proj_weight U(−1/√dim, 1/√dim), biases zero. No dropout.

    Args:
        dim: features per position (torch's embed_dim).
        heads: number of heads h (torch's num_heads); dim must be divisible by it.
        causal: hide later positions from each position (for models that predict the next token).
        rng: a seed or numpy.random.Generator for the initial weights (None: fresh entropy).
        dtype: float type of the parameters, float32 by default; float64 for gradient checks.

    Example:
        >>> attention = MultiHeadSelfAttention(8, 2, causal=True, rng=0)
        >>> attention.forward(np.zeros((4, 5, 8), np.float32)).shape
        (4, 5, 8)
    """

    def __init__(self, dim: int, heads: int, causal: bool = False, *, rng: Union[None, int, np.random.Generator] = None, dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        self.dim = positive_int("dim", dim, owner="MultiHeadSelfAttention")
        self.heads = positive_int("heads", heads, owner="MultiHeadSelfAttention")
        if self.dim % self.heads:
            raise ValueError(f"MultiHeadSelfAttention: dim must be divisible by heads. Received: dim={dim}, heads={heads}")
        if not isinstance(causal, (bool, np.bool_)):
            raise TypeError(f"MultiHeadSelfAttention: causal must be True or False. Received: causal={causal!r}")
        self.causal = bool(causal)
        dtype = float_dtype("MultiHeadSelfAttention", dtype)
        generator = initializers.as_generator(rng)
        limit = 1 / math.sqrt(self.dim)
        self.params = {
            "in_proj_weight": initializers.glorot_uniform((3 * self.dim, self.dim), generator, dtype),
            "in_proj_bias": np.zeros(3 * self.dim, dtype),
            "out_proj_weight": generator.uniform(-limit, limit, size=(self.dim, self.dim)).astype(dtype),
            "out_proj_bias": np.zeros(self.dim, dtype),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        if len(input_shape) != 2 or input_shape[1] != self.dim:
            raise ValueError(f"{self!r}: expects sequences of shape (T, {self.dim}) per sample, but receives shape {tuple(input_shape)}")
        return tuple(input_shape)

    def _split_heads(self, x: np.ndarray) -> np.ndarray:
        """(N, T, dim) -> (N, h, T, d): head k holds features k·d … (k + 1)·d − 1, as in torch."""
        n, t, _ = x.shape
        return x.reshape(n, t, self.heads, self.dim // self.heads).transpose(0, 2, 1, 3)

    @staticmethod
    def _merge_heads(x: np.ndarray) -> np.ndarray:
        """(N, h, T, d) -> (N, T, h·d): the heads side by side again."""
        n, h, t, d = x.shape
        return x.transpose(0, 2, 1, 3).reshape(n, t, h * d)

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        x = as_array(x, self)
        if x.ndim != 3 or x.shape[2] != self.dim:
            raise ValueError(f"{self!r}: expected input of shape (N, T, {self.dim}), got {x.shape}")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"{self!r}: expected at least one sequence of at least one position, got shape {x.shape}")
        scale = 1 / math.sqrt(self.dim // self.heads)
        qkv = linear(x, self.params["in_proj_weight"], self.params["in_proj_bias"])  # [Q K V] = X W_inᵀ + b_in
        q, k, v = (self._split_heads(part) for part in np.split(qkv, 3, axis=2))
        s = q @ k.transpose(0, 1, 3, 2) * scale  # S = Q Kᵀ / √d
        if self.causal:
            s = np.where(_future(x.shape[1]), -np.inf, s)
        a = softmax(s)
        o = self._merge_heads(a @ v)  # O = A V
        self._cache = (x, q, k, v, a, o)
        return linear(o, self.params["out_proj_weight"], self.params["out_proj_bias"])  # Y = O W_outᵀ + b_out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, q, k, v, a, o = self._cached()
        grad_output = self._checked_grad(grad_output, x.shape)
        scale = 1 / math.sqrt(self.dim // self.heads)
        d_o, self.grads["out_proj_weight"], self.grads["out_proj_bias"] = linear_grads(grad_output, o, self.params["out_proj_weight"])
        d_o = self._split_heads(d_o)
        d_a = d_o @ v.transpose(0, 1, 3, 2)  # dA = dO Vᵀ
        d_v = a.transpose(0, 1, 3, 2) @ d_o  # dV = Aᵀ dO
        d_s = a * (d_a - (d_a * a).sum(axis=-1, keepdims=True))  # dS = A ⊙ (dA − Σⱼ dA ⊙ A)
        d_q = d_s @ k * scale  # dQ = dS K / √d
        d_k = d_s.transpose(0, 1, 3, 2) @ q * scale  # dK = dSᵀ Q / √d
        d_qkv = np.concatenate([self._merge_heads(d_q), self._merge_heads(d_k), self._merge_heads(d_v)], axis=2)
        d_x, self.grads["in_proj_weight"], self.grads["in_proj_bias"] = linear_grads(d_qkv, x, self.params["in_proj_weight"])
        return d_x

    def get_config(self) -> Dict[str, Any]:
        return {"dim": self.dim, "heads": self.heads, "causal": self.causal}

    @classmethod
    def tensor_shapes(cls, config: Dict[str, Any]) -> Optional[Dict[str, Tuple[int, ...]]]:
        dim = positive_int("dim", config.get("dim"), owner="MultiHeadSelfAttention")
        return {"in_proj_weight": (3 * dim, dim), "in_proj_bias": (3 * dim,), "out_proj_weight": (dim, dim), "out_proj_bias": (dim,)}


def _future(steps: int) -> np.ndarray:
    """The causal mask (T, T): True at [i, j] where j > i, the positions after i."""
    return np.triu(np.ones((steps, steps), dtype=bool), k=1)

"""Residual connections: a block of layers whose output is added back onto its input."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, cast

import numpy as np
from numpy.typing import ArrayLike

from ..validation import as_array
from .activations import LeakyReLU, ReLU
from .base import Layer, WeightedLayer


class FlatView(MutableMapping[str, np.ndarray]):
    """The ``params``, ``grads`` or ``buffers`` of a list of layers seen as one dict, "<index>.<key>" -> array.

    Nothing is copied: reading "1.weight" returns ``layers[1].params["weight"]`` itself, as it is at that
    moment (so gradients a backward pass has just replaced are seen at once), and assigning to it
    replaces the entry in the inner layer's own dict.
    """

    def __init__(self, layers: Sequence[Layer], attribute: str) -> None:
        self._layers = layers
        self._attribute = attribute

    def _split(self, name: str) -> Tuple[MutableMapping[str, np.ndarray], str]:
        index, _, key = str(name).partition(".")
        if not index.isdigit() or int(index) >= len(self._layers) or key not in getattr(self._layers[int(index)], self._attribute):
            raise KeyError(name)
        return getattr(self._layers[int(index)], self._attribute), key

    def __getitem__(self, name: str) -> np.ndarray:
        group, key = self._split(name)
        return group[key]

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        group, key = self._split(name)  # only existing entries: a new key would belong to no layer
        group[key] = value

    def __delitem__(self, name: str) -> None:
        raise TypeError(f"the {self._attribute} of a Residual block's layers cannot be deleted")

    def __iter__(self) -> Iterator[str]:
        for index, layer in enumerate(self._layers):
            for key in getattr(layer, self._attribute):
                yield f"{index}.{key}"

    def __len__(self) -> int:
        return sum(len(getattr(layer, self._attribute)) for layer in self._layers)

    def __repr__(self) -> str:
        return repr(dict(self))


class Residual(Layer):
    """A residual block: the input plus what a list of layers makes of it.

    Forward:  Y = X + f(X),   f = fₖ ∘ … ∘ f₁ the layers run in order
    Backward: dX = dY + f₁ᵀ(…fₖᵀ(dY)),  each fᵢᵀ the backward of layer i; the layers store their own
              parameter gradients as they go.
    Shapes:   X (N, ...) -> Y (N, ...), the same shape: f must keep it, e.g. (N, T, dim) -> (N, T, dim).

    ``params``, ``grads`` and ``buffers`` are the inner layers', named "<inner index>.<key>" ("0.weight",
    "1.in_proj_weight"): the same arrays, read through (see FlatView), so optimizers and weight
    files treat a block like any other layer and see its name "<block index>.<inner index>.<key>".
    As in Sequential, a Dense with init="auto" followed by a ReLU inside the block starts He-normal.

    A pre-norm transformer block is two of them:
        Residual([LayerNorm(dim), MultiHeadSelfAttention(dim, heads, causal=True)]),
        Residual([LayerNorm(dim), Dense(dim, 4 * dim), ReLU(), Dense(4 * dim, dim)])

    Args:
        layers: the layers of f, in order (a list of numnet layers, at least one).
    """

    def __init__(self, layers: Sequence[Layer]) -> None:
        super().__init__()
        if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
            raise TypeError(f"Residual expects a list of layers. Received: {type(layers).__name__}")
        if not layers:
            raise ValueError("Residual expects at least one layer. Received: layers=[]")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Residual: item {index} must be a numnet layer (Dense, LayerNorm, ...). "
                    f"Received: {layer!r} of type {type(layer).__name__}"
                )
        self.layers: List[Layer] = list(layers)
        for layer, after in zip(self.layers, self.layers[1:]):
            if isinstance(layer, WeightedLayer) and isinstance(after, (ReLU, LeakyReLU)):
                layer.adopt_activation("he_normal")
        self.params = FlatView(self.layers, "params")
        self.grads = FlatView(self.layers, "grads")
        self.buffers = FlatView(self.layers, "buffers")

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.output_shape(shape)
        if shape != tuple(input_shape):
            raise ValueError(f"{self!r}: its layers turn shape {tuple(input_shape)} into {shape}; a residual block must keep the shape")
        return shape

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        x = as_array(x, self)
        y = x
        for layer in self.layers:
            y = layer.forward(y, training=training)
        if y.shape != x.shape:
            raise ValueError(f"{self!r}: its layers turn input of shape {x.shape} into {y.shape}; a residual block must keep the shape")
        self._cache = x.shape
        return x + y  # Y = X + f(X)

    def release_cache(self) -> None:
        super().release_cache()
        for layer in self.layers:
            layer.release_cache()

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad_output = self._checked_grad(grad_output, self._cached())
        grad = grad_output
        for layer in reversed(self.layers):
            grad = cast(np.ndarray, layer.backward(grad))  # a block keeps its shape, so no layer in it takes indices
        return grad_output + grad  # dX = dY + fᵀ(dY)

    def get_config(self) -> Dict[str, Any]:
        return {"layers": [{"type": type(layer).__name__, "config": layer.get_config()} for layer in self.layers]}

    @classmethod
    def tensor_shapes(cls, config: Dict[str, Any]) -> Optional[Dict[str, Tuple[int, ...]]]:
        """None of its own: its tensors are its layers', each described by its own class."""
        return {}

    def check_tensors(self, tensors: Dict[str, np.ndarray]) -> None:
        for index, layer in enumerate(self.layers):
            layer.check_tensors({key: tensors[f"{index}.{key}"] for key in layer.state_dict()})

    def __repr__(self) -> str:
        return f"Residual([{', '.join(map(repr, self.layers))}])"

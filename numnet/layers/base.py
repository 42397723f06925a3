"""The Layer contract every building block of a network follows."""

from __future__ import annotations

import hashlib
from typing import Any, Dict, MutableMapping, Optional, Tuple, Union, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .. import initializers
from ..initializers import Initializer


class Layer:
    """A step of the network: a function with a forward pass and its derivative.

    Forward:  Y = f(X).      Backward: given dY = dL/dY, return dX = dL/dX = dY · ∂Y/∂X,
    and store dL/dθ for every parameter θ in ``grads`` (overwritten, never accumulated).

    Arrays are batch-first: X has shape (N, ...), one row per sample. ``params`` and ``grads``
    are dicts with the same keys ({"weight": ..., "bias": ...}); layers without parameters
    keep both empty. ``buffers`` holds state that is saved with the model but not trained
    (BatchNorm's running statistics). ``forward`` caches only what ``backward`` needs, in the one
    attribute ``_cache`` (read back with ``_cached()``), and ``release_cache()`` forgets it: inference
    passes call it after each layer, so prediction holds no layer's arrays for a backward that never comes.
    """

    #: the per-sample input shape this layer requires, or None when any shape is accepted. A None inside a
    #: shape stands for a length known only from the data: an Embedding takes sequences (None,) of any length T.
    input_shape: Optional[tuple] = None

    #: what the last forward kept for backward (an array or a tuple), None when there is nothing to differentiate
    _cache: Any = None

    def __init__(self) -> None:
        # MutableMapping, not Dict: a Residual block's are views of its inner layers' dicts
        self.params: MutableMapping[str, np.ndarray] = {}
        self.grads: MutableMapping[str, np.ndarray] = {}
        self.buffers: MutableMapping[str, np.ndarray] = {}

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define forward(x, training=False)")

    def backward(self, grad_output: np.ndarray) -> Optional[np.ndarray]:
        raise NotImplementedError(f"{type(self).__name__} must define backward(grad_output)")

    def __call__(self, x: ArrayLike | np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training=training)

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        """The per-sample output shape for a per-sample input shape (raises ValueError if it cannot take it)."""
        return tuple(input_shape)

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments that rebuild this layer (used by model files)."""
        return {}

    def state_dict(self) -> Dict[str, np.ndarray]:
        """The tensors saved with the model, by key: the parameters and the buffers (the arrays themselves)."""
        return {**self.params, **self.buffers}

    @classmethod
    def tensor_shapes(cls, config: Dict[str, Any]) -> Optional[Dict[str, Tuple[int, ...]]]:
        """{key: shape} of the tensors a layer built from ``config`` holds, told without building it, so
        that a model file's claims are checked before anything is allocated; None when the layer
        cannot tell (it is then built and compared)."""
        return None

    def check_tensors(self, tensors: Dict[str, np.ndarray]) -> None:
        """Raise ValueError if ``tensors`` ({key: array}, the keys and shapes of state_dict()) hold values
        outside what this layer computes with, such as a negative variance. Called before loading them,
        after their shapes, dtypes and finiteness are checked; most layers accept any finite values."""

    def release_cache(self) -> None:
        """Forget what forward kept for backward (and any work buffer kept for the next batch).

        Sequential.predict calls it on each layer right after the layer has run. A backward after it
        raises the same RuntimeError as a backward before any forward.
        """
        self._cache = None

    def _cached(self) -> Any:
        """Return what forward saved in ``_cache``, or explain that there is no forward to differentiate."""
        if self._cache is None:
            raise RuntimeError(
                f"{self!r}: backward() was called before forward() (or after an inference pass such as "
                "predict, which keeps nothing); run forward on a batch first so the layer has something to differentiate"
            )
        return self._cache

    def _checked_grad(self, grad_output: ArrayLike, shape: Tuple[int, ...]) -> np.ndarray:
        """grad_output as an array, checked to have the shape of the output it is the gradient of:
        NumPy would broadcast many wrong shapes into silently wrong gradients."""
        grad_output = np.asarray(grad_output)
        if grad_output.shape != shape:
            raise ValueError(f"{self!r}: expected grad_output of shape {shape}, got {grad_output.shape}")
        return grad_output

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _digest(array: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(array).data, digest_size=16).digest()


class WeightedLayer(Layer):
    """A layer with a ``weight`` and a ``bias`` (Dense, Conv2D), and the shared way to initialise them.

    With init="auto" the weight is drawn Glorot-uniform (right for tanh, sigmoid and linear outputs),
    and ``adopt_activation`` redraws it from the same random state with another initializer when a
    Sequential puts a ReLU-family activation right after the layer, as long as the weights are untouched.
    """

    @property
    def weight(self) -> np.ndarray:
        return self.params["weight"]

    @property
    def bias(self) -> np.ndarray:
        return self.params["bias"]

    def _init_params(self, shape: Tuple[int, ...], init: Union[str, Initializer], rng: Union[None, int, np.random.Generator],
                     dtype: DTypeLike) -> None:
        generator = initializers.as_generator(rng)
        #: (bit generator type, its state, digest of the weight drawn) while init="auto" may still redraw
        self._auto_init: Optional[Tuple[Any, ...]] = None
        if init == "auto":
            self._auto_init = (type(generator.bit_generator), generator.bit_generator.state)
            init = "glorot_uniform"
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        weight = initializers.get(init)(shape, generator, dtype)
        if self._auto_init is not None:
            self._auto_init += (_digest(weight),)
        self.params = {"weight": weight, "bias": np.zeros(shape[0], dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return cast(np.ndarray, self._backward(grad_output, input_grad=True))  # dX is None only without input_grad

    def _backward(self, grad_output: np.ndarray, input_grad: bool) -> Optional[np.ndarray]:
        """Store dW and db in ``grads``; return dX, or None when ``input_grad`` is False."""
        raise NotImplementedError(f"{type(self).__name__} must define _backward(grad_output, input_grad)")

    def backward_params(self, grad_output: np.ndarray) -> None:
        """Only the parameter gradients, skipping dX: what the first layer of a network needs."""
        self._backward(grad_output, input_grad=False)

    def adopt_activation(self, init: str) -> None:
        """With init="auto" and untouched weights, redraw them with ``init`` (called by Sequential)."""
        if self._auto_init is None:
            return
        bit_generator_type, state, drawn = self._auto_init
        self._auto_init = None
        if _digest(self.weight) != drawn:  # the user has set weights by hand: leave them
            return
        bit_generator = bit_generator_type()
        bit_generator.state = state
        self.weight[...] = initializers.get(init)(self.weight.shape, np.random.Generator(bit_generator), self.weight.dtype)
        self.init = init

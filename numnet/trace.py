"""Traces: every layer's input, output and gradients from one real forward and backward pass.

A trace records what the network computes for a batch: the forward pass layer by layer, then,
when targets and a loss are given, the backward pass from dL/dŷ down to dL/dX, with every
parameter gradient on the way. Nothing is computed twice: the numbers are those of the layers'
own ``forward(x, training=False)`` and ``backward(grad)``, copied as they go by, so that a later
call on the model cannot change a trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from . import validation
from .losses import Loss


def _json_array(array: Optional[np.ndarray], full: bool) -> Any:
    """An array for JSON: nested lists of floats, or (full=False) its shape and a five-number summary."""
    if array is None:
        return None
    if full:
        return array.tolist()
    summary: Dict[str, Any] = {"shape": list(array.shape), "dtype": str(array.dtype)}
    if array.size:
        summary.update(min=float(array.min()), max=float(array.max()), mean=float(array.mean()), std=float(array.std()))
    return summary


def _wanted(array: Optional[np.ndarray], arrays: bool, max_size: Optional[int]) -> bool:
    return arrays and (max_size is None or array is None or array.size <= max_size)


@dataclass
class LayerTrace:
    """One layer's part of a trace: what went in and out, and the gradients through it.

    ``grad_output`` is dL/d(output), ``grad_input`` dL/d(input); ``grads`` holds dL/dθ for each
    parameter θ in ``params``. The gradients are None (``grads`` empty) for a forward-only trace.
    """

    index: int
    name: str
    kind: str
    input: np.ndarray
    output: np.ndarray
    grad_output: Optional[np.ndarray] = None
    grad_input: Optional[np.ndarray] = None
    params: Dict[str, np.ndarray] = field(default_factory=dict)
    grads: Dict[str, np.ndarray] = field(default_factory=dict)

    def to_dict(self, arrays: bool = True, max_size: Optional[int] = None) -> Dict[str, Any]:
        """JSON-able dict; arrays as nested lists, or as shape and summary (arrays=False, or above max_size elements)."""

        def shown(array: Optional[np.ndarray]) -> Any:
            return _json_array(array, _wanted(array, arrays, max_size))

        return {
            "index": self.index,
            "name": self.name,
            "kind": self.kind,
            "input": shown(self.input),
            "output": shown(self.output),
            "grad_output": shown(self.grad_output),
            "grad_input": shown(self.grad_input),
            "params": {key: shown(value) for key, value in self.params.items()},
            "grads": {key: shown(value) for key, value in self.grads.items()},
        }


@dataclass
class Trace:
    """A forward pass (and, with targets and a loss, a backward pass) recorded layer by layer.

    ``layers[i]`` is the LayerTrace of model layer i; ``input`` is the batch as the model saw it
    (cast to the parameters' dtype), ``output`` the model's output ŷ, ``target`` the targets y,
    ``loss`` the value of L (None without targets). A Trace is a sequence of LayerTraces:
    ``len(trace)``, ``trace[0]``, ``for layer in trace``.
    """

    layers: List[LayerTrace]
    input: np.ndarray
    output: np.ndarray
    target: Optional[np.ndarray] = None
    loss: Optional[float] = None
    loss_name: Optional[str] = None

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[LayerTrace]:
        return iter(self.layers)

    def __getitem__(self, index: int) -> LayerTrace:
        return self.layers[index]

    @property
    def has_gradients(self) -> bool:
        """Whether the backward pass was recorded (targets and a loss were given)."""
        return self.loss is not None

    def to_dict(self, arrays: bool = True, max_size: Optional[int] = None) -> Dict[str, Any]:
        """JSON-able dict of the whole trace.

        Args:
            arrays: write arrays as nested lists of floats (default); False writes each as
                {"shape", "dtype", "min", "max", "mean", "std"} instead.
            max_size: with arrays=True, summarise only the arrays of more than this many elements
                (a 784-256-128-10 model's first weight has 200,704).
        """

        def shown(array: Optional[np.ndarray]) -> Any:
            return _json_array(array, _wanted(array, arrays, max_size))

        return {
            "input": shown(self.input),
            "output": shown(self.output),
            "target": shown(self.target),
            "loss": self.loss,
            "loss_name": self.loss_name,
            "layers": [layer.to_dict(arrays, max_size) for layer in self.layers],
        }

    def __str__(self) -> str:
        """A table: each layer's output shape, mean and spread, and the size of dL/d(output)."""
        width = max(len("layer"), *(len(layer.name) for layer in self.layers))
        rows = [f"{'#':>2}  {'layer':<{width}}  {'output shape':<16} {'mean':>10} {'std':>10}  {'‖dL/d output‖':>14}"]
        for layer in self.layers:
            gradient = "" if layer.grad_output is None else f"{np.linalg.norm(layer.grad_output):14.4g}"
            rows.append(
                f"{layer.index:>2}  {layer.name:<{width}}  {str(layer.output.shape):<16} "
                f"{float(layer.output.mean()):>10.4g} {float(layer.output.std()):>10.4g}  {gradient}"
            )
        if self.loss is not None:
            rows.append(f"loss {self.loss_name} = {self.loss:.6g}")
        return "\n".join(rows)


def _as_batch(model: Any, x: ArrayLike) -> np.ndarray:
    """x as a batch in the parameters' dtype; a single sample (a feature vector, or one input of
    the model's input_shape) gets its batch axis."""
    x = validation.numeric_array("x", x, owner="trace")
    input_shape = getattr(model, "input_shape", None)
    if x.ndim == 1 or (input_shape is not None and x.shape == tuple(input_shape)):
        x = x[None]
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"trace: x must be a non-empty batch of shape (N, ...), got {x.shape}")
    return x.astype(model.dtype, copy=False)


#: an array or None: _copy returns an array for an array, None for None
ArrayOrNone = TypeVar("ArrayOrNone", np.ndarray, None)


def _copy(array: ArrayOrNone) -> ArrayOrNone:
    return None if array is None else np.array(array, copy=True)


def trace(model: Any, x: ArrayLike, y: Optional[ArrayLike] = None, *, loss: Optional[Loss] = None) -> Trace:
    """Run one forward pass (and a backward pass when ``y`` and ``loss`` are given), recording every layer.

    Forward:  a₀ = X,  aᵢ₊₁ = fᵢ(aᵢ) with each layer's forward(aᵢ, training=False).
    Backward: δ = dL/dŷ from loss.value_and_gradient(y, ŷ), then δ ← fᵢᵀ(δ) with each layer's
    backward, last layer first; each layer's parameter gradients are copied as they are produced.

    The model's own caches and ``grads`` are overwritten as by any backward pass; the trace holds copies.

    Args:
        model: a Sequential (anything with ``.layers`` and ``.dtype``).
        x: a batch (N, ...) or a single sample (a 1-D feature vector, or one input of the model's input_shape).
        y: targets for ``loss``; with them the backward pass is recorded.
        loss: a numnet.losses loss (MSE(), CrossEntropy(), BinaryCrossEntropy()).

    Returns:
        Trace.

    Example:
        >>> t = trace(model, [[-2.0, -1.0]], [[1.0]], loss=MSE())
        >>> t[0].output, t[0].grads["weight"]
    """
    if (y is None) != (loss is None):
        raise ValueError(
            "trace: the backward pass needs both the targets y and a loss; pass both, or neither for a forward-only trace. "
            f"Received: y={'None' if y is None else 'given'}, loss={loss!r}"
        )
    if loss is not None and not isinstance(loss, Loss):
        raise TypeError(f"trace: loss must be a numnet.losses loss such as MSE(). Received: {loss!r}")
    if not model.layers:
        raise ValueError("trace: the model has no layers; add some before tracing it")
    x = _as_batch(model, x)
    records: List[LayerTrace] = []
    a = x
    for index, layer in enumerate(model.layers):
        inputs = a.copy()
        a = layer.forward(a, training=False)
        params = {key: _copy(param) for key, param in layer.params.items()}
        records.append(LayerTrace(index, repr(layer), type(layer).__name__, inputs, np.array(a, copy=True), params=params))
    if loss is None:
        return Trace(records, x.copy(), records[-1].output)

    y = np.asarray(y)
    if y.ndim == 0:
        y = y[None]
    value, delta = loss.value_and_gradient(y, a)
    for record, layer in zip(reversed(records), reversed(model.layers)):
        record.grad_output = _copy(delta)
        delta = layer.backward(delta)
        record.grad_input = _copy(delta)
        record.grads = {key: _copy(layer.grads[key]) for key in layer.params}
    return Trace(records, x.copy(), records[-1].output, _copy(y), value, repr(loss))

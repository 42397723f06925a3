"""Recurrent layers: RNN, LSTM and GRU, with PyTorch's equations, gate order and parameter layout.

Every layer reads a batch of sequences X (N, T, input_size) one step at a time, carrying a hidden
state hₜ (N, hidden_size) from step to step, and is differentiated by backpropagation through time
(BPTT): the forward loop run backwards, each step passing the gradient of its state to the step before.

Parameters, named as in torch.nn.RNN / LSTM / GRU (single layer, unidirectional) without the
"_l0" suffix, with the same shapes and gate order, so weights load from torch by name:

    numnet        torch            shape
    weight_ih     weight_ih_l0     (G·hidden_size, input_size)
    weight_hh     weight_hh_l0     (G·hidden_size, hidden_size)
    bias_ih       bias_ih_l0       (G·hidden_size,)
    bias_hh       bias_hh_l0       (G·hidden_size,)

with G = 1 (RNN), 4 (LSTM: gates i, f, g, o) or 3 (GRU: gates r, z, n), stacked in that order.
For example: ``layer.params[name.removesuffix("_l0")][...] = tensor.numpy()`` for each
``name, tensor in torch_lstm.named_parameters()``.

Internally the steps run time-major, (T, N, ·), so each step reads and writes contiguous rows; the
inputs and outputs are batch-first.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..validation import as_array, float_dtype, positive_int
from .. import fastmath, initializers
from ..functional import sigmoid
from ._linear import linear, linear_grads
from .base import Layer

#: h₀ (N, hidden_size), or for LSTM the pair (h₀, c₀); None starts from zeros
InitialState = Union[None, ArrayLike, Tuple[Optional[ArrayLike], Optional[ArrayLike]]]


class _Recurrent(Layer):
    """What RNN, LSTM and GRU share: parameters, argument and shape checks, and the time-major arrays.

    Subclasses set ``gates`` (G) and define ``_forward_steps(x, initial_state)`` and ``backward``.
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, *, return_sequences: bool = True, rng: Union[None, int, np.random.Generator] = None,
                 dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = positive_int("input_size", input_size, owner=name)
        self.hidden_size = positive_int("hidden_size", hidden_size, owner=name)
        if not isinstance(return_sequences, (bool, np.bool_)):
            raise TypeError(f"{name}: return_sequences must be True or False. Received: return_sequences={return_sequences!r}")
        self.return_sequences = bool(return_sequences)
        dtype = float_dtype(name, dtype)
        # PyTorch's initialization: every weight and bias drawn from U(−k, k), k = 1/√hidden_size
        generator = initializers.as_generator(rng)
        k = 1 / math.sqrt(self.hidden_size)
        rows = self.gates * self.hidden_size
        shapes = {"weight_ih": (rows, self.input_size), "weight_hh": (rows, self.hidden_size), "bias_ih": (rows,), "bias_hh": (rows,)}
        self.params = {key: generator.uniform(-k, k, size=shape).astype(dtype) for key, shape in shapes.items()}
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        #: after forward: the state after the last step (LSTM: the pair (h_T, c_T)); not differentiated
        self.final_state: Union[None, np.ndarray, Tuple[np.ndarray, np.ndarray]] = None
        #: after backward: dL/d(initial state), the gradient of the state the first step started from
        #: (zeros when none was given); LSTM: the pair (dh₀, dc₀)
        self.initial_state_grad: Union[None, np.ndarray, Tuple[np.ndarray, np.ndarray]] = None

    def output_shape(self, input_shape: Tuple[Optional[int], ...]) -> Tuple[Optional[int], ...]:
        if len(input_shape) != 2 or input_shape[1] != self.input_size:
            raise ValueError(
                f"{self!r}: expects sequences of shape (T, {self.input_size}) per sample, but receives shape {tuple(input_shape)}"
            )
        return (input_shape[0], self.hidden_size) if self.return_sequences else (self.hidden_size,)

    def _time_major_input(self, x: ArrayLike | np.ndarray) -> np.ndarray:
        """X (N, T, input_size) checked, as a contiguous time-major array (T, N, input_size)."""
        x = as_array(x, self)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            hint = "; a batch of one-step inputs needs a time axis: reshape (N, features) to (N, 1, features)" if x.ndim == 2 else ""
            raise ValueError(f"{self!r}: expected input of shape (N, T, {self.input_size}), got {x.shape}{hint}")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"{self!r}: expected at least one sequence of at least one step, got shape {x.shape}")
        return np.ascontiguousarray(x.transpose(1, 0, 2))

    def _state(self, state: Any, batch: int, dtype: DTypeLike, name: str = "initial_state") -> np.ndarray:
        """An initial state (N, hidden_size), checked; zeros when None."""
        expected = (batch, self.hidden_size)
        if state is None:
            return np.zeros(expected, dtype)
        state = np.asarray(state)
        if state.dtype.kind != "f":
            raise TypeError(f"{self!r}: {name} must be a float array of shape (N, hidden_size) = {expected}, received dtype {state.dtype}")
        if state.shape != expected:
            hint = "; torch's state of shape (1, N, hidden_size) is state[0] here" if state.shape == (1, *expected) else ""
            raise ValueError(f"{self!r}: expected {name} of shape (N, hidden_size) = {expected}, got {state.shape}{hint}")
        return state.astype(dtype, copy=False)

    def _outputs(self, h: np.ndarray) -> np.ndarray:
        """Y from the hidden states h (T + 1, N, H), h[0] the initial state: every hₜ batch-first, or h_T alone."""
        return np.ascontiguousarray(h[1:].transpose(1, 0, 2)) if self.return_sequences else h[-1].copy()

    def _step_grads(self, grad_output: np.ndarray, steps: int, batch: int) -> np.ndarray:
        """dY as the gradient reaching each step's output from above, time-major (T, N, H):
        dYₜ for every t with return_sequences, else dY at t = T and zeros before."""
        if self.return_sequences:
            return self._checked_grad(grad_output, (batch, steps, self.hidden_size)).transpose(1, 0, 2)
        grad_output = self._checked_grad(grad_output, (batch, self.hidden_size))
        dy = np.zeros((steps, batch, self.hidden_size), dtype=grad_output.dtype)
        dy[-1] = grad_output
        return dy

    def _set_grads(self, x: np.ndarray, h: np.ndarray, d_gates_x: np.ndarray, d_gates_h: np.ndarray) -> np.ndarray:
        """The parameter gradients from the gradients of each step's gate pre-activations, and dX:
            dW_ih = Σₜ dGxₜᵀ Xₜ,  db_ih = Σₜ Σₙ dGxₜ,  dW_hh = Σₜ dGhₜᵀ hₜ₋₁,  db_hh = Σₜ Σₙ dGhₜ,
            dXₜ = dGxₜ W_ih.
        (dGx = dGh for RNN and LSTM, whose hidden and input terms enter the gates alike.)"""
        d_x, self.grads["weight_ih"], self.grads["bias_ih"] = linear_grads(d_gates_x, x, self.params["weight_ih"])
        _, self.grads["weight_hh"], self.grads["bias_hh"] = linear_grads(d_gates_h, h[:-1], self.params["weight_hh"], input_grad=False)
        return d_x.transpose(1, 0, 2)  # back to batch-first (N, T, input_size)

    def forward(self, x: ArrayLike | np.ndarray, training: bool = False, initial_state: InitialState = None) -> np.ndarray:
        """Run the steps over X (N, T, input_size). ``initial_state``: h₀ (N, hidden_size), or for LSTM
        the pair (h₀, c₀); None starts from zeros. Returns (N, T, hidden_size), or (N, hidden_size)
        with return_sequences=False."""
        x = self._time_major_input(x)
        return self._forward_steps(x, initial_state)

    def _forward_steps(self, x: np.ndarray, initial_state: InitialState) -> np.ndarray:
        """Y from the time-major input X (T, N, input_size), starting from ``initial_state``."""
        raise NotImplementedError(f"{type(self).__name__} must define _forward_steps(x, initial_state)")

    def get_config(self) -> Dict[str, Any]:
        return {"input_size": self.input_size, "hidden_size": self.hidden_size, "return_sequences": self.return_sequences}

    @classmethod
    def tensor_shapes(cls, config: Dict[str, Any]) -> Optional[Dict[str, Tuple[int, ...]]]:
        input_size = positive_int("input_size", config.get("input_size"), owner=cls.__name__)
        hidden_size = positive_int("hidden_size", config.get("hidden_size"), owner=cls.__name__)
        rows = cls.gates * hidden_size
        return {"weight_ih": (rows, input_size), "weight_hh": (rows, hidden_size), "bias_ih": (rows,), "bias_hh": (rows,)}


class RNN(_Recurrent):
    """Elman recurrent layer, as torch.nn.RNN(input_size, hidden_size, batch_first=True).

    Forward:  aₜ = Xₜ W_ihᵀ + b_ih + hₜ₋₁ W_hhᵀ + b_hh,   hₜ = φ(aₜ),   t = 1 … T
              φ = tanh or relu;  Y = (h₁ … h_T), or h_T alone with return_sequences=False.
    Backward (BPTT), for t = T … 1, starting from da = 0 beyond the last step:
              dhₜ = dYₜ + daₜ₊₁ W_hh       (dYₜ only at t = T with return_sequences=False)
              daₜ = dhₜ ⊙ φ'(aₜ)           (tanh: 1 − hₜ²;  relu: [hₜ > 0])
              dXₜ = daₜ W_ih,   dh₀ = da₁ W_hh,
              dW_ih = Σₜ daₜᵀ Xₜ,   dW_hh = Σₜ daₜᵀ hₜ₋₁,   db_ih = db_hh = Σₜ Σₙ daₜ
    Shapes:   X (N, T, input_size) -> Y (N, T, hidden_size), or (N, hidden_size) with return_sequences=False;
              h₀ (N, hidden_size);  weights as in the module docstring, G = 1.

    Args:
        input_size: features per step.
        hidden_size: H, the size of the hidden state.
        nonlinearity: φ, "tanh" (default) or "relu".
        return_sequences: output every step's hₜ (default, as torch) or only the last, h_T.
        rng: a seed or numpy.random.Generator for the initial weights, U(−1/√H, 1/√H) as in torch.
        dtype: float type of the parameters, float32 by default; float64 for gradient checks.

    The initial state is passed as ``forward(X, initial_state=h0)``; after ``backward``, its gradient
    dh₀ is ``initial_state_grad`` and the last state h_T is ``final_state`` after forward.

    Example:
        >>> layer = RNN(3, 5, rng=0)
        >>> layer.forward(np.zeros((2, 7, 3), np.float32)).shape
        (2, 7, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", *, return_sequences: bool = True,
                 rng: Union[None, int, np.random.Generator] = None, dtype: DTypeLike = np.float32) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu'. Received: nonlinearity={nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, return_sequences=return_sequences, rng=rng, dtype=dtype)

    def _phi(self, a: np.ndarray) -> np.ndarray:
        return np.tanh(a) if self.nonlinearity == "tanh" else np.maximum(a, 0)

    def _phi_derivative(self, h: np.ndarray) -> np.ndarray:
        """φ'(aₜ) from hₜ = φ(aₜ): 1 − hₜ² for tanh, [hₜ > 0] for relu."""
        return 1 - h * h if self.nonlinearity == "tanh" else (h > 0).astype(h.dtype)

    def _forward_steps(self, x: np.ndarray, initial_state: InitialState) -> np.ndarray:
        w_hh, b_hh = self.params["weight_hh"], self.params["bias_hh"]
        steps, batch = x.shape[:2]
        input_part = linear(x, self.params["weight_ih"], self.params["bias_ih"])  # Xₜ W_ihᵀ + b_ih for every t at once
        h = np.empty((steps + 1, batch, self.hidden_size), dtype=input_part.dtype)
        h[0] = self._state(initial_state, batch, h.dtype)
        for t in range(1, steps + 1):
            h[t] = self._phi(input_part[t - 1] + h[t - 1] @ w_hh.T + b_hh)
        self._cache = (x, h)
        self.final_state = h[-1].copy()
        return self._outputs(h)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, h = self._cached()
        steps, batch = x.shape[:2]
        d_y = self._step_grads(grad_output, steps, batch)
        w_hh = self.params["weight_hh"]
        d_a = np.empty(d_y.shape, dtype=np.result_type(h, d_y))
        d_h_from_next = np.zeros((batch, self.hidden_size), dtype=d_a.dtype)  # daₜ₊₁ W_hh; 0 after the last step
        for t in range(steps, 0, -1):
            d_h = d_y[t - 1] + d_h_from_next
            d_a[t - 1] = d_h * self._phi_derivative(h[t])
            d_h_from_next = d_a[t - 1] @ w_hh
        self.initial_state_grad = d_h_from_next  # dh₀ = da₁ W_hh
        return self._set_grads(x, h, d_a, d_a)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "nonlinearity": self.nonlinearity}


class LSTM(_Recurrent):
    """Long short-term memory layer, as torch.nn.LSTM(input_size, hidden_size, batch_first=True).

    Forward, t = 1 … T (σ the logistic sigmoid, ⊙ elementwise):
              [aᵢ a_f a_g a_o] = Xₜ W_ihᵀ + b_ih + hₜ₋₁ W_hhᵀ + b_hh      (gate order i, f, g, o)
              i = σ(aᵢ),  f = σ(a_f),  g = tanh(a_g),  o = σ(a_o)
              cₜ = f ⊙ cₜ₋₁ + i ⊙ g,    hₜ = o ⊙ tanh(cₜ)
              Y = (h₁ … h_T), or h_T alone with return_sequences=False.
    Backward (BPTT), for t = T … 1, starting from dh = dc = 0 beyond the last step:
              dhₜ = dYₜ + daₜ₊₁ W_hh                     (dYₜ only at t = T with return_sequences=False)
              dcₜ = dcₜ₊₁ ⊙ fₜ₊₁ + dhₜ ⊙ o ⊙ (1 − tanh²(cₜ))
              daᵢ = dcₜ ⊙ g ⊙ i(1 − i),   da_f = dcₜ ⊙ cₜ₋₁ ⊙ f(1 − f),
              da_g = dcₜ ⊙ i ⊙ (1 − g²),  da_o = dhₜ ⊙ tanh(cₜ) ⊙ o(1 − o)
              dXₜ = daₜ W_ih,   dh₀ = da₁ W_hh,   dc₀ = dc₁ ⊙ f₁,
              dW_ih = Σₜ daₜᵀ Xₜ,   dW_hh = Σₜ daₜᵀ hₜ₋₁,   db_ih = db_hh = Σₜ Σₙ daₜ
    Shapes:   X (N, T, input_size) -> Y (N, T, hidden_size), or (N, hidden_size) with return_sequences=False;
              h₀, c₀ (N, hidden_size);  weights as in the module docstring, G = 4.

    Args:
        input_size, hidden_size, return_sequences, rng, dtype: as RNN.

    The initial state is passed as ``forward(X, initial_state=(h0, c0))``; after ``backward`` the pair
    (dh₀, dc₀) is ``initial_state_grad``, and (h_T, c_T) is ``final_state`` after forward.
    """

    gates = 4

    def _forward_steps(self, x: np.ndarray, initial_state: InitialState) -> np.ndarray:
        w_hh = self.params["weight_hh"]
        steps, batch = x.shape[:2]
        hidden = self.hidden_size
        # Xₜ W_ihᵀ + b_ih + b_hh for every t at once: one matrix product before the loop
        input_part = linear(x, self.params["weight_ih"], self.params["bias_ih"] + self.params["bias_hh"])
        dtype = input_part.dtype
        if initial_state is None:
            initial_state = (None, None)
        elif not isinstance(initial_state, (tuple, list)) or len(initial_state) != 2:
            raise TypeError(
                f"{self!r}: initial_state must be a pair (h0, c0) of arrays of shape (N, hidden_size). "
                f"Received: {type(initial_state).__name__}"
            )
        h = np.empty((steps + 1, batch, hidden), dtype)
        c = np.empty((steps + 1, batch, hidden), dtype)
        h[0] = self._state(initial_state[0], batch, dtype, "initial_state[0] (h0)")
        c[0] = self._state(initial_state[1], batch, dtype, "initial_state[1] (c0)")
        gates = np.empty((steps, batch, 4 * hidden), dtype)  # i, f, g, o of each step, after their nonlinearities
        tanh_c = np.empty((steps, batch, hidden), dtype)
        a = np.empty((batch, 4 * hidden), dtype)  # the gates' pre-activations of the current step
        for t in range(1, steps + 1):
            np.matmul(h[t - 1], w_hh.T, out=a)
            a += input_part[t - 1]  # [aᵢ a_f a_g a_o] = Xₜ W_ihᵀ + b_ih + hₜ₋₁ W_hhᵀ + b_hh
            i, f, g, o = fastmath.lstm_gates(a, out=gates[t - 1])  # σ(aᵢ), σ(a_f), tanh(a_g), σ(a_o)
            np.multiply(f, c[t - 1], out=c[t])
            c[t] += i * g  # cₜ = f ⊙ cₜ₋₁ + i ⊙ g
            np.tanh(c[t], out=tanh_c[t - 1])
            np.multiply(o, tanh_c[t - 1], out=h[t])  # hₜ = o ⊙ tanh(cₜ)
        self._cache = (x, h, c, gates, tanh_c)
        self.final_state = (h[-1].copy(), c[-1].copy())
        return self._outputs(h)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, h, c, gates, tanh_c = self._cached()
        steps, batch = x.shape[:2]
        hidden = self.hidden_size
        d_y = self._step_grads(grad_output, steps, batch)
        w_hh = self.params["weight_hh"]
        dtype = np.result_type(h, d_y)
        # what does not depend on the gradients flowing back is computed for every step at once, before the loop:
        # the factors multiplying dcₜ (for aᵢ, a_f, a_g) and dhₜ (for a_o, and dcₜ's share of dhₜ)
        i, f, g, o = (gates[..., k * hidden : (k + 1) * hidden] for k in range(4))
        factors = np.empty((steps, batch, 4, hidden), dtype)
        factors[:, :, 0] = g * i * (1 - i)  # daᵢ = dcₜ ⊙ g ⊙ i(1 − i)
        factors[:, :, 1] = c[:-1] * f * (1 - f)  # da_f = dcₜ ⊙ cₜ₋₁ ⊙ f(1 − f)
        factors[:, :, 2] = i * (1 - g * g)  # da_g = dcₜ ⊙ i ⊙ (1 − g²)
        factors[:, :, 3] = tanh_c * o * (1 - o)  # da_o = dhₜ ⊙ tanh(cₜ) ⊙ o(1 − o)
        c_from_h = o * (1 - tanh_c * tanh_c)  # dcₜ gets dhₜ ⊙ o ⊙ (1 − tanh²(cₜ))
        d_a = np.empty((steps, batch, 4 * hidden), dtype)
        d_h_from_next = np.zeros((batch, hidden), dtype)  # daₜ₊₁ W_hh
        d_c_from_next = np.zeros((batch, hidden), dtype)  # dcₜ₊₁ ⊙ fₜ₊₁
        for t in range(steps, 0, -1):
            d_h = d_y[t - 1] + d_h_from_next
            d_c = d_c_from_next + d_h * c_from_h[t - 1]
            d_a_t = d_a[t - 1].reshape(batch, 4, hidden)
            np.multiply(factors[t - 1, :, :3], d_c[:, None], out=d_a_t[:, :3])  # daᵢ, da_f, da_g
            np.multiply(factors[t - 1, :, 3], d_h, out=d_a_t[:, 3])  # da_o
            d_h_from_next = d_a[t - 1] @ w_hh
            d_c_from_next = d_c * f[t - 1]
        self.initial_state_grad = (d_h_from_next, d_c_from_next)  # (dh₀, dc₀)
        return self._set_grads(x, h, d_a, d_a)


class GRU(_Recurrent):
    """Gated recurrent unit layer, as torch.nn.GRU(input_size, hidden_size, batch_first=True).

    Forward, t = 1 … T, with the input and hidden parts of the gates kept apart (gate order r, z, n):
              [gx_r gx_z gx_n] = Xₜ W_ihᵀ + b_ih,      [gh_r gh_z gh_n] = hₜ₋₁ W_hhᵀ + b_hh
              r = σ(gx_r + gh_r),   z = σ(gx_z + gh_z),   n = tanh(gx_n + r ⊙ gh_n)
              hₜ = (1 − z) ⊙ n + z ⊙ hₜ₋₁
              Y = (h₁ … h_T), or h_T alone with return_sequences=False.
    Backward (BPTT), for t = T … 1, starting from dh = 0 beyond the last step:
              dhₜ = dYₜ + dhₜ₊₁ ⊙ zₜ₊₁ + dghₜ₊₁ W_hh    (dYₜ only at t = T with return_sequences=False)
              da_n = dhₜ ⊙ (1 − z) ⊙ (1 − n²),   da_z = dhₜ ⊙ (hₜ₋₁ − n) ⊙ z(1 − z),
              da_r = da_n ⊙ gh_n ⊙ r(1 − r)
              dgxₜ = [da_r da_z da_n],   dghₜ = [da_r da_z da_n ⊙ r]
              dXₜ = dgxₜ W_ih,   dh₀ = dh₁ ⊙ z₁ + dgh₁ W_hh,
              dW_ih = Σₜ dgxₜᵀ Xₜ,   db_ih = Σₜ Σₙ dgxₜ,   dW_hh = Σₜ dghₜᵀ hₜ₋₁,   db_hh = Σₜ Σₙ dghₜ
    Shapes:   X (N, T, input_size) -> Y (N, T, hidden_size), or (N, hidden_size) with return_sequences=False;
              h₀ (N, hidden_size);  weights as in the module docstring, G = 3.

    Args:
        input_size, hidden_size, return_sequences, rng, dtype: as RNN.

    The initial state is passed as ``forward(X, initial_state=h0)``; after ``backward``, dh₀ is
    ``initial_state_grad``, and h_T is ``final_state`` after forward.
    """

    gates = 3

    def _forward_steps(self, x: np.ndarray, initial_state: InitialState) -> np.ndarray:
        w_hh, b_hh = self.params["weight_hh"], self.params["bias_hh"]
        steps, batch = x.shape[:2]
        hidden = self.hidden_size
        gx = linear(x, self.params["weight_ih"], self.params["bias_ih"])  # Xₜ W_ihᵀ + b_ih for every t at once
        dtype = gx.dtype
        h = np.empty((steps + 1, batch, hidden), dtype)
        h[0] = self._state(initial_state, batch, dtype)
        r, z, n, gh_n = (np.empty((steps, batch, hidden), dtype) for _ in range(4))
        for t in range(1, steps + 1):
            gx_r, gx_z, gx_n = np.split(gx[t - 1], 3, axis=1)
            gh_r, gh_z, gh_n_t = np.split(h[t - 1] @ w_hh.T + b_hh, 3, axis=1)
            r[t - 1] = sigmoid(gx_r + gh_r)
            z[t - 1] = sigmoid(gx_z + gh_z)
            n[t - 1] = np.tanh(gx_n + r[t - 1] * gh_n_t)
            gh_n[t - 1] = gh_n_t  # kept: the backward needs it for da_r
            h[t] = (1 - z[t - 1]) * n[t - 1] + z[t - 1] * h[t - 1]
        self._cache = (x, h, r, z, n, gh_n)
        self.final_state = h[-1].copy()
        return self._outputs(h)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, h, r, z, n, gh_n = self._cached()
        steps, batch = x.shape[:2]
        d_y = self._step_grads(grad_output, steps, batch)
        w_hh = self.params["weight_hh"]
        dtype = np.result_type(h, d_y)
        d_gx = np.empty((steps, batch, 3 * self.hidden_size), dtype)
        d_gh = np.empty((steps, batch, 3 * self.hidden_size), dtype)
        d_h_from_next = np.zeros((batch, self.hidden_size), dtype)  # dhₜ₊₁ ⊙ zₜ₊₁ + dghₜ₊₁ W_hh
        for t in range(steps, 0, -1):
            r_t, z_t, n_t = r[t - 1], z[t - 1], n[t - 1]
            d_h = d_y[t - 1] + d_h_from_next
            d_a_n = d_h * (1 - z_t) * (1 - n_t * n_t)
            d_a_z = d_h * (h[t - 1] - n_t) * z_t * (1 - z_t)
            d_a_r = d_a_n * gh_n[t - 1] * r_t * (1 - r_t)
            d_gx[t - 1] = np.concatenate([d_a_r, d_a_z, d_a_n], axis=1)
            d_gh[t - 1] = np.concatenate([d_a_r, d_a_z, d_a_n * r_t], axis=1)
            d_h_from_next = d_h * z_t + d_gh[t - 1] @ w_hh
        self.initial_state_grad = d_h_from_next  # dh₀
        return self._set_grads(x, h, d_gx, d_gh)

"""Gradient descent and its refinements: each turns the gradients of a step into new weights.

``step(layers)`` reads every layer's ``params`` and ``grads`` afresh and updates the parameters in
place. Per-parameter state (velocities, moments) is kept in ``self.state`` under stable names,
"<layer index>.<parameter key>" such as "0.weight", never under the arrays' identities, so a
reloaded model or a resumed optimizer cannot point at stale arrays.

In the update rules, w is a parameter, g its gradient ∂L/∂w and lr the learning rate.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Sequence, Tuple

import numpy as np

from . import fastmath, validation


class Optimizer:
    """Base class. Subclasses name their state ``slots`` and define ``_update(name, w, g)``, which
    updates one parameter w in place from its gradient g."""

    slots: Tuple[str, ...] = ()

    def __init__(self, lr: float) -> None:
        self.lr: float = self._number("lr", lr, 0, low_inclusive=False)
        self.iterations = 0
        self.state: Dict[str, Dict[str, np.ndarray]] = {}
        self._work: Dict[str, np.ndarray] = {}  # work arrays of the updates (fastmath.work_array), by parameter name; not state

    def _number(self, name: str, value: Any, low: float, high: float = math.inf, **inclusive: bool) -> float:
        return validation.number(name, value, low, high, owner=type(self).__name__, **inclusive)

    def step(self, layers: Any) -> None:
        """Update every parameter of ``layers`` (a list of layers or a Sequential) from its gradient."""
        layers = getattr(layers, "layers", layers)
        named, state = [], self.state
        for index, layer in enumerate(layers):  # every gradient and state is checked before anything changes
            if not layer.params:
                continue
            grads = layer.grads
            for key, param in layer.params.items():
                grad = grads.get(key)
                if grad is None or grad.shape != param.shape:
                    raise RuntimeError(
                        f"{self!r}: layer {index} ({layer!r}) has no gradient of shape {param.shape} for "
                        f"{key!r}; call backward before step"
                    )
                name = f"{index}.{key}"
                slots = state.get(name)
                if slots:
                    for slot, value in slots.items():
                        self._check_state(name, slot, value, param)
                named.append((name, param, grad))
        self.iterations += 1
        for name, param, grad in named:
            self._update(name, param, grad)

    def _update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _update(name, w, g)")

    def _slot(self, name: str, slot: str, param: np.ndarray) -> np.ndarray:
        """The optimizer's state array `slot` for a parameter, created as zeros of its dtype."""
        slots = self.state.setdefault(name, {})
        if slot not in slots:
            slots[slot] = np.zeros_like(param)
        return slots[slot]

    def _check_state(self, name: str, slot: str, value: np.ndarray, param: np.ndarray) -> None:
        if value.shape != param.shape or value.dtype != param.dtype:
            raise RuntimeError(
                f"{self!r}: its state {slot!r} for parameter {name} has shape {value.shape} {value.dtype}, but the "
                f"parameter has shape {param.shape} {param.dtype}; was this state loaded from another model?"
            )

    def state_dict(self) -> Dict[str, Any]:
        """Everything needed to resume exactly: hyperparameters, step count and per-parameter state."""
        return {
            "lr": self.lr,
            "iterations": self.iterations,
            "state": {name: {k: v.copy() for k, v in slots.items()} for name, slots in self.state.items()},
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned (arrays are copied); on a bad state nothing changes."""
        owner = type(self).__name__
        try:
            lr = self._number("lr", state_dict["lr"], 0, low_inclusive=False)
            iterations = int(state_dict["iterations"])
            state = {
                name: {k: np.array(v, copy=True) for k, v in slots.items()} for name, slots in state_dict["state"].items()
            }
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{owner}.load_state_dict: not an optimizer state ({error})") from error
        for name, slots in state.items():
            unknown = sorted(set(slots) - set(self.slots))
            if unknown:
                raise ValueError(
                    f"{owner}.load_state_dict: parameter {name} has state {', '.join(map(repr, unknown))}, "
                    f"but {owner} keeps only {', '.join(map(repr, self.slots))} "
                    "(a state saved by another optimizer or by an older numnet?)"
                )
        self.lr, self.iterations, self.state = lr, iterations, state

    def get_config(self) -> Dict[str, Any]:
        return {"lr": self.lr}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum and weight decay.

    Update:   g ← ∂L/∂w + λ w            (λ: weight_decay, only used when > 0)
              v ← μ v + g                (v = g on the first step; only used when momentum μ > 0)
              w ← w − lr · v             (or w ← w − lr · (g + μ v) when nesterov=True)
    With the defaults this is the plain rule w ← w − lr · g. Same formulas as torch.optim.SGD.

    Args:
        lr: learning rate (default 0.01).
        momentum: μ in [0, 1) (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0).
        weight_decay: λ ≥ 0, L2 penalty (λ/2)‖w‖² added through the gradient (default 0).
    """

    slots = ("velocity",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        self.momentum = self._number("momentum", momentum, 0, 1, high_inclusive=False)
        self.weight_decay = self._number("weight_decay", weight_decay, 0)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0. Received: momentum=0")
        self.nesterov = bool(nesterov)

    def _update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        mu = self.momentum
        if self.weight_decay:
            g = g + self.weight_decay * w  # g ← ∂L/∂w + λ w
        if not mu:
            w -= self.lr * g  # w ← w − lr · g
            return
        first = name not in self.state
        v = self._slot(name, "velocity", w)
        if first:
            v[...] = g  # v = g on the first step
        else:
            v *= mu
            v += g  # v ← μ v + g
        if self.nesterov:
            w -= self.lr * (g + mu * v)  # w ← w − lr · (g + μ v)
        else:
            w -= self.lr * v  # w ← w − lr · v

    def get_config(self) -> Dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov, "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam: per-weight step sizes from running means of the gradient and of its square.

    Update (step t):
              g ← ∂L/∂w + λ w                  (λ: weight_decay, only used when > 0)
              m ← β₁ m + (1 − β₁) g            v ← β₂ v + (1 − β₂) g²
              m̂ = m / (1 − β₁ᵗ)                v̂ = v / (1 − β₂ᵗ)
              w ← w − lr · m̂ / (√v̂ + ε)
    Same formulas as torch.optim.Adam; the state holds m and v ("m", "v"). The bias corrections fold
    into two scalars: with cₖ = 1 − βₖᵗ, lr · m̂ / (√v̂ + ε) = (lr √c₂ / c₁) · m / (√v + ε √c₂).

    Every ``flush_every``-th step the entries of m and v smaller in size than the dtype's smallest
    normal number, tiny (about 1.2e-38 in float32), are set to 0, much as a CPU in flush-to-zero mode
    does: where a gradient stays 0, m and v decay into the subnormal numbers and stay there, and many
    CPUs multiply those many times slower (``fastmath.inplace_flush_subnormals``). With ε > 0 this
    moves w by less than about lr · tiny / ε per step (1e-33 with the defaults), far below w's
    rounding unit.

    Args:
        lr: learning rate (default 1e-3).
        betas: (β₁, β₂), decay rates of the two running means (default (0.9, 0.999)).
        eps: ε added to the denominator (default 1e-8).
        weight_decay: λ ≥ 0, L2 penalty through the gradient (default 0).
    """

    slots = ("m", "v")
    flush_every = 8  # a subnormal moment lives at most 7 steps; the flush's four passes run on one step in 8

    def __init__(self, lr: float = 1e-3, betas: Sequence[float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{type(self).__name__}: betas must be a pair (beta1, beta2). Received: betas={betas!r}")
        self.betas: Tuple[float, ...] = tuple(self._number(name, beta, 0, 1, high_inclusive=False) for name, beta in zip(("beta1", "beta2"), betas))
        self.eps = self._number("eps", eps, 0)
        self.weight_decay = self._number("weight_decay", weight_decay, 0)

    def _update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * w  # g ← ∂L/∂w + λ w
        self._adam_update(name, w, g)

    def _adam_update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        """m, v and w of the class docstring, for the gradient g."""
        beta1, beta2 = self.betas
        m, v = self._slot(name, "m", w), self._slot(name, "v", w)
        work = fastmath.work_array(self._work, name, w)
        fastmath.inplace_moving_average(m, g, beta1, work)  # m ← β₁ m + (1 − β₁) g
        fastmath.inplace_moving_average(v, np.square(g, out=work), beta2, work)  # v ← β₂ v + (1 − β₂) g²
        if self.iterations % self.flush_every == 0:
            fastmath.inplace_flush_subnormals(m, work)
            fastmath.inplace_flush_subnormals(v, work)
        t = self.iterations
        c1, c2 = 1 - beta1**t, 1 - beta2**t
        # w ← w − lr · m̂ / (√v̂ + ε), as w ← w − (lr √c₂ / c₁) · m / (√v + ε √c₂);
        # math.sqrt keeps Python floats, which leave float32 arrays float32
        fastmath.inplace_divided_step(w, self.lr * math.sqrt(c2) / c1, m, v, self.eps * math.sqrt(c2), work)

    def get_config(self) -> Dict[str, Any]:
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps, "weight_decay": self.weight_decay}


class AdamW(Adam):
    """Adam with decoupled weight decay: the weights shrink directly instead of through the gradient.

    Update:   w ← w − lr · λ · w               (decay first, independent of the gradient's scale)
              then Adam's update with g = ∂L/∂w (no λ w term)
    Same formulas as torch.optim.AdamW.

    Args:
        lr, betas, eps: as Adam.
        weight_decay: λ ≥ 0 (default 0.01).
    """

    def __init__(self, lr: float = 1e-3, betas: Sequence[float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01) -> None:
        super().__init__(lr, betas, eps, weight_decay)

    def _update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            w *= 1 - self.lr * self.weight_decay  # w ← w − lr · λ · w
        self._adam_update(name, w, g)


class RMSprop(Optimizer):
    """RMSprop: divide each step by a running root mean square of recent gradients.

    Update:   g ← ∂L/∂w + λ w                    (λ only used when weight_decay > 0)
              v ← α v + (1 − α) g²
              a = √v + ε      (centered=True: a = √(v − ḡ²) + ε with ḡ ← α ḡ + (1 − α) g)
              w ← w − lr · g / a      (momentum μ > 0: b ← μ b + g / a,  w ← w − lr · b)
    Same formulas as torch.optim.RMSprop; the state holds v ("square_avg"), ḡ ("grad_avg") and
    b ("momentum_buffer").

    Args:
        lr: learning rate (default 0.01). alpha: α, smoothing (default 0.99). eps: ε (default 1e-8).
        weight_decay: λ (default 0). momentum: μ (default 0). centered: subtract the mean gradient (default False).
    """

    slots = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(lr)
        self.alpha = self._number("alpha", alpha, 0, 1, high_inclusive=False)
        self.eps = self._number("eps", eps, 0)
        self.weight_decay = self._number("weight_decay", weight_decay, 0)
        self.momentum = self._number("momentum", momentum, 0, 1, high_inclusive=False)
        self.centered = bool(centered)

    def _update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        alpha, mu = self.alpha, self.momentum
        if self.weight_decay:
            g = g + self.weight_decay * w  # g ← ∂L/∂w + λ w
        v = self._slot(name, "square_avg", w)
        v *= alpha
        v += (1 - alpha) * g * g  # v ← α v + (1 − α) g²
        if self.centered:
            g_mean = self._slot(name, "grad_avg", w)
            g_mean *= alpha
            g_mean += (1 - alpha) * g  # ḡ ← α ḡ + (1 − α) g
            a = np.sqrt(v - g_mean * g_mean) + self.eps  # a = √(v − ḡ²) + ε
        else:
            a = np.sqrt(v) + self.eps  # a = √v + ε
        if mu:
            b = self._slot(name, "momentum_buffer", w)
            b *= mu
            b += g / a  # b ← μ b + g / a
            w -= self.lr * b  # w ← w − lr · b
        else:
            w -= self.lr * g / a  # w ← w − lr · g / a

    def get_config(self) -> Dict[str, Any]:
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps, "weight_decay": self.weight_decay,
                "momentum": self.momentum, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad: per-weight step sizes that shrink with the sum of all past squared gradients.

    Update (step t):  g ← ∂L/∂w + λ w           (λ only used when weight_decay > 0)
                      s ← s + g²                (s starts at initial_accumulator_value)
                      w ← w − lr / (1 + (t − 1)·lr_decay) · g / (√s + ε)
    Same formulas as torch.optim.Adagrad; the state holds s ("sum").

    Args:
        lr: learning rate (default 0.01). lr_decay: default 0. weight_decay: λ (default 0).
        initial_accumulator_value: default 0. eps: ε (default 1e-10).
    """

    slots = ("sum",)

    def __init__(self, lr: float = 0.01, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10) -> None:
        super().__init__(lr)
        self.lr_decay = self._number("lr_decay", lr_decay, 0)
        self.weight_decay = self._number("weight_decay", weight_decay, 0)
        self.initial_accumulator_value = self._number("initial_accumulator_value", initial_accumulator_value, 0)
        self.eps = self._number("eps", eps, 0)

    def _update(self, name: str, w: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * w  # g ← ∂L/∂w + λ w
        if name not in self.state:
            self._slot(name, "sum", w)[...] = self.initial_accumulator_value
        s = self._slot(name, "sum", w)
        s += g * g  # s ← s + g²
        t = self.iterations
        w -= self.lr / (1 + (t - 1) * self.lr_decay) * g / (np.sqrt(s) + self.eps)  # w ← w − lr_t · g / (√s + ε)

    def get_config(self) -> Dict[str, Any]:
        return {"lr": self.lr, "lr_decay": self.lr_decay, "weight_decay": self.weight_decay,
                "initial_accumulator_value": self.initial_accumulator_value, "eps": self.eps}

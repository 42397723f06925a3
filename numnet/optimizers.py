"""Gradient descent and its refinements: each turns the gradients of a step into new weights.

``step(layers)`` reads every layer's ``params`` and ``grads`` afresh and updates the parameters in
place. Per-parameter state (velocities, moments) is kept in ``self.state`` under stable names,
"<layer index>.<parameter key>" such as "0.weight", never under the arrays' identities, so a
reloaded model or a resumed optimizer cannot point at stale arrays.
"""

import math
import numbers

import numpy as np


def _check_number(owner, name, value, low, high=None, low_inclusive=True):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (value >= low if low_inclusive else value > low) and (high is None or value < high)
    if not ok:
        bound = "[" if low_inclusive else "("
        high_text = f"{high})" if high is not None else "∞)"
        raise ValueError(f"{owner}: {name} must be a number in the range {bound}{low}, {high_text}. Received: {name}={value!r}")
    return float(value)


def _memory_order(array):
    return "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"


class _Pack:
    """One dtype's optimizer state, packed: ``arrays`` maps each slot to a 1-D array holding every
    parameter's state in turn; ``scratch`` is a work array of the same size; ``members`` lists
    (index of the parameter, {slot: its view}, its view of the scratch array)."""

    def __init__(self, dtype, size, slots):
        self.arrays = {slot: np.zeros(size, dtype) for slot in slots}
        self.scratch = np.empty(size, dtype)
        self.members = []


class Optimizer:
    """Base class. Subclasses define the names of their state ``slots`` and ``_update(name, param, grad)``,
    or ``_update_all(named)`` to update all (name, param, grad) triples at once."""

    slots = ()

    def __init__(self, lr):
        self.lr = _check_number(type(self).__name__, "lr", lr, 0, low_inclusive=False)
        self.iterations = 0
        self.state = {}
        self._packed, self._packed_for = [], []

    def step(self, layers):
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
                        self._check_state_shape(name, slot, value, param)
                named.append((name, param, grad))
        self.iterations += 1
        self._update_all(named)

    def _update_all(self, named):
        for name, param, grad in named:
            self._update(name, param, grad)

    def _slot(self, name, slot, param):
        """The optimizer's state array `slot` for a parameter, created as zeros of its dtype."""
        slots = self.state.setdefault(name, {})
        if slot not in slots:
            slots[slot] = np.zeros_like(param)
        return slots[slot]

    def _check_state_shape(self, name, slot, value, param):
        if value.shape != param.shape:
            raise RuntimeError(
                f"{self!r}: its state {slot!r} for parameter {name} has shape {value.shape}, but the "
                f"parameter has shape {param.shape}; was this state loaded from another model?"
            )

    def _packed_state(self, named):
        """The state of all parameters packed side by side: for each dtype, a ``_Pack`` holding one 1-D
        array per slot (and a scratch array of the same size), with each parameter's state in
        ``self.state`` a view into them, shaped and laid out like the parameter.

        An optimizer then updates every parameter's state with one NumPy call per operation instead of
        one per parameter: a call costs about a microsecond however small its array, and a network's
        biases are small. The packs are rebuilt, keeping the values, when the parameters or the state
        change (another model, or load_state_dict).
        """
        packed_for = self._packed_for  # [(name, param, its state)] when the packs were built
        if len(packed_for) != len(named) or any(
            param is not packed_param or self.state.get(name) is not slots
            for (name, param, _), (_, packed_param, slots) in zip(named, packed_for)
        ):
            self._packed, self._packed_for = self._pack(named)
        return self._packed

    def _pack(self, named):
        by_dtype = {}
        for index, (_, param, _) in enumerate(named):
            by_dtype.setdefault(param.dtype, []).append(index)
        state, packs, packed_for = dict(self.state), [], [None] * len(named)
        for dtype, indices in by_dtype.items():
            pack = _Pack(dtype, sum(named[i][1].size for i in indices), self.slots)
            offset = 0
            for index in indices:
                name, param, _ = named[index]
                part, order, offset = slice(offset, offset + param.size), _memory_order(param), offset + param.size
                slots = {slot: array[part].reshape(param.shape, order=order) for slot, array in pack.arrays.items()}
                for slot, old in state.get(name, {}).items():
                    slots[slot][...] = old
                pack.members.append((index, slots, pack.scratch[part].reshape(param.shape, order=order)))
                state[name] = slots
                packed_for[index] = (name, param, slots)
            packs.append(pack)
        self.state = state
        return packs, packed_for

    def state_dict(self):
        """Everything needed to resume exactly: hyperparameters, step count and per-parameter state."""
        return {
            "lr": self.lr,
            "iterations": self.iterations,
            "state": {name: {k: v.copy() for k, v in slots.items()} for name, slots in self.state.items()},
        }

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict`` returned (arrays are copied); on a bad state nothing changes."""
        owner = type(self).__name__
        try:
            lr = _check_number(owner, "lr", state_dict["lr"], 0, low_inclusive=False)
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

    def get_config(self):
        return {"lr": self.lr}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum and weight decay.

    Update:   g ← ∂L/∂w + λ w                       (λ: weight_decay, only used when > 0)
              v ← μ v + g    (v = g on the first step; only used when momentum μ > 0)
              w ← w − lr · v              (or w ← w − lr · (g + μ v) when nesterov=True)
    With the defaults this is the plain rule w ← w − lr · ∂L/∂w. Same formulas as torch.optim.SGD.

    Args:
        lr: learning rate (default 0.01).
        momentum: μ in [0, 1) (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0).
        weight_decay: λ ≥ 0, L2 penalty (λ/2)‖w‖² added through the gradient (default 0).
    """

    slots = ("velocity",)

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        self.momentum = _check_number("SGD", "momentum", momentum, 0, 1)
        self.weight_decay = _check_number("SGD", "weight_decay", weight_decay, 0)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0. Received: momentum=0")
        self.nesterov = bool(nesterov)

    def _update(self, name, param, grad):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if self.momentum:
            first = name not in self.state
            velocity = self._slot(name, "velocity", param)
            if first:
                velocity[...] = grad
            else:
                velocity *= self.momentum
                velocity += grad
            grad = grad + self.momentum * velocity if self.nesterov else velocity
        param -= self.lr * grad

    def get_config(self):
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov, "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam: per-weight step sizes from running means of the gradient and of its square.

    Update (step t, g = ∂L/∂w + λ w, λ only used when weight_decay > 0):
              m ← β₁ m + (1 − β₁) g            v ← β₂ v + (1 − β₂) g²
              m̂ = m / (1 − β₁ᵗ)                v̂ = v / (1 − β₂ᵗ)
              w ← w − lr · m̂ / (√v̂ + ε)
    Same formulas as torch.optim.Adam. The state keeps the decayed sums M = Σₖ β₁ᵗ⁻ᵏ gₖ = m / (1 − β₁)
    ("grad_sum") and V = Σₖ β₂ᵗ⁻ᵏ gₖ² = v / (1 − β₂) ("square_sum"), updated as M ← β₁ M + g and
    V ← β₂ V + g²: no (1 − β) g passes over the arrays.

    Args:
        lr: learning rate (default 1e-3).
        betas: (β₁, β₂), decay rates of the two running means (default (0.9, 0.999)).
        eps: ε added to the denominator (default 1e-8).
        weight_decay: λ ≥ 0, L2 penalty through the gradient (default 0).
    """

    slots = ("grad_sum", "square_sum")

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2). Received: betas={betas!r}")
        self.betas = (_check_number("Adam", "beta1", betas[0], 0, 1), _check_number("Adam", "beta2", betas[1], 0, 1))
        self.eps = _check_number("Adam", "eps", eps, 0)
        self.weight_decay = _check_number("Adam", "weight_decay", weight_decay, 0)

    def _gradient(self, param, grad):
        """The g of Adam's update: ∂L/∂w + λ w (AdamW overrides this to decay w itself instead)."""
        return grad + self.weight_decay * param if self.weight_decay else grad

    def _update_all(self, named):
        beta1, beta2 = self.betas
        t = self.iterations
        # The bias-corrected means are the decayed sums over their total weights: m̂ = M (1 − β₁) / (1 − β₁ᵗ)
        # and v̂ = V r² with r² = (1 − β₂) / (1 − β₂ᵗ), so lr · m̂ / (√v̂ + ε) = k · M / (√V + ε / r)
        # with k = lr (1 − β₁) / ((1 − β₁ᵗ) r): the corrections cost two scalars, not passes over the arrays.
        # math.sqrt keeps Python floats (a NumPy float64 scalar would upcast every float32 array).
        r = math.sqrt((1 - beta2) / (1 - beta2**t))
        k = self.lr * (1 - beta1) / ((1 - beta1**t) * r)
        for pack in self._packed_state(named):  # all parameters' M, V and step at once: see _packed_state
            grad_sum, square_sum, step = pack.arrays["grad_sum"], pack.arrays["square_sum"], pack.scratch
            grad_sum *= beta1
            square_sum *= beta2
            for index, slots, param_step in pack.members:
                _, param, grad = named[index]
                grad = self._gradient(param, grad)
                slots["grad_sum"] += grad
                np.multiply(grad, grad, out=param_step)
            square_sum += step
            np.sqrt(square_sum, out=step)
            step += self.eps / r
            # k · M / (√V + ε/r) as (k / (√V + ε/r)) · M: where a weight's gradient has been 0 for hundreds
            # of steps, M has decayed into the subnormal range; the AMD EPYC of docs/benchmarks.md divides a
            # subnormal through a slow assist (the M / (...) pass took twice as long in training) but
            # multiplies one at full speed.
            np.divide(k, step, out=step)
            step *= grad_sum
            for index, _, param_step in pack.members:
                param = named[index][1]
                param -= param_step

    def get_config(self):
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

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(lr, betas, eps, weight_decay)

    def _gradient(self, param, grad):
        """g = ∂L/∂w; the decoupled decay w ← w − lr · λ · w is applied here, before Adam's step."""
        if self.weight_decay:
            param *= 1 - self.lr * self.weight_decay
        return grad


class RMSprop(Optimizer):
    """RMSprop: divide each step by a running root mean square of recent gradients.

    Update:   g ← ∂L/∂w + λ w                        (λ only used when weight_decay > 0)
              v ← α v + (1 − α) g²
              a = √v + ε      (centered=True: a = √(v − ḡ²) + ε with ḡ ← α ḡ + (1 − α) g)
              w ← w − lr · g / a      (momentum μ > 0: b ← μ b + g / a,  w ← w − lr · b)
    Same formulas as torch.optim.RMSprop.

    Args:
        lr: learning rate (default 0.01). alpha: α, smoothing (default 0.99). eps: ε (default 1e-8).
        weight_decay: λ (default 0). momentum: μ (default 0). centered: subtract the mean gradient (default False).
    """

    slots = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(lr)
        self.alpha = _check_number("RMSprop", "alpha", alpha, 0, 1)
        self.eps = _check_number("RMSprop", "eps", eps, 0)
        self.weight_decay = _check_number("RMSprop", "weight_decay", weight_decay, 0)
        self.momentum = _check_number("RMSprop", "momentum", momentum, 0, 1)
        self.centered = bool(centered)

    def _update(self, name, param, grad):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        square_avg = self._slot(name, "square_avg", param)
        square_avg *= self.alpha
        square_avg += (1 - self.alpha) * grad * grad
        if self.centered:
            grad_avg = self._slot(name, "grad_avg", param)
            grad_avg *= self.alpha
            grad_avg += (1 - self.alpha) * grad
            denominator = np.sqrt(square_avg - grad_avg * grad_avg) + self.eps
        else:
            denominator = np.sqrt(square_avg) + self.eps
        if self.momentum:
            buffer = self._slot(name, "momentum_buffer", param)
            buffer *= self.momentum
            buffer += grad / denominator
            param -= self.lr * buffer
        else:
            param -= self.lr * grad / denominator

    def get_config(self):
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps, "weight_decay": self.weight_decay,
                "momentum": self.momentum, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad: per-weight step sizes that shrink with the sum of all past squared gradients.

    Update (step t):  g ← ∂L/∂w + λ w           (λ only used when weight_decay > 0)
                      s ← s + g²                (s starts at initial_accumulator_value)
                      w ← w − lr / (1 + (t − 1)·lr_decay) · g / (√s + ε)
    Same formulas as torch.optim.Adagrad.

    Args:
        lr: learning rate (default 0.01). lr_decay: default 0. weight_decay: λ (default 0).
        initial_accumulator_value: default 0. eps: ε (default 1e-10).
    """

    slots = ("sum",)

    def __init__(self, lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(lr)
        self.lr_decay = _check_number("Adagrad", "lr_decay", lr_decay, 0)
        self.weight_decay = _check_number("Adagrad", "weight_decay", weight_decay, 0)
        self.initial_accumulator_value = _check_number("Adagrad", "initial_accumulator_value", initial_accumulator_value, 0)
        self.eps = _check_number("Adagrad", "eps", eps, 0)

    def _update(self, name, param, grad):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if name not in self.state:
            self._slot(name, "sum", param)[...] = self.initial_accumulator_value
        total = self._slot(name, "sum", param)
        total += grad * grad
        step_size = self.lr / (1 + (self.iterations - 1) * self.lr_decay)
        param -= step_size * grad / (np.sqrt(total) + self.eps)

    def get_config(self):
        return {"lr": self.lr, "lr_decay": self.lr_decay, "weight_decay": self.weight_decay,
                "initial_accumulator_value": self.initial_accumulator_value, "eps": self.eps}


OPTIMIZERS = {cls.__name__: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)}

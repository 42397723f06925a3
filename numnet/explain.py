"""See the chain rule: how one parameter moves the loss, factor by factor, for one sample.

``explain(model, x, y, loss=..., param="0.weight[0, 0]")`` writes ∂L/∂w out as the texts do by
hand: the forward values on the way from w to the loss, every factor of the chain rule with its
formula and its number, and their product, checked against the gradient of the layers' own
backward pass and against a central finite difference, then the step w ← w − η ∂L/∂w.

Notation (the texts' letters):
    x   the input,  W⁽ˡ⁾, b⁽ˡ⁾  the weight and bias of layer l ("l.weight", "l.bias"),
    z⁽ˡ⁾ = W⁽ˡ⁾ a + b⁽ˡ⁾  a Dense layer's output,  a⁽ˡ⁾ = f(z⁽ˡ⁾)  the activation after it,
    ŷ   the network's output,  L  the loss,  δ⁽ˡ⁾ = ∂L/∂z⁽ˡ⁾,  η  the learning rate,  σ' = σ(1 − σ).
A 2-layer network with a handful of units gets the texts' own names instead (x1, h1, o1, w1…w6, b1…b3).

The product of the factors is computed here from the forward values and the formulas; the
backward value comes from the layers' backward passes (numnet.trace); the finite difference
from the loss alone. All three are taken on a float64 copy of the model.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, cast

import numpy as np
from numpy.typing import ArrayLike

from .datasets import gender
from .functional import sigmoid, softmax
from .layers.activations import Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .layers.dense import Dense
from .layers.dropout import Dropout
from .layers.reshape import Flatten
from .losses import MSE, BinaryCrossEntropy, CrossEntropy, Loss
from .images import load_digit
from .model import Sequential
from .runs import as_model_input
from .model import load as load_model
from .trace import trace

#: layers that leave a batch of vectors unchanged in inference mode
PASS_THROUGH = (Dropout, Flatten)
ACTIVATIONS = (Sigmoid, Tanh, ReLU, LeakyReLU, Softmax, Activation)
#: central finite-difference step, in float64: truncation error ~ε², rounding noise ~1e-16/ε
EPSILON = 1e-6
#: how many of the largest terms of a sum over paths are written out
LARGEST_TERMS = 3
#: the texts' names (x1, h1, w1, ...) are used for two Dense layers of at most this many units each
TEXTS_MAX_UNITS = 9

_NAME = re.compile(r"^\s*(\d+)\s*\.\s*([A-Za-z_]\w*)\s*\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]\s*$")
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


# -- numbers as text ------------------------------------------------------------------------------


def _num(value, digits=3):
    """A number to ``digits`` significant digits, as the texts print them, with a real minus sign."""
    value = float(value)
    if value == 0:
        return "0"
    return f"{value:.{digits}g}".replace("-", "−")


def _operand(value, digits=3):
    """A number inside a product: negative numbers in parentheses, as in 1·(−2)."""
    text = _num(value, digits)
    return f"({text})" if text.startswith("−") else text


def _precise(value):
    return "0" if value == 0 else f"{float(value):.10g}".replace("-", "−")


# -- parameter names --------------------------------------------------------------------------------


def _ranges(shape):
    letters = "ijklmn"
    return ", ".join(f"{letters[axis]} in 0..{size - 1}" for axis, size in enumerate(shape))


def parameter_names(model: Sequential) -> List[str]:
    """Every parameter as "<layer>.<key>[i, j]" with its index ranges, e.g. "0.weight[i, j] (i in 0..1, j in 0..1)"."""
    names = []
    for index, layer in enumerate(model.layers):
        for key, value in layer.params.items():
            axes = ", ".join("ijklmn"[: value.ndim])
            names.append(f"{index}.{key}[{axes}] ({_ranges(value.shape)})")
    return names


def parse_param(model: Sequential, name: str) -> Tuple[int, str, Tuple[int, ...]]:
    """"<layer>.<key>[i, j]" -> (layer index, key, index tuple); ValueError listing the valid names if it names nothing."""
    if not isinstance(name, str):
        raise TypeError(f"param must be a string such as '0.weight[0, 0]'. Received: {name!r}")
    valid = "; ".join(parameter_names(model)) or "none: the model has no parameters"
    match = _NAME.match(name)
    if match is None:
        raise ValueError(f"param must look like '<layer>.<key>[i, j]', e.g. '0.weight[0, 0]'. Received: {name!r}. Valid: {valid}")
    layer_index, key = int(match.group(1)), match.group(2)
    index = tuple(int(part) for part in match.group(3).split(","))
    if layer_index >= len(model.layers):
        raise ValueError(f"the model has no layer {layer_index} (in {name!r}): its layers are 0..{len(model.layers) - 1}. "
                         f"Valid: {valid}")
    if key not in model.layers[layer_index].params:
        layer = model.layers[layer_index]
        has = f"whose parameters are {', '.join(layer.params)}" if layer.params else "which has no parameters"
        raise ValueError(f"the model has no parameter {layer_index}.{key} (in {name!r}): layer {layer_index} is {layer!r}, "
                         f"{has}. Valid: {valid}")
    shape = model.layers[layer_index].params[key].shape
    if len(index) != len(shape) or any(i >= size for i, size in zip(index, shape)):
        raise ValueError(
            f"{name!r}: {layer_index}.{key} has shape {shape}, so it takes {len(shape)} indices with {_ranges(shape)}. "
            f"Valid: {valid}"
        )
    return layer_index, key, index


def default_param(model: Sequential) -> str:
    """The first weight of the first Dense layer, entry [0, 0]: what `numnet explain` shows when not told."""
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Dense):
            return f"{index}.weight[0, 0]"
    raise ValueError(f"explain needs a Dense layer; the model has none: {model!r}")


# -- the network as blocks: a Dense layer and the activations after it ------------------------------


@dataclass
class _Block:
    """A Dense layer (model index ``dense``) and the layers after it up to the next Dense one."""

    dense: int
    activations: List[int] = field(default_factory=list)
    end: int = 0
    W: Optional[np.ndarray] = None
    b: Optional[np.ndarray] = None
    a_in: Optional[np.ndarray] = None  # the Dense layer's input (one sample)
    z: Optional[np.ndarray] = None  # its output
    a: Optional[np.ndarray] = None  # the block's output, f(z)
    derivative: Optional[np.ndarray] = None  # f'(z) as a vector, or the Jacobian ∂a/∂z when Softmax is in the block
    delta: Optional[np.ndarray] = None  # δ = ∂L/∂z, computed here by the chain rule
    grad_a: Optional[np.ndarray] = None  # ∂L/∂a

    @property
    def elementwise(self):
        return self.derivative.ndim == 1


def _blocks(model, start, name):
    """The blocks from the Dense layer at ``start`` to the output; ValueError for a layer the chain cannot pass."""
    blocks = []
    for index in range(start, len(model.layers)):
        layer = model.layers[index]
        if isinstance(layer, Dense):
            blocks.append(_Block(index, end=index))
        elif isinstance(layer, ACTIVATIONS):
            blocks[-1].activations.append(index)
            blocks[-1].end = index
        elif isinstance(layer, PASS_THROUGH):
            blocks[-1].end = index
        else:
            raise ValueError(
                f"explain follows the chain rule through Dense layers, activations, Dropout and Flatten; layer {index}, "
                f"{layer!r}, stands between {name} and the loss. model.trace(x, y, loss=...) records its gradients."
            )
    return blocks


def _activation_derivative(layer, u):
    """f'(u) for an elementwise activation, or the Jacobian ∂f/∂u (C, C) for Softmax: the texts' formulas."""
    if isinstance(layer, Sigmoid):
        s = sigmoid(u)
        return s * (1 - s)  # σ' = σ(1 − σ)
    if isinstance(layer, Tanh):
        return 1 - np.tanh(u) ** 2
    if isinstance(layer, ReLU):
        return (u > 0).astype(u.dtype)
    if isinstance(layer, LeakyReLU):
        return np.where(u > 0, 1.0, layer.negative_slope)
    if isinstance(layer, Softmax):
        s = softmax(u)
        return np.diag(s) - np.outer(s, s)  # ∂sₖ/∂uᵢ = sₖ([k = i] − sᵢ)
    return np.asarray(layer.derivative(u), dtype=u.dtype)


def _symbol(layer):
    """The activation's name in formulas: σ, tanh, ReLU, ..."""
    if isinstance(layer, Sigmoid):
        return "σ"
    if isinstance(layer, Tanh):
        return "tanh"
    if isinstance(layer, Activation):
        return getattr(layer.function, "__name__", "f")
    return type(layer).__name__ if not isinstance(layer, Softmax) else "softmax"


# -- the texts' names or the layers' names -----------------------------------------------------------


class _LayerNames:
    """x[j], z⁽ˡ⁾[i], a⁽ˡ⁾[i], W⁽ˡ⁾[i, j], b⁽ˡ⁾[i], δ⁽ˡ⁾[i], with l the Dense layer's index in the model."""

    def __init__(self, model, output_size):
        dense = [i for i, layer in enumerate(model.layers) if isinstance(layer, Dense)]
        self.first_dense, self.last_dense = dense[0], dense[-1]
        self.previous = dict(zip(dense[1:], dense))  # each Dense layer's Dense layer before it
        self.single_output = output_size == 1
        self.input_is_x = all(isinstance(layer, PASS_THROUGH) for layer in model.layers[: self.first_dense])

    @staticmethod
    def up(layer):
        return f"⁽{str(layer).translate(_SUPERSCRIPT)}⁾"

    def input(self, block, j):
        """Entry j of block's input: x[j], or the unit of the block before."""
        if block.dense == self.first_dense and self.input_is_x:
            return f"x[{j}]"
        if block.dense == self.first_dense:
            return f"a{self.up(block.dense - 1)}[{j}]"
        return self.unit(self.previous[block.dense], j)

    def input_vector(self, block):
        if block.dense == self.first_dense:
            return "x" if self.input_is_x else f"a{self.up(block.dense - 1)}"
        return self.unit_vector(self.previous[block.dense])

    def unit(self, dense, i):
        if dense == self.last_dense:
            return "ŷ" if self.single_output else f"ŷ[{i}]"
        return f"a{self.up(dense)}[{i}]"

    def unit_vector(self, dense):
        return "ŷ" if dense == self.last_dense else f"a{self.up(dense)}"

    def z(self, dense, i):
        return f"z{self.up(dense)}[{i}]"

    def z_vector(self, dense):
        return f"z{self.up(dense)}"

    def weight(self, dense, i, j):
        return f"W{self.up(dense)}[{i}, {j}]"

    def weight_matrix(self, dense):
        return f"W{self.up(dense)}"

    def bias_vector(self, dense):
        return f"b{self.up(dense)}"

    def bias(self, dense, i):
        return f"b{self.up(dense)}[{i}]"

    def delta(self, dense, i=None):
        return f"δ{self.up(dense)}" + ("" if i is None else f"[{i}]")

    def output_alias(self, i):
        return None


class _TextsNames(_LayerNames):
    """The texts' names for a network of one hidden layer: x1, x2, h1, h2, o1 (= ŷ), w1…w6, b1…b3."""

    def __init__(self, model, output_size, shapes):
        super().__init__(model, output_size)
        (self.n_in, self.n_hidden), _ = shapes

    @staticmethod
    def _number(i):
        """1-based, as the texts count; a letter (a summation index) stays a letter."""
        return i + 1 if isinstance(i, int) else i

    def input(self, block, j):
        return self._input_name(block.dense, j)

    def _input_name(self, dense, j):
        return f"{'x' if dense == self.first_dense else 'h'}{self._number(j)}"

    def input_vector(self, block):
        return "x" if block.dense == self.first_dense else "h"

    def unit(self, dense, i):
        if dense == self.last_dense and self.single_output:
            return "ŷ"
        return self._name(dense, i)

    def unit_vector(self, dense):
        return "ŷ" if dense == self.last_dense else "h"

    def _name(self, dense, i):
        return f"{'o' if dense == self.last_dense else 'h'}{self._number(i)}"

    def z(self, dense, i):
        return f"z_{self._name(dense, i)}"

    def z_vector(self, dense):
        return "z_o" if dense == self.last_dense else "z_h"

    def weight(self, dense, i, j):
        if not (isinstance(i, int) and isinstance(j, int)):  # inside a sum: name the weight by its two ends
            return f"w({self._input_name(dense, j)}→{self._name(dense, i)})"
        if dense == self.first_dense:
            return f"w{i * self.n_in + j + 1}"
        return f"w{self.n_in * self.n_hidden + i * self.n_hidden + j + 1}"

    def weight_matrix(self, dense):
        return "W_o" if dense == self.last_dense else "W_h"

    def bias_vector(self, dense):
        return "b_o" if dense == self.last_dense else "b_h"

    def bias(self, dense, i):
        return f"b{i + 1 if dense == self.first_dense else self.n_hidden + i + 1}"

    def delta(self, dense, i=None):
        return "δ_" + ("o" if dense == self.last_dense else "h") + ("" if i is None else str(self._number(i)))

    def output_alias(self, i):
        return f"o{i + 1}" if self.single_output else None


def _names(model, notation, output_size):
    dense = [i for i, layer in enumerate(model.layers) if isinstance(layer, Dense)]
    names = _LayerNames(model, output_size)
    shapes = [(model.layers[i].in_features, model.layers[i].out_features) for i in dense]
    fits_texts = (
        len(dense) == 2 and names.input_is_x and max(max(s) for s in shapes) <= TEXTS_MAX_UNITS
        and not any(isinstance(layer, Softmax) for layer in model.layers)
    )
    if notation not in ("auto", "texts", "layers"):
        raise ValueError(f"notation must be 'auto', 'texts' or 'layers'. Received: notation={notation!r}")
    if notation == "texts" and not fits_texts:
        raise ValueError(
            "notation='texts' names the units of a network of two Dense layers of at most "
            f"{TEXTS_MAX_UNITS} units each (x1, h1, o1, w1, ...); this model has Dense layers of shapes {shapes}"
        )
    if notation == "texts" or (notation == "auto" and fits_texts):
        names = _TextsNames(model, output_size, shapes)
    return names


# -- the explanation ----------------------------------------------------------------------------------


@dataclass
class Step:
    """One line of the walk: ``symbol = formula = numbers = value`` (numbers and value may be empty)."""

    symbol: str
    formula: str
    numbers: str = ""
    value: Optional[float] = None

    def to_dict(self) -> Dict[str, Any]:
        return {"symbol": self.symbol, "formula": self.formula, "numbers": self.numbers,
                "value": None if self.value is None else float(self.value)}


@dataclass
class Explanation:
    """The chain rule for one parameter, with numbers; ``str()`` is the walk, ``to_dict()`` the same for programs.

    ``product`` is the chain rule's product computed from the forward values, ``backward`` the
    gradient of the layers' backward passes, ``finite_difference`` (L(w + ε) − L(w − ε)) / 2ε.
    ``updated`` is w − η ∂L/∂w, the plain gradient-descent step (the model is not changed).
    """

    param: str
    symbol: str
    layer: int
    key: str
    index: Tuple[int, ...]
    value: float
    loss: float
    loss_name: str
    forward: List[Step]
    chain: List[Step]
    chain_formula: str
    paths: Dict[str, Any]
    product: float
    backward: float
    finite_difference: float
    lr: float
    header: List[str]
    notes: List[str] = field(default_factory=list)
    epsilon: float = EPSILON

    @property
    def updated(self) -> float:
        return self.value - self.lr * self.backward

    @property
    def agreement(self) -> float:
        """The largest relative difference between the three values of ∂L/∂w."""
        values = [self.product, self.backward, self.finite_difference]
        scale = max(max(abs(v) for v in values), 1e-12)
        return max(abs(a - b) for a in values for b in values) / scale

    def lines(self) -> List[str]:
        out = list(self.header)
        out += ["", "Forward pass"] + _aligned(self.forward)
        out += ["", f"Chain rule: {self.chain_formula}"] + _aligned(self.chain)
        g = f"∂L/∂{self.symbol}"
        out += [
            "",
            f"Three ways to {g}",
            f"  chain product      {_precise(self.product)}   (the factors above, multiplied)",
            f"  backward pass      {_precise(self.backward)}   (the layers' backward(), recorded by model.trace)",
            f"  finite difference  {_precise(self.finite_difference)}   "
            f"((L({self.symbol} + ε) − L({self.symbol} − ε)) / 2ε, ε = {self.epsilon:g})",
            f"  largest relative difference: {self.agreement:.1e}",
            "",
            f"Gradient descent step, η = {self.lr:g}",
            f"  {self.symbol} ← {self.symbol} − η·{g} = {_num(self.value, 6)} − {_num(self.lr, 6)}·{_operand(self.backward)}"
            f" = {_num(self.updated, 6)}",
        ]
        return out + self.notes

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able: the parameter, every step with its formula and value, the three gradients and the update."""
        return {
            "param": self.param,
            "symbol": self.symbol,
            "layer": self.layer,
            "key": self.key,
            "index": list(self.index),
            "value": float(self.value),
            "loss": float(self.loss),
            "loss_name": self.loss_name,
            "forward": [step.to_dict() for step in self.forward],
            "chain_formula": self.chain_formula,
            "chain": [step.to_dict() for step in self.chain],
            "paths": self.paths,
            "product": float(self.product),
            "backward": float(self.backward),
            "finite_difference": float(self.finite_difference),
            "epsilon": self.epsilon,
            "agreement": float(self.agreement),
            "lr": self.lr,
            "updated": float(self.updated),
            "notes": list(self.notes),
            "text": str(self),
        }


def _aligned(steps):
    """Steps as lines with their '=' signs in columns."""
    width = max((len(step.symbol) for step in steps), default=0)
    formula_width = max((len(step.formula) for step in steps if step.numbers or step.value is not None), default=0)
    formula_width = min(formula_width, 34)
    lines = []
    for step in steps:
        parts = [step.symbol.ljust(width)]
        if step.formula:
            parts.append(step.formula.ljust(formula_width) if (step.numbers or step.value is not None) else step.formula)
        if step.numbers:
            parts.append(step.numbers)
        if step.value is not None and (step.numbers or step.formula != _num(step.value)):
            parts.append(_num(step.value))
        lines.append(("  " + " = ".join(parts)).rstrip())
    return lines


# -- building it ------------------------------------------------------------------------------------


def _float64_copy(model):
    model = copy.deepcopy(model)
    for layer in model.layers:
        for group in (layer.params, layer.buffers):
            for key, value in group.items():
                group[key] = value.astype(np.float64)
    return model


def _one_sample(model, x, y, loss):
    x = np.asarray(x, dtype=np.float64)
    input_shape = getattr(model, "input_shape", None)
    if x.ndim == 1 or (input_shape is not None and x.shape == tuple(input_shape)):
        x = x[None]
    if x.ndim < 2 or len(x) != 1:
        raise ValueError(
            f"explain follows one sample through the network, as the texts do; got x of shape {x.shape}. "
            "Pass one sample, e.g. x[i] or x[i:i + 1]"
        )
    y = np.asarray(y)
    if isinstance(loss, CrossEntropy) and y.size == 1 and y.dtype.kind in "iu":
        y = y.reshape(1)  # a class label
    else:
        y = y.reshape(1, -1)  # the target values of the outputs
    return x, y


def _target_row(loss, y, classes):
    """y of one sample as a vector of the output's length (one-hot for CrossEntropy's labels)."""
    if isinstance(loss, CrossEntropy) and y.ndim == 1:
        row = np.zeros(classes)
        row[int(y[0])] = 1.0
        return row
    return np.asarray(y, dtype=np.float64).reshape(-1)


def _loss_gradient(loss, y_hat, y):
    """∂L/∂ŷ for one sample from the loss's formula, and that formula as text for entry k (None: the vector)."""
    m = y_hat.size

    def names(k):
        return ("ŷ", "y") if k is None or m == 1 else (f"ŷ[{k}]", f"y[{k}]")

    def per_output(text):
        return text if m == 1 else f"({text}) / {m}"

    if isinstance(loss, MSE):
        def formula(k):
            out, target = names(k)
            return f"−2({target} − {out})" if m == 1 else f"2({out} − {target}) / {m}"

        return 2 * (y_hat - y) / m, formula
    if isinstance(loss, CrossEntropy):
        return softmax(y_hat) - y, lambda k: "p − y, p = softmax(ŷ)" if k is None else f"p[{k}] − y[{k}]"
    if isinstance(loss, BinaryCrossEntropy) and loss.from_logits:
        def formula(k):
            out, target = names(k)
            return per_output(f"σ({out}) − {target}")

        return (sigmoid(y_hat) - y) / m, formula
    if isinstance(loss, BinaryCrossEntropy):
        def formula(k):
            out, target = names(k)
            return per_output(f"({out} − {target}) / ({out}(1 − {out}))")

        return (y_hat - y) / np.maximum(y_hat * (1 - y_hat), 1e-12) / m, formula
    raise ValueError(f"explain knows the formulas of MSE, CrossEntropy and BinaryCrossEntropy. Received: {loss!r}")


def _loss_step(loss, y_hat, y, value, y_raw):
    """L written out for one sample."""
    m = y_hat.size
    if isinstance(loss, MSE):
        if m == 1:
            return Step("L", "(y − ŷ)²", f"({_num(y[0])} − {_num(y_hat[0])})²", value)
        return Step("L", f"(1/{m}) Σₖ (ŷ[k] − y[k])²", "", value)
    if isinstance(loss, CrossEntropy):
        p = softmax(y_hat)
        if isinstance(loss, CrossEntropy) and y_raw.ndim == 1:
            label = int(y_raw[0])
            return Step("L", f"−log p[{label}], p = softmax(ŷ)", f"−log {_num(p[label])}", value)
        return Step("L", "−Σₖ y[k] log p[k], p = softmax(ŷ)", "", value)
    p = "σ(ŷ)" if loss.from_logits else "ŷ"
    if m == 1:
        return Step("L", f"−[y log {p} + (1 − y) log(1 − {p})]", "", value)
    return Step("L", f"−(1/{m}) Σₖ [y[k] log {p}[k] + (1 − y[k]) log(1 − {p}[k])]", "", value)


def _fill(blocks, model, t):
    """Forward values from the trace and f' from the formulas, for each block (one sample)."""
    for block in blocks:
        block.W = model.layers[block.dense].params["weight"]
        block.b = model.layers[block.dense].params["bias"]
        block.a_in = t[block.dense].input[0]
        block.z = t[block.dense].output[0]
        block.a = t[block.end].output[0]
        derivative = np.ones_like(block.z)
        for index in block.activations:
            d = _activation_derivative(model.layers[index], t[index].input[0])
            if d.ndim == 2 or derivative.ndim == 2:  # a Jacobian: compose as matrices, ∂a/∂z = Jₖ … J₁
                derivative = (d if d.ndim == 2 else np.diag(d)) @ (derivative if derivative.ndim == 2 else np.diag(derivative))
            else:
                derivative = derivative * d
        block.derivative = derivative


def _backpropagate(blocks, g):
    """δ and ∂L/∂a of every block by the chain rule: δ = f'(z) ⊙ ∂L/∂a (Jᵀ ∂L/∂a for softmax), ∂L/∂a_before = Wᵀ δ."""
    grad_a = g
    for block in reversed(blocks):
        block.grad_a = grad_a
        block.delta = grad_a * block.derivative if block.elementwise else block.derivative.T @ grad_a
        grad_a = block.W.T @ block.delta


def _derivative_text(model, block, names, i):
    """f'(z[i]) as text, e.g. "σ'(z_h1)", or None when the block has no activation."""
    if not block.activations:
        return None
    f = "·".join(f"{_symbol(model.layers[index])}'" for index in reversed(block.activations))
    return f"{f}({names.z(block.dense, i)})"


def _derivative_numbers(model, block, i):
    f = "·".join(f"{_symbol(model.layers[index])}'" for index in reversed(block.activations))
    return f"{f}({_num(block.z[i])})"


def _largest(vector, count=LARGEST_TERMS):
    order = np.argsort(-np.abs(vector), kind="stable")[:count]
    return ", ".join(f"[{k}] {_num(vector[k])}" for k in order)


def _vector_summary(vector):
    nonzero = int(np.count_nonzero(vector))
    counted = f"{vector.size} values" + ("" if nonzero == vector.size else f", {nonzero} nonzero")
    return f"{counted}; largest {_largest(vector)}"


def _forward_steps(model, blocks, i, names, loss, y_row, y_raw, value, single_path):
    steps = []
    for number, block in enumerate(blocks):
        unit = i if number == 0 else 0
        last = number == len(blocks) - 1
        if number == 0 or single_path:
            steps.append(_unit_step(model, block, unit, names, last))
        else:
            steps.append(Step(names.unit_vector(block.dense), _block_formula(model, block, names), _vector_summary(block.a)))
    output = blocks[-1].a
    if isinstance(loss, CrossEntropy) and output.size > 1:
        steps.append(Step("p", "softmax(ŷ)", f"{output.size} probabilities; largest {_largest(softmax(output))}"))
    steps.append(_loss_step(loss, output, y_row, value, y_raw))
    return steps


def _block_formula(model, block, names):
    inner = f"{names.weight_matrix(block.dense)} {names.input_vector(block)} + {names.bias_vector(block.dense)}"
    for index in block.activations:
        inner = f"{_symbol(model.layers[index])}({inner})"
    return inner


def _unit_step(model, block, i, names, last):
    """One unit's value: a = f(Σⱼ wⱼ·aⱼ + b), written out term by term for a small fan-in."""
    fan_in = block.W.shape[1]
    unit = names.unit(block.dense, i)
    alias = names.output_alias(i) if last else None
    symbol = f"{unit} = {alias}" if alias else unit
    if fan_in <= 4:
        terms = " + ".join(f"{names.weight(block.dense, i, j)}·{names.input(block, j)}" for j in range(fan_in))
        formula = f"{terms} + {names.bias(block.dense, i)}"
        numbers = " + ".join(f"{_num(block.W[i, j])}·{_operand(block.a_in[j])}" for j in range(fan_in))
        numbers = f"{numbers} + {_operand(block.b[i])}"
    else:
        formula = f"Σⱼ {names.weight(block.dense, i, 'j')}·{names.input(block, 'j')} + {names.bias(block.dense, i)}"
        numbers = f"{fan_in} terms"
    if not block.activations:
        return Step(symbol, formula, numbers, block.a[i])
    if not block.elementwise:
        return Step(symbol, f"softmax({names.z_vector(block.dense)})[{i}], {names.z(block.dense, i)} = {formula}",
                    numbers, block.a[i])
    f = [_symbol(model.layers[k]) for k in block.activations]
    for name in f:
        formula = f"{name}({formula})"
        numbers = f"{name}({numbers})"
    numbers = f"{numbers} = " + "".join(f"{name}(" for name in reversed(f)) + _num(block.z[i]) + ")" * len(f)
    return Step(symbol, formula, numbers, block.a[i])


def explain(model: Sequential, x: ArrayLike, y: ArrayLike, *, loss: Loss, param: str = "0.weight[0, 0]", lr: float = 0.1,
            notation: str = "auto") -> Explanation:
    """The chain rule for one parameter and one sample, with every factor's formula and number.

    ∂L/∂W⁽ˡ⁾[i, j] = δ⁽ˡ⁾[i] · a[j],  δ⁽ˡ⁾ = f'(z⁽ˡ⁾) ⊙ W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾,  δ at the output = ∂L/∂ŷ ⊙ f'(z).
    Where the parameter reaches the loss along one path (the texts' 2-2-1 network), the walk is the
    texts' product of factors; where it reaches it through many units, the sum over those paths is
    written in vector form with its largest terms. Works for Dense layers with any activation of
    numnet.layers (and Dropout, Flatten), and MSE, CrossEntropy (softmax fused) or BinaryCrossEntropy.

    Args:
        model: a Sequential.
        x: one sample (a feature vector, an image of the model's input shape, or a batch of one).
        y: its target: a class label for CrossEntropy, target values for MSE / BinaryCrossEntropy.
        loss: the loss the model is trained with.
        param: "<layer index>.<key>[i, j]", e.g. "0.weight[0, 0]" or "4.bias[3]"; a Dense layer's
            weight[i, j] joins input j to unit i.
        lr: η of the update shown, w ← w − η ∂L/∂w (default 0.1).
        notation: "auto" (the texts' names x1, h1, w1, ... for two small Dense layers, else
            x, a⁽ˡ⁾, W⁽ˡ⁾, ...), "texts" or "layers".

    Returns:
        Explanation: ``str()`` gives the walk (about 20–35 lines), ``to_dict()`` the same as data.

    Example:
        >>> print(numnet.explain(model, [-2, -1], [1], loss=MSE(), param="0.weight[0, 0]"))
    """
    if not isinstance(loss, Loss):
        raise TypeError(f"explain: loss must be a numnet.losses loss such as MSE(). Received: {loss!r}")
    if getattr(loss, "reduction", "mean") != "mean":  # the formulas written out are those of the mean
        raise ValueError(f"explain writes out the formulas of a mean loss; {loss!r} reduces by {loss.reduction!r}. Use reduction='mean'")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"explain: lr must be a positive number. Received: lr={lr!r}")
    layer_index, key, index = parse_param(model, param)
    layer = model.layers[layer_index]
    canonical = f"{layer_index}.{key}[{', '.join(map(str, index))}]"
    if not isinstance(layer, Dense):
        raise ValueError(
            f"explain writes out the chain rule for the parameters of Dense layers; {canonical} belongs to layer "
            f"{layer_index}, {layer!r}. Its gradient from the backward pass is "
            f"model.trace(x, y, loss=...)[{layer_index}].grads[{key!r}]{list(index)}"
        )
    blocks = _blocks(model, layer_index, canonical)
    model64 = _float64_copy(model)
    x, y = _one_sample(model64, x, y, loss)
    t = trace(model64, x, y, loss=loss)
    output = t.output[0]
    y_row = _target_row(loss, y, output.size)
    _fill(blocks, model64, t)
    g, g_formula = _loss_gradient(loss, output, y_row)
    _backpropagate(blocks, g)
    names = _names(model64, notation, output.size)

    i = index[0]
    j = index[1] if key == "weight" else None
    p = blocks[0]
    w = names.weight(p.dense, i, j) if key == "weight" else names.bias(p.dense, i)
    product = p.delta[i] * (p.a_in[j] if key == "weight" else 1.0)
    single_path = all(b.W.shape[0] == 1 for b in blocks[1:]) and all(b.elementwise for b in blocks)

    header = [
        f"∂L/∂{w}: how {w} = {canonical} = {_num(p.W[i, j] if key == 'weight' else p.b[i], 6)} moves the loss",
        f"  layer {layer_index}, {layer!r}; {w} "
        + (f"joins {_pixel(model64, p, names, j)}{names.input(p, j)} to unit {names.unit(p.dense, i)}" if key == "weight"
           else f"is the bias of unit {names.unit(p.dense, i)}"),
        f"  one sample, loss {loss!r}, computed in float64",
    ]
    if not isinstance(names, _TextsNames):
        header.append("  z⁽ˡ⁾ = W⁽ˡ⁾a + b⁽ˡ⁾ is layer l's output, a⁽ˡ⁾ = f(z⁽ˡ⁾) the activation after it, δ⁽ˡ⁾ = ∂L/∂z⁽ˡ⁾")
    forward = _forward_steps(model64, blocks, i, names, loss, y_row, y, t.loss, single_path)
    if single_path:
        chain, chain_formula, paths = _single_path(model64, blocks, i, j, key, w, names, g, g_formula)
    else:
        chain, chain_formula, paths = _many_paths(model64, blocks, i, j, key, w, names, g, g_formula, loss)
    backward = float(t[layer_index].grads[key][index])
    numeric = _finite_difference(model64, x, y, loss, layer_index, key, index)
    value = float(p.W[i, j] if key == "weight" else p.b[i])
    notes = _zero_gradient_notes(model64, p, i, j, key, w, names)
    loss_value = cast(float, t.loss)  # set: the trace was taken with a loss
    return Explanation(canonical, w, layer_index, key, index, value, loss_value, repr(loss), forward, chain, chain_formula,
                       paths, float(product), backward, numeric, float(lr), header, notes)


def _zero_gradient_notes(model, p, i, j, key, w, names):
    """Plain words for the two usual reasons a gradient is exactly 0."""
    notes = []
    unit = names.unit(p.dense, i)
    dead = [model.layers[k] for k in p.activations if isinstance(model.layers[k], ReLU)]
    if dead and p.z[i] <= 0:
        notes.append(f"ReLU'({_num(p.z[i])}) = 0: {unit} is off for this sample, so no gradient reaches {w} through it.")
    if key == "weight" and p.a_in[j] == 0:
        notes.append(f"{names.input(p, j)} = 0 for this sample, so {w} gets no gradient from it (∂L/∂{w} = δ · 0).")
    return [""] + notes if notes else []


def _pixel(model, block, names, j):
    """"pixel (row, column) " when the input is an image flattened into x, else "input "."""
    shape = getattr(model, "input_shape", None)
    if block.dense != names.first_dense or not names.input_is_x or shape is None or len(shape) < 2:
        return "input "
    position = np.unravel_index(j, shape)
    return f"pixel ({position[-2]}, {position[-1]}) "


def _output_gradient_step(blocks, k, names, g, g_formula):
    """∂L/∂ŷ[k] = its formula = its value."""
    return Step(f"∂L/∂{names.unit(blocks[-1].dense, k)}", g_formula(k), "", g[k])


def _single_path(model, blocks, i, j, key, w, names, g, g_formula):
    """The texts' form: ∂L/∂w = ∂L/∂ŷ · ∂ŷ/∂h1 · ∂h1/∂w, one factor per layer on the only path."""
    k = i if len(blocks) == 1 else 0
    factors = [_output_gradient_step(blocks, k, names, g, g_formula)]
    for position in range(len(blocks) - 1, 0, -1):
        block, before = blocks[position], blocks[position - 1]
        u = i if position == 1 else 0
        d = _derivative_text(model, block, names, 0)
        formula = names.weight(block.dense, 0, u) + (f" · {d}" if d else "")
        numbers = _num(block.W[0, u]) + (f" · {_derivative_numbers(model, block, 0)}" if d else "")
        value = block.W[0, u] * (block.derivative[0] if block.activations else 1.0)
        factors.append(Step(f"∂{names.unit(block.dense, 0)}/∂{names.unit(before.dense, u)}", formula, numbers, value))
    p = blocks[0]
    d = _derivative_text(model, p, names, i)
    if key == "weight":
        formula = names.input(p, j) + (f" · {d}" if d else "")
        numbers = f"{_operand(p.a_in[j])} · {_derivative_numbers(model, p, i)}" if d else ""
        value = p.a_in[j] * (p.derivative[i] if p.activations else 1.0)
    else:
        formula, numbers = (d, _derivative_numbers(model, p, i)) if d else ("1", "")
        value = p.derivative[i] if p.activations else 1.0
    factors.append(Step(f"∂{names.unit(p.dense, i)}/∂{w}", formula, numbers, value))
    product = Step(f"∂L/∂{w}", " · ".join(_operand(step.value) for step in factors), "", np.prod([s.value for s in factors]))
    chain_formula = f"∂L/∂{w} = " + " · ".join(step.symbol for step in factors)
    return factors + [product], chain_formula, {"count": 1}


def _many_paths(model, blocks, i, j, key, w, names, g, g_formula, loss):
    """δ in vector form down to the parameter's layer, then its unit's sum over paths with the largest terms."""
    steps = []
    p, last = blocks[0], blocks[-1]
    for position in range(len(blocks) - 1, 0, -1):
        block = blocks[position]
        f = [_symbol(model.layers[index]) for index in block.activations]
        if block is last:
            if isinstance(loss, CrossEntropy) and not block.activations:
                formula = "p − y (softmax fused)"
            else:
                derivative = f" ⊙ {'·'.join(name + chr(39) for name in f)}({names.z_vector(block.dense)})" if f else ""
                formula = f"∂L/∂ŷ{derivative}, ∂L/∂ŷ = {g_formula(None)}"
        else:
            after = blocks[position + 1]
            formula = f"{names.weight_matrix(after.dense)}ᵀ{names.delta(after.dense)}"
            if f:
                formula += f" ⊙ {'·'.join(x + chr(39) for x in f)}({names.z_vector(block.dense)})"
        if not block.elementwise:
            formula = formula.replace(" ⊙ ", " through the Jacobian of ")
        steps.append(Step(names.delta(block.dense), formula, _vector_summary(block.delta)))
    unit = names.unit(p.dense, i)
    paths = {}
    if len(blocks) > 1:
        after = blocks[1]
        terms = after.W[:, i] * after.delta
        order = np.argsort(-np.abs(terms), kind="stable")
        shown = order[:LARGEST_TERMS]
        paths = {
            "count": int(terms.size),
            "nonzero": int(np.count_nonzero(terms)),
            "largest": [{"k": int(k), "weight": float(after.W[k, i]), "delta": float(after.delta[k]), "term": float(terms[k])}
                        for k in shown],
            "rest": float(terms[order[LARGEST_TERMS:]].sum()),
            "sum": float(terms.sum()),
        }
        steps.append(Step(f"∂L/∂{unit}", f"Σₖ {names.weight(after.dense, 'k', i)}·{names.delta(after.dense, 'k')}",
                          f"sum over {terms.size} paths, {paths['nonzero']} nonzero", p.grad_a[i]))
        for k in shown:
            steps.append(Step(f"  k = {k}", f"{_operand(after.W[k, i])}·{_operand(after.delta[k])}", "", terms[k]))
        if terms.size > LARGEST_TERMS:
            steps.append(Step(f"  the other {terms.size - LARGEST_TERMS}", "their sum", "", paths["rest"]))
    elif p.elementwise:
        steps.append(_output_gradient_step(blocks, i, names, g, g_formula))
    else:  # softmax in the last layer: δ[i] takes every output's ∂L/∂ŷ
        steps.append(Step("∂L/∂ŷ", g_formula(None), _vector_summary(g)))
    delta_i = names.delta(p.dense, i)
    if p.elementwise:
        d = _derivative_text(model, p, names, i)
        if d:
            steps.append(Step(delta_i, f"∂L/∂{unit} · {d}", f"{_operand(p.grad_a[i])} · {_derivative_numbers(model, p, i)}", p.delta[i]))
        else:
            steps.append(Step(delta_i, f"∂L/∂{unit}", "", p.delta[i]))
    else:
        column = p.derivative[:, i] * p.grad_a
        steps.append(Step(delta_i, f"Σₖ ∂{names.unit_vector(p.dense)}[k]/∂{names.z(p.dense, i)} · ∂L/∂{names.unit_vector(p.dense)}[k]",
                          f"largest terms {_largest(column)}", p.delta[i]))
    if key == "weight":
        a = names.input(p, j)
        steps.append(Step(f"∂L/∂{w}", f"{delta_i} · {a}", f"{_operand(p.delta[i])} · {_operand(p.a_in[j])}", p.delta[i] * p.a_in[j]))
        chain_formula = f"∂L/∂{w} = {delta_i} · {a}, summed over the paths from {unit} to the loss"
    else:
        steps.append(Step(f"∂L/∂{w}", delta_i, "", p.delta[i]))
        chain_formula = f"∂L/∂{w} = {delta_i}, summed over the paths from {unit} to the loss"
    return steps, chain_formula, paths


def _finite_difference(model, x, y, loss, layer_index, key, index, eps=EPSILON):
    """(L(w + ε) − L(w − ε)) / 2ε with the loss alone, on the float64 model."""
    param = model.layers[layer_index].params[key]
    original = param[index]

    def value():
        a = x
        for layer in model.layers:
            a = layer.forward(a, training=False)
        return loss(y, a)

    param[index] = original + eps
    plus = value()
    param[index] = original - eps
    minus = value()
    param[index] = original
    return (plus - minus) / (2 * eps)


# -- the texts' worked example ---------------------------------------------------------------------


def gender_example() -> Explanation:
    """The texts' walk: Alice (weight −2, height −1, female = 1) through the 2-2-1 sigmoid network
    with every weight 1 and every bias 0, ∂L/∂w1 with L = (1 − ŷ)² (MSE on one sample), η = 0.1."""
    model = Sequential([Dense(2, 2, dtype=np.float64), Sigmoid(), Dense(2, 1, dtype=np.float64), Sigmoid()])
    for index in (0, 2):
        model.layers[index].params["weight"][...] = 1
        model.layers[index].params["bias"][...] = 0
    x, y = gender()
    result = explain(model, x[0], y[0], loss=MSE(), param="0.weight[0, 0]", lr=0.1)
    exact_z, exact_gradient = 2 * cast(float, result.forward[0].value), cast(float, result.chain[0].value)
    # The walk rounds as the texts do, each value from the shown digits of the one before: z_o1 from
    # h1 = 0.0474, ∂L/∂ŷ from ŷ = 0.524. The three values below the walk stay unrounded.
    shown_z, shown_gradient = 2 * 0.0474, -2 * (1 - 0.524)
    result.forward[1].numbers = result.forward[1].numbers.replace(f"σ({_num(exact_z)})", f"σ({_num(shown_z)})")
    result.chain[0].value = shown_gradient
    result.chain[1].numbers = result.chain[1].numbers.replace(f"σ'({_num(exact_z)})", f"σ'({_num(shown_z)})")
    result.chain[3].formula = result.chain[3].formula.replace(f"({_num(exact_gradient)})", f"({_num(shown_gradient)})")
    result.notes += [
        "",
        "Like the texts, the walk rounds as it goes: 0.0474 + 0.0474 = 0.0948 and −2(1 − 0.524) = −0.952;",
        f"unrounded these are {_num(exact_z, 4)} and {_num(exact_gradient, 5)}, as the three values above use.",
    ]
    return result


EXAMPLES: Dict[str, Callable[[], Explanation]] = {"gender": gender_example}
LOSS_NAMES: Dict[str, Type[Loss]] = {"mse": MSE, "cross-entropy": CrossEntropy, "binary-cross-entropy": BinaryCrossEntropy}


def _numbers(text, what):
    try:
        values = [float(part) for part in str(text).split(",")]
    except ValueError:
        raise ValueError(f"{what} must be numbers separated by commas, e.g. 0.5,1.0. Received: {text!r}") from None
    return np.array(values)


def default_loss(model: Sequential) -> Loss:
    """CrossEntropy for a model ending in a Dense layer of several outputs (logits, as numnet train makes), else MSE."""
    last = model.layers[-1] if model.layers else None
    return CrossEntropy() if isinstance(last, Dense) and last.out_features > 1 else MSE()


def explain_model_file(path: str | Path, *, image: Optional[str | Path] = None, values: Optional[str] = None,
                       label: Optional[str | int], param: Optional[str] = None, lr: float = 0.1,
                       loss: Optional[str] = None, notation: str = "auto") -> Explanation:
    """`numnet explain MODEL`: load a model file and explain one parameter for a picture or a row of numbers.

    Args:
        path: a model file written by numnet train (or model.save).
        image: a picture of one digit, prepared as `numnet predict` prepares it (numnet.images.load_digit).
        values: instead, the input as text, "0.5,1.0" (a tabular model).
        label: the target: a class label for CrossEntropy, or target values "1" / "0,1" for MSE and BinaryCrossEntropy.
        param: "<layer>.<key>[i, j]"; default: the first Dense layer's weight[0, 0].
        loss: "mse", "cross-entropy" or "binary-cross-entropy"; default: default_loss(model).
    """
    if (image is None) == (values is None):
        raise ValueError("explain a model file for one input: pass either an image or values (e.g. 0.5,1.0)")
    if label is None:
        raise ValueError("the chain rule needs the target: pass a label (the class of the picture, or the target values)")
    model = load_model(path)
    if loss is None:
        loss_function = default_loss(model)
    elif loss in LOSS_NAMES:
        loss_function = LOSS_NAMES[loss]()
    else:
        raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSS_NAMES)}")
    if image is not None:
        x = as_model_input(model, load_digit(image)[None])
    else:
        x = _numbers(values, "the input")[None]
    if isinstance(loss_function, CrossEntropy):
        names = model.metadata.get("class_names")
        if names and str(label) in names:
            y = np.array([list(names).index(str(label))])
        else:
            try:
                y = np.array([int(label)])
            except ValueError:
                raise ValueError(f"the label must be a class number{' or one of ' + ', '.join(names) if names else ''}. "
                                 f"Received: {label!r}") from None
    else:
        y = _numbers(label, "the label")[None]
    return explain(model, x, y, loss=loss_function, param=param or default_param(model), lr=lr, notation=notation)

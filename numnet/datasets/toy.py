"""The small datasets of the texts: XOR, logic gates, and weight/height -> gender."""

from __future__ import annotations

from typing import Tuple

import numpy as np

_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)

_GATES = {
    "and": [0, 0, 0, 1],
    "or": [0, 1, 1, 1],
    "nand": [1, 1, 1, 0],
    "nor": [1, 0, 0, 0],
    "xor": [0, 1, 1, 0],
    "xnor": [1, 0, 0, 1],
}


def logic_gate(name: str) -> Tuple[np.ndarray, np.ndarray]:
    """The truth table of a two-input gate ("and", "or", "nand", "nor", "xor", "xnor").

    Returns:
        x (4, 2) float32 inputs and y (4, 1) float32 outputs.
    """
    key = str(name).lower()
    if key not in _GATES:
        raise ValueError(f"unknown logic gate {name!r}; expected one of {sorted(_GATES)}")
    return _INPUTS.copy(), np.array(_GATES[key], dtype=np.float32)[:, None]


def xor() -> Tuple[np.ndarray, np.ndarray]:
    """XOR's truth table: x (4, 2) and y (4, 1), float32. Not linearly separable: needs a hidden layer."""
    return logic_gate("xor")


GENDER_NAMES = ("Alice", "Bob", "Charlie", "Diana")


def gender() -> Tuple[np.ndarray, np.ndarray]:
    """Weight (lb − 135) and height (in − 66) of four people, and whether each is female (1) or not (0).

    Returns:
        x (4, 2) float32 and y (4, 1) float32, in the order of GENDER_NAMES.
    """
    x = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]], dtype=np.float32)
    y = np.array([[1], [0], [0], [1]], dtype=np.float32)
    return x, y

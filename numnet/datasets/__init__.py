"""Datasets: the texts' toy problems, the embedded MNIST sample, MNIST and Fashion-MNIST."""

from .preprocessing import flatten, one_hot, scale
from .toy import GENDER_NAMES, gender, logic_gate, xor

__all__ = ["xor", "logic_gate", "gender", "GENDER_NAMES", "scale", "flatten", "one_hot"]

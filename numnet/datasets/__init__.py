"""Datasets: the texts' toy problems, the embedded MNIST sample and first names, MNIST and Fashion-MNIST."""

from ..errors import DatasetError
from .digits_sample import load_digits_sample
from .idx import read_idx, write_idx
from .mnist import FASHION_MNIST_CLASSES, load_fashion_mnist, load_mnist
from .names import load_names, read_names
from .preprocessing import flatten, one_hot, scale, stratified_split
from .toy import GENDER_NAMES, gender, logic_gate, xor

__all__ = [
    "DatasetError",
    "read_idx",
    "write_idx",
    "load_digits_sample",
    "load_mnist",
    "load_fashion_mnist",
    "FASHION_MNIST_CLASSES",
    "load_names",
    "read_names",
    "xor",
    "logic_gate",
    "gender",
    "GENDER_NAMES",
    "scale",
    "flatten",
    "one_hot",
    "stratified_split",
]

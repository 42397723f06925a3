"""Layers: each a forward formula, its backward formulas, and the shapes (see each docstring)."""

from .activations import Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import Layer
from .dense import Dense
from .dropout import Dropout
from .normalization import BatchNorm1d
from .reshape import Flatten

__all__ = ["Layer", "Dense", "Activation", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "Flatten", "Dropout", "BatchNorm1d"]

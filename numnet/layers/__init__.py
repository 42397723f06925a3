"""Layers: each a forward formula, its backward formulas, and the shapes (see each docstring)."""

from .activations import Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .attention import MultiHeadSelfAttention
from .base import Layer
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding, PositionalEmbedding
from .conv import Conv2D
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .pooling import AvgPool2D, MaxPool2D
from .recurrent import GRU, LSTM, RNN
from .reshape import Flatten
from .residual import Residual

__all__ = ["Layer", "Dense", "Activation", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "Flatten", "Dropout", "BatchNorm1d", "Conv2D", "MaxPool2D", "AvgPool2D", "BatchNorm2d", "LayerNorm",
           "Embedding", "PositionalEmbedding", "RNN", "LSTM", "GRU", "MultiHeadSelfAttention", "Residual"]

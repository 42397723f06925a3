"""numnet: neural networks written from scratch on NumPy.

    >>> import numnet
    >>> from numnet.layers import Dense, ReLU
    >>> model = numnet.Sequential([Dense(784, 128), ReLU(), Dense(128, 10)])
"""

from .errors import DatasetError, ModelFormatError
from .explain import explain
from .gradient_check import gradcheck
from .model import History, Sequential
from .serialization import load_model as load

__version__ = "0.1.0"

__all__ = ["Sequential", "History", "gradcheck", "explain", "load", "ModelFormatError", "DatasetError", "__version__"]

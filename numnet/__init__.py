"""numnet: neural networks written from scratch on NumPy.

    >>> import numnet
    >>> from numnet.layers import Dense, ReLU
    >>> model = numnet.Sequential([Dense(784, 128), ReLU(), Dense(128, 10)])
"""

from .errors import CheckpointError, DatasetError, ModelFormatError
from .explain import explain
from .gradient_check import gradcheck
from .model import Sequential, load
from .training import History

from .version import __version__

__all__ = ["Sequential", "History", "gradcheck", "explain", "load", "ModelFormatError", "DatasetError", "CheckpointError", "__version__"]

"""The version of numnet."""

__version__ = "0.1.0"

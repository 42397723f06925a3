"""Argument checks shared by the layers' constructors."""

import numbers

import numpy as np


def positive_int(layer_name, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{layer_name}: {name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


def float_dtype(layer_name, dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"{layer_name}: dtype must be a NumPy float type. Received: dtype={dtype!r}") from error
    if dtype.kind != "f":
        raise TypeError(f"{layer_name}: dtype must be a NumPy float type such as float32. Received: dtype={dtype}")
    return dtype

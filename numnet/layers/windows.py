"""The geometry of sliding windows, shared by convolution and pooling: sizes, strides and offsets."""

import numbers


def pair(layer_name, name, value, minimum=1):
    """An int or a pair of ints -> a pair of ints ≥ minimum."""
    values = (value, value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
    except TypeError:
        values = ()
    if len(values) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= minimum for v in values):
        raise ValueError(f"{layer_name}: {name} must be an integer ≥ {minimum} or a pair of them. Received: {name}={value!r}")
    return tuple(int(v) for v in values)


def output_size(size, kernel, stride, padding):
    """The number of window positions along one axis: ⌊(size + 2·padding − kernel) / stride⌋ + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def kernel_offsets(kernel, stride, out_h, out_w):
    """For each kernel offset (p, q): the rows and the columns of the input that offset meets across
    all windows, as two strided slices. Looping over the kh·kw offsets with whole-array operations
    is what keeps convolution and pooling free of per-pixel Python loops."""
    (kh, kw), (sh, sw) = kernel, stride
    for p in range(kh):
        for q in range(kw):
            yield (p, q), slice(p, p + sh * out_h, sh), slice(q, q + sw * out_w, sw)

"""The IDX format of the MNIST files: a small header, then a big-endian array.

    bytes 0-1: 0x00 0x00    byte 2: type code    byte 3: rank (number of dimensions)
    then one big-endian uint32 per dimension, then the data in row-major order.

Files may be gzip-compressed (recognised by their content, not their name). Reading checks the
header against the data actually present before building any array, so a hostile header that
claims terabytes fails at once.
"""

import gzip
import zlib
from pathlib import Path

import numpy as np

from .._files import atomic_write
from ..errors import DatasetError

TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_FOR = {dtype.newbyteorder("=") if dtype.itemsize > 1 else dtype: code for code, dtype in TYPE_CODES.items()}
_CHUNK = 1 << 22


def _open(path):
    with open(path, "rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _read_exactly(stream, count, path, what):
    """Read `count` bytes in chunks (memory grows only with data really present)."""
    data = bytearray()
    while len(data) < count:
        chunk = stream.read(min(_CHUNK, count - len(data)))
        if not chunk:
            raise DatasetError(f"{path}: truncated IDX file: {what} needs {count} bytes but the file holds only {len(data)}")
        data += chunk
    return data


def read_idx(path):
    """Read an IDX file (raw or gzip) into a NumPy array of its own type and shape.

    Raises:
        DatasetError: naming the file and the problem (bad magic number, unknown type code,
            rank 0, truncated data, trailing bytes, broken gzip stream).
    """
    path = Path(path)
    try:
        with _open(path) as stream:
            header = _read_exactly(stream, 4, path, "the header")
            if header[0] != 0 or header[1] != 0:
                raise DatasetError(f"{path}: not an IDX file: the magic number starts with {bytes(header[:2])!r}, expected b'\\x00\\x00'")
            code, rank = header[2], header[3]
            if code not in TYPE_CODES:
                raise DatasetError(f"{path}: unknown IDX type code 0x{code:02X}; expected one of {', '.join(f'0x{c:02X}' for c in TYPE_CODES)}")
            if rank == 0:
                raise DatasetError(f"{path}: IDX rank is 0; expected at least one dimension")
            shape = tuple(int(d) for d in np.frombuffer(_read_exactly(stream, 4 * rank, path, "the dimensions"), dtype=">u4"))
            dtype = TYPE_CODES[code]
            size = dtype.itemsize * int(np.prod(shape, dtype=object))
            data = _read_exactly(stream, size, path, f"an array of shape {shape} and type {dtype.name}")
            if stream.read(1):
                raise DatasetError(f"{path}: trailing bytes after the {size} bytes of data that the header describes {shape}")
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: cannot read the file: {error}") from None
    return np.frombuffer(bytes(data), dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Write an array as IDX, gzip-compressed when the name ends with .gz; atomically (temporary file, then rename)."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=") if array.dtype.itemsize > 1 else array.dtype
    if native not in _CODE_FOR:
        raise DatasetError(f"{path}: IDX cannot store dtype {array.dtype}; expected uint8, int8, int16, int32, float32 or float64")
    if not 1 <= array.ndim <= 255 or any(d >= 2**32 for d in array.shape):
        raise DatasetError(f"{path}: IDX stores 1 to 255 dimensions of fewer than 2**32 entries; got shape {array.shape}")
    code = _CODE_FOR[native]
    payload = bytes([0, 0, code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    payload += np.ascontiguousarray(array, dtype=TYPE_CODES[code]).tobytes()
    path = Path(path)
    with atomic_write(path) as file:
        file.write(gzip.compress(payload, mtime=0) if path.suffix == ".gz" else payload)

"""The IDX format of the MNIST files: a small header, then a big-endian array.

    bytes 0-1: 0x00 0x00    byte 2: type code    byte 3: rank (number of dimensions)
    then one big-endian uint32 per dimension, then the data in row-major order.

Files may be gzip-compressed (recognised by their content, not their name). Any input gives either the
array or a DatasetError naming the file: only regular files are opened (a pipe would block forever),
and the header is checked before any data is read. The array it declares must fit the memory available
and MAX_BYTES, and a compressed file must be large enough to hold it (deflate compresses at most about
1032:1): a small file claiming terabytes is refused at once, not decompressed first. The data is then
decompressed in chunks straight into the array, so reading needs little more memory than the data
itself, and reading stops as soon as the stream holds more than the header declares.
"""

from __future__ import annotations

import gzip
import math
import os
import stat
import zlib
from pathlib import Path
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike

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
#: the most bytes of data read_idx accepts unless told otherwise (the memory available is a second limit)
MAX_BYTES = 2**34
#: the most dimensions: NumPy's own limit before version 2
MAX_RANK = 32
#: deflate's largest compression ratio (258-byte matches coded in about 2 bits), with room to spare
_GZIP_MAX_RATIO = 1032
#: bytes read and decompressed at a time
_CHUNK = 1 << 20


def available_memory() -> Optional[int]:
    """Bytes of memory available to a new allocation (MemAvailable, or free pages), or None if unknown."""
    try:
        with open("/proc/meminfo", "rb") as file:
            for line in file:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _open_regular_file(path):
    """A binary file object for ``path``, refusing anything but a regular file before reading a byte.

    Opened non-blocking, so that opening a named pipe returns at once (and is then refused), instead
    of waiting for a writer that may never come.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a folder" if stat.S_ISDIR(mode) else "a pipe" if stat.S_ISFIFO(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "a device")
            raise DatasetError(f"{path}: not a regular file ({kind}); an IDX file must be a regular file")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _read_exactly(stream, count, path, what):
    """Read `count` bytes (a header's few) or say what was truncated."""
    data = bytearray()
    while len(data) < count:
        chunk = stream.read(count - len(data))
        if not chunk:
            raise DatasetError(f"{path}: truncated IDX file: {what} needs {count} bytes but the file holds only {len(data)}")
        data += chunk
    return data


def _read_into(stream, array, path, what):
    """Fill ``array`` from ``stream``, a chunk at a time, straight into its memory."""
    flat = array.reshape(-1).view(np.uint8)
    filled = 0
    while filled < flat.size:
        count = stream.readinto(flat[filled : filled + _CHUNK])
        if not count:
            raise DatasetError(f"{path}: truncated IDX file: {what} needs {flat.size} bytes but the file holds only {filled}")
        filled += count


def _size_limit(max_bytes):
    """(the most bytes of data to accept, what that limit is)."""
    if max_bytes is not None:
        return max_bytes, "read_idx was given (max_bytes)"
    available = available_memory()
    if available is not None and available < MAX_BYTES:
        return available, "of memory available"
    return MAX_BYTES, "that read_idx accepts (MAX_BYTES)"


def _check_size(path, shape, dtype, compressed, file_size, header_size, limit):
    """Refuse a declared array before reading its data: larger than the limit, larger than a compressed
    file can hold, or (uncompressed) other than the bytes the file holds."""
    what = f"an array of shape {shape} and type {dtype.name}"
    nbytes = dtype.itemsize * math.prod(shape)
    most, source = limit
    # counted without its zero dimensions: NumPy must be able to index an empty array too
    if dtype.itemsize * math.prod(d for d in shape if d) > most:
        raise DatasetError(f"{path}: the header declares {what}: {nbytes:,} bytes, more than the {most:,} bytes {source}")
    if compressed and nbytes > _GZIP_MAX_RATIO * file_size:
        raise DatasetError(
            f"{path}: truncated IDX file: {what} needs {nbytes:,} bytes but the file holds only {file_size:,} compressed bytes, "
            f"which decompress to at most {_GZIP_MAX_RATIO * file_size:,}"
        )
    if not compressed and file_size - header_size < nbytes:
        raise DatasetError(f"{path}: truncated IDX file: {what} needs {nbytes} bytes but the file holds only {file_size - header_size}")
    if not compressed and file_size - header_size > nbytes:
        raise DatasetError(f"{path}: trailing bytes after the {nbytes} bytes of data that the header describes {shape}")
    return what


def read_idx(path: str | os.PathLike, max_bytes: Optional[int] = None) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a NumPy array of its own type and shape.

    Args:
        path: the file.
        max_bytes: the largest array accepted, in bytes; default the smaller of MAX_BYTES and the memory available.

    Raises:
        DatasetError: naming the file and the problem (not a regular file, bad magic number, unknown
            type code, rank 0 or above MAX_RANK, an array too large, truncated data, trailing bytes,
            broken gzip stream).
    """
    path = Path(path)
    limit = _size_limit(max_bytes)
    what = "the array"
    try:
        with _open_regular_file(path) as file:
            file_size = os.fstat(file.fileno()).st_size
            compressed = file.read(2) == b"\x1f\x8b"
            file.seek(0)
            with (gzip.GzipFile(fileobj=file, mode="rb") if compressed else file) as stream:
                header = _read_exactly(stream, 4, path, "the header")
                if header[0] != 0 or header[1] != 0:
                    raise DatasetError(f"{path}: not an IDX file: the magic number starts with {bytes(header[:2])!r}, expected b'\\x00\\x00'")
                code, rank = header[2], header[3]
                if code not in TYPE_CODES:
                    raise DatasetError(f"{path}: unknown IDX type code 0x{code:02X}; expected one of {', '.join(f'0x{c:02X}' for c in TYPE_CODES)}")
                if not 1 <= rank <= MAX_RANK:
                    raise DatasetError(f"{path}: IDX rank is {rank}; expected 1 to {MAX_RANK} dimensions")
                shape = tuple(int(d) for d in np.frombuffer(_read_exactly(stream, 4 * rank, path, "the dimensions"), dtype=">u4"))
                dtype = TYPE_CODES[code]
                what = _check_size(path, shape, dtype, compressed, file_size, 4 + 4 * rank, limit)
                array = np.empty(shape, dtype=dtype)
                _read_into(stream, array, path, what)
                if stream.read(1):
                    raise DatasetError(f"{path}: trailing bytes after the {array.nbytes} bytes of data that the header describes {shape}")
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except MemoryError:
        raise DatasetError(f"{path}: not enough memory for {what}") from None
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: cannot read the file: {error}") from None
    native = dtype.newbyteorder("=")
    if native != dtype:  # to native byte order in place: no second copy of the data
        array = array.byteswap(inplace=True).view(native)
    return array


def write_idx(path: str | os.PathLike, array: ArrayLike) -> None:
    """Write an array as IDX, gzip-compressed when the name ends with .gz; atomically (temporary file, then rename)."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=") if array.dtype.itemsize > 1 else array.dtype
    if native not in _CODE_FOR:
        raise DatasetError(f"{path}: IDX cannot store dtype {array.dtype}; expected uint8, int8, int16, int32, float32 or float64")
    if not 1 <= array.ndim <= MAX_RANK or any(d >= 2**32 for d in array.shape):
        raise DatasetError(f"{path}: IDX stores 1 to {MAX_RANK} dimensions of fewer than 2**32 entries; got shape {array.shape}")
    code = _CODE_FOR[native]
    payload = bytes([0, 0, code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    payload += np.ascontiguousarray(array, dtype=TYPE_CODES[code]).tobytes()
    path = Path(path)
    with atomic_write(path) as file:
        file.write(gzip.compress(payload, mtime=0) if path.suffix == ".gz" else payload)

import gzip
import math
import os
import struct
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numnet.datasets import DatasetError, read_idx, write_idx
from numnet.datasets.idx import TYPE_CODES, available_memory


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_reads_the_mnist_layout_written_by_hand(tmp_path):
    # magic 0x00000801 (uint8, rank 1), 3 labels
    raw = struct.pack(">HBBI", 0, 0x08, 1, 3) + bytes([7, 2, 1])
    (tmp_path / "labels").write_bytes(raw)
    (tmp_path / "labels.gz").write_bytes(gzip.compress(raw))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), [7, 2, 1])
    np.testing.assert_array_equal(read_idx(tmp_path / "labels.gz"), [7, 2, 1])  # gzip found by content


def header(code=0x08, dims=(2, 2)):
    return struct.pack(">HBB", 0, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("content, message", [
    (b"", r"truncated IDX file: the header needs 4 bytes but the file holds only 0"),
    (b"\x01\x02\x08\x01", r"not an IDX file: the magic number starts with"),
    (header(code=0x07), r"unknown IDX type code 0x07"),
    (struct.pack(">HBB", 0, 0x08, 0), r"IDX rank is 0"),
    (header()[:6], r"truncated IDX file: the dimensions need"),
    (header() + b"\x01\x02\x03", r"truncated IDX file: an array of shape \(2, 2\) and type uint8 needs 4 bytes but the file holds only 3"),
    (header() + b"\x00" * 5, r"trailing bytes after the 4 bytes of data"),
    (header(dims=(2**32 - 1, 2**32 - 1, 2**32 - 1)) + b"\x00" * 10,
     r"the header declares an array of shape \(4294967295, 4294967295, 4294967295\) and type uint8: 79,228,162,458,924,105,385,300,197,375 bytes, more than the [\d,]+ bytes"),
])
def test_bad_files_raise_dataset_error_naming_the_file(tmp_path, content, message):
    for name, data in (("bad.idx", content), ("bad.idx.gz", gzip.compress(content))):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(DatasetError, match=message) as caught:
            read_idx(path)
        assert str(path) in str(caught.value)


def test_broken_gzip_stream(tmp_path):
    data = gzip.compress(header() + b"\x00" * 4)
    (tmp_path / "cut.gz").write_bytes(data[:-6])
    with pytest.raises(DatasetError, match="cut.gz"):
        read_idx(tmp_path / "cut.gz")
    with pytest.raises(DatasetError, match="no such file"):
        read_idx(tmp_path / "missing.gz")


def test_write_rejects_what_idx_cannot_hold(tmp_path):
    with pytest.raises(DatasetError, match="IDX cannot store dtype int64"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.int64))
    with pytest.raises(DatasetError, match="IDX stores 1 to 32 dimensions"):
        write_idx(tmp_path / "x.idx", np.array(5, dtype=np.uint8))
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_a_zero_dimension_gives_an_empty_array(tmp_path):
    (tmp_path / "empty.idx").write_bytes(header(dims=(0, 5)))
    array = read_idx(tmp_path / "empty.idx")
    assert array.shape == (0, 5) and array.dtype == np.uint8


@pytest.mark.parametrize("content, message", [
    # the audit's NumPy ValueErrors: a rank NumPy cannot hold, and a zero dimension beside huge ones
    (header(dims=(1,) * 65) + b"\x00", r"IDX rank is 65; expected 1 to 32 dimensions"),
    (header(dims=(1,) * 33) + b"\x00", r"IDX rank is 33; expected 1 to 32 dimensions"),
    (header(dims=(0, 2**32 - 1, 2**32 - 1)), r"declares an array of shape \(0, 4294967295, 4294967295\) and type uint8: 0 bytes, more than"),
    (header(code=0x0E, dims=(0, 2**31, 2**31)), r"and type float64: 0 bytes, more than"),
])
def test_shapes_numpy_cannot_hold_raise_dataset_error(tmp_path, content, message):
    for name, data in (("bad.idx", content), ("bad.idx.gz", gzip.compress(content))):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DatasetError, match=message):
            read_idx(tmp_path / name)


def test_the_size_limit(tmp_path):
    write_idx(tmp_path / "a.idx.gz", np.zeros((10, 10), np.int16))
    assert read_idx(tmp_path / "a.idx.gz", max_bytes=200).shape == (10, 10)
    with pytest.raises(DatasetError, match=r"declares an array of shape \(10, 10\) and type int16: 200 bytes, more than the 199 bytes read_idx was given \(max_bytes\)"):
        read_idx(tmp_path / "a.idx.gz", max_bytes=199)


def test_a_small_gzip_file_claiming_terabytes_is_refused_before_decompressing(tmp_path, monkeypatch):
    # the audit's file: 1.5 MB of gzip claiming 2⁴⁸ bytes (281 TB) was decompressed (1.5 GiB, 16 s) before its size
    # was checked. Here a gzip of 8 MiB of zeros claims it; the header is refused and no data is decompressed.
    data = gzip.compress(header(dims=(2**16, 2**16, 2**16)) + bytes(8 << 20), compresslevel=1)
    (tmp_path / "bomb.gz").write_bytes(data)
    decompressed = []
    readinto = gzip.GzipFile.readinto
    monkeypatch.setattr(gzip.GzipFile, "readinto", lambda self, b: decompressed.append(len(b)) or readinto(self, b))
    with pytest.raises(DatasetError, match=r"declares an array of shape \(65536, 65536, 65536\) and type uint8: 281,474,976,710,656 bytes, more than"):
        read_idx(tmp_path / "bomb.gz")
    assert decompressed == []
    # under the memory limit but beyond what deflate can pack into the file: refused as truncated at once
    with pytest.raises(DatasetError, match=r"truncated IDX file: an array of shape \(65536, 65536, 65536\) and type uint8 needs 281,474,976,710,656 bytes "
                                           r"but the file holds only [\d,]+ compressed bytes, which decompress to at most [\d,]+"):
        read_idx(tmp_path / "bomb.gz", max_bytes=2**50)
    assert decompressed == []


def test_decompression_stops_once_the_stream_holds_more_than_declared(tmp_path):
    # a header declaring 4 bytes, then 64 MiB: refused after decompressing about one chunk, not all of it
    (tmp_path / "long.gz").write_bytes(gzip.compress(header() + bytes(4) + bytes(64 << 20), compresslevel=1))
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=r"trailing bytes after the 4 bytes of data that the header describes \(2, 2\)"):
            read_idx(tmp_path / "long.gz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


@pytest.mark.parametrize("name", ["big.idx", "big.idx.gz"])
def test_peak_memory_is_about_the_size_of_the_data(tmp_path, name):
    # the audit: a 512 MiB gzip file needed 3× its data at the peak (the bytes read, a copy, the byte-swapped array)
    array = (np.arange(2 << 20, dtype=np.int32) % 1009).reshape(1024, -1)  # 8 MiB of big-endian int32 in the file
    write_idx(tmp_path / name, array)
    tracemalloc.start()
    try:
        back = read_idx(tmp_path / name)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(back, array)
    assert back.dtype == np.int32 and back.dtype.isnative
    assert peak < array.nbytes + (4 << 20)  # the data, and a chunk being decompressed with gzip's buffers


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_at_once(tmp_path):
    # the audit: reading a FIFO blocked forever, waiting for a writer
    fifo = tmp_path / "pipe.idx"
    os.mkfifo(fifo)
    outcome = []

    def read():
        try:
            read_idx(fifo)
        except DatasetError as error:
            outcome.append(str(error))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # unblock it before failing: open the writing end once
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("read_idx blocked on a named pipe")
    assert outcome == [f"{fifo}: not a regular file (a pipe); an IDX file must be a regular file"]


def test_folders_and_devices_are_refused(tmp_path):
    with pytest.raises(DatasetError, match=r"not a regular file \(a folder\)"):
        read_idx(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(DatasetError, match=r"/dev/zero: not a regular file \(a device\)"):
            read_idx("/dev/zero")


def test_available_memory_is_known_here():
    available = available_memory()
    assert available is None or available > 0


def fuzz_file(folder, data, compressed):
    path = Path(folder) / ("fuzz.gz" if compressed else "fuzz")
    path.write_bytes(gzip.compress(data, compresslevel=1) if compressed else data)
    return path


def check_any_bytes(folder, data, compressed):
    try:
        array = read_idx(fuzz_file(folder, data, compressed))
    except DatasetError:
        return
    assert isinstance(array, np.ndarray) and array.dtype.isnative


@st.composite
def idx_like(draw):
    """Bytes that start like an IDX file: a type code (often a real one), a rank (often small), dimensions
    (zero, small, huge), then about as much data as they declare."""
    code = draw(st.one_of(st.sampled_from(sorted(TYPE_CODES)), st.integers(0, 255)))
    rank = draw(st.one_of(st.integers(0, 4), st.integers(0, 255)))
    # up to 6 dimensions drawn; a larger rank reads the bytes that follow as its other dimensions
    dims = draw(st.lists(st.one_of(st.integers(0, 4), st.integers(0, 2**32 - 1)), min_size=min(rank, 6), max_size=min(rank, 6)))
    declared = TYPE_CODES.get(code, np.dtype(np.uint8)).itemsize * math.prod(dims)
    length = max(0, min(declared, 512) + draw(st.integers(-3, 3)))
    magic = draw(st.sampled_from([b"\x00\x00", b"\x00\x00", b"\x1f\x8b", b"\x00\x01"]))
    payload = np.random.default_rng(draw(st.integers(0, 2**32))).bytes(length)  # drawn as a seed: cheaper than byte by byte
    return magic + bytes([code, rank]) + struct.pack(f">{len(dims)}I", *dims) + payload


def check_idx_like(folder, data, compressed, cut):
    check_any_bytes(folder, data if cut is None else data[: cut % (len(data) + 1)], compressed)


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _settings(examples):
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])


any_bytes = dict(data=st.binary(max_size=64), compressed=st.booleans())
idx_inputs = dict(data=idx_like(), compressed=st.booleans(), cut=st.one_of(st.none(), st.integers(min_value=0)))


@_settings(100)
@given(**any_bytes)
def test_fuzz_any_bytes_give_an_array_or_dataset_error(fuzz_folder, data, compressed):
    check_any_bytes(fuzz_folder, data, compressed)


@_settings(100)
@given(**idx_inputs)
def test_fuzz_idx_like_bytes_give_an_array_or_dataset_error(fuzz_folder, data, compressed, cut):
    check_idx_like(fuzz_folder, data, compressed, cut)


@pytest.mark.slow
@_settings(10_000)
@given(**idx_inputs)
def test_fuzz_idx_like_bytes_long(fuzz_folder, data, compressed, cut):
    check_idx_like(fuzz_folder, data, compressed, cut)

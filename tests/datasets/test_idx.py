import gzip
import struct

import numpy as np
import pytest

from numnet.datasets import DatasetError, read_idx, write_idx


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
    (header(dims=(2**32 - 1, 2**32 - 1, 2**32 - 1)) + b"\x00" * 10, r"needs 79228162458924105385300197375 bytes but the file holds only 10"),
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
    with pytest.raises(DatasetError, match="IDX stores 1 to 255 dimensions"):
        write_idx(tmp_path / "x.idx", np.array(5, dtype=np.uint8))
    assert not list(tmp_path.iterdir())  # nothing half-written

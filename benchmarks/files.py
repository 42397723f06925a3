"""How long numnet takes to read hostile and large files, and how much memory it needs.

    python -m benchmarks.files [--layers 1000 10000 30000] [--idx-mib 64]

- numnet.load of model files of N layers (a Dense, then ReLUs): the time, best of three;
- read_idx of an IDX file of int32 data, raw and gzip-compressed: the time and the peak of traced memory
  (tracemalloc) next to the data's size;
- read_idx of a gzip file whose header claims 2⁴⁸ bytes (281 TB) in front of 1.5 GiB of zeros: the time to refusal.
"""

import argparse
import gzip
import struct
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

import numnet
from numnet.datasets import DatasetError, read_idx, write_idx
from numnet.layers import Dense, ReLU


def load_seconds(folder, layers, repeats=3):
    path = folder / f"{layers}-layers.safetensors"
    numnet.Sequential([Dense(4, 4, rng=0)] + [ReLU() for _ in range(layers - 1)], input_shape=(4,)).save(path)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        numnet.load(path)
        best = min(best, time.perf_counter() - start)
    return path.stat().st_size, best


def traced(function):
    """(result or the DatasetError, seconds, peak of traced memory in bytes)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = function()
    except DatasetError as error:
        result = error
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak


def write_bomb(path, zero_mib=1536):
    """A gzip file: an IDX header claiming (65536, 65536, 65536) uint8, then ``zero_mib`` MiB of zeros."""
    with open(path, "wb") as file, gzip.GzipFile(fileobj=file, mode="wb", compresslevel=9, mtime=0) as stream:
        stream.write(struct.pack(">HBB3I", 0, 0x08, 3, 2**16, 2**16, 2**16))
        block = bytes(16 << 20)
        for _ in range(zero_mib // 16):
            stream.write(block)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.files", description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[1000, 10000, 30000])
    parser.add_argument("--idx-mib", type=int, default=64)
    parser.add_argument("--bomb-mib", type=int, default=1536, help="MiB of zeros behind the hostile header")
    args = parser.parse_args(argv)
    lines = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for layers in args.layers:
            size, seconds = load_seconds(folder, layers)
            lines.append(f"numnet.load, {layers:,} layers ({size:,} bytes): {seconds:.3f} s")
        array = (np.arange(args.idx_mib << 18, dtype=np.int32) % 1009).reshape(-1, 1024)
        for suffix in ("", ".gz"):
            path = folder / f"data.idx{suffix}"
            write_idx(path, array)
            _, seconds, peak = traced(lambda: read_idx(path))
            lines.append(f"read_idx, {array.nbytes / 2**20:.0f} MiB of int32, {path.stat().st_size:,} bytes on disk: "
                         f"{seconds:.2f} s, peak {peak / 2**20:.1f} MiB traced")
        bomb = folder / "bomb.gz"
        write_bomb(bomb, args.bomb_mib)
        result, seconds, peak = traced(lambda: read_idx(bomb))
        outcome = "refused" if isinstance(result, DatasetError) else "read"
        lines.append(f"read_idx, {bomb.stat().st_size:,}-byte gzip claiming 281 TB: {outcome} in {seconds:.3f} s, peak {peak / 2**20:.1f} MiB traced")
    for line in lines:
        print(line)
    return lines


if __name__ == "__main__":
    main()

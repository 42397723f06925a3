"""Tensor files: named arrays and a str -> str header in one safetensors file, checksummed and written atomically.

Model files and training checkpoints are both tensor files. No pickle: safetensors stores raw arrays
and JSON, so reading a file never runs code. safetensors does not checksum its content, so the
header carries a SHA-256 ("sha256") of everything else the file holds: every header entry and every
tensor's name, dtype, shape and bytes. A flipped bit anywhere is caught on reading.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Dict, Mapping, Tuple, Type

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save

from ._files import atomic_write
from .errors import ModelFormatError

FORMAT_VERSION = 2
#: version 1 files checksummed only their tensors; they are still read
READABLE_VERSIONS = ("1", "2")


def content_digest(tensors: Mapping[str, np.ndarray], header: Mapping[str, str], version: str = str(FORMAT_VERSION)) -> str:
    """SHA-256 of the header entries (all but "sha256") and of every tensor, in name order."""
    digest = hashlib.sha256()
    if version != "1":
        for key in sorted(k for k in header if k != "sha256"):
            digest.update(f"{len(key)}|{key}|{len(header[key])}|{header[key]}|".encode())
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def write_tensor_file(path: str | Path, tensors: Mapping[str, np.ndarray], header: Mapping[str, str]) -> None:
    """Atomically write ``tensors`` and a str -> str ``header`` (plus "format_version" and "sha256")."""
    tensors = {name: np.ascontiguousarray(value) for name, value in tensors.items()}
    header = {**header, "format_version": str(FORMAT_VERSION)}
    payload = save(tensors, metadata={**header, "sha256": content_digest(tensors, header)})
    with atomic_write(path) as file:
        file.write(payload)


def read_tensor_file(
    path: str | Path, file_format: str, error: Type[ValueError] = ModelFormatError
) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Read a file written by write_tensor_file, checking its format name, version and checksum.

    Every problem raises ``error`` naming the file; nothing else escapes.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such file")
    try:
        with safe_open(str(path), framework="numpy") as file:
            header = file.metadata() or {}
            tensors = {name: file.get_tensor(name) for name in file.keys()}
    except Exception as failure:  # safetensors raises its own error types for every kind of damage
        raise error(f"{path}: not a readable safetensors file ({type(failure).__name__}: {failure})") from None
    if header.get("format") != file_format:
        raise error(f"{path}: not a {file_format} file (its metadata has format={header.get('format')!r})")
    version = header.get("format_version", "?")
    if version not in READABLE_VERSIONS:
        raise error(f"{path}: format version {version!r}; this numnet reads versions {', '.join(READABLE_VERSIONS)}")
    if content_digest(tensors, header, version) != header.get("sha256"):
        raise error(f"{path}: the content does not match its SHA-256 checksum: the file is corrupted or was modified")
    return tensors, header

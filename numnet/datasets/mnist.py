"""Full MNIST and Fashion-MNIST: found on disk, or downloaded from public mirrors and verified.

Where the files are looked for, in order: the ``data_dir`` argument, the NUMNET_DATA environment
variable, the user's cache folder (platformdirs), then system folders (Debian's
dataset-fashion-mnist installs /usr/share/datasets/fashion-mnist/). Files found on disk are checked
against their published size and SHA-256 too, except in system folders: Debian recompresses the
files (their gzip bytes differ from the published ones), so those are trusted as installed by the
package manager and checked for their IDX structure and shapes instead. Missing files are downloaded into the first of those
folders, trying each mirror in turn; pooch writes each to a temporary file and moves it into place
only once its SHA-256 matches, so a failed or corrupted download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..errors import DatasetError
from .idx import read_idx

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@dataclass(frozen=True)
class DatasetSpec:
    """A four-file IDX dataset: its name, {file: (sha256, size)}, mirrors (URL prefixes), system
    folders, and the number of (train, test) images."""

    name: str
    files: Dict[str, Tuple[str, int]]
    mirrors: Tuple[str, ...]
    system_dirs: Tuple[str, ...] = field(default=())
    counts: Tuple[int, int] = (60000, 10000)


#: what the loaders return: (x_train, y_train), (x_test, y_test)
TrainTest = Tuple[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]


MNIST = DatasetSpec(
    name="mnist",
    files={
        "train-images-idx3-ubyte.gz": ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
        "train-labels-idx1-ubyte.gz": ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
        "t10k-images-idx3-ubyte.gz": ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
        "t10k-labels-idx1-ubyte.gz": ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    files={
        "train-images-idx3-ubyte.gz": ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
        "train-labels-idx1-ubyte.gz": ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
        "t10k-images-idx3-ubyte.gz": ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
        "t10k-labels-idx1-ubyte.gz": ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148),
    },
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
)

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_verified(path: Path, sha256: str, size: int) -> bool:
    return path.is_file() and path.stat().st_size == size and _sha256(path) == sha256


def _search_dirs(spec: DatasetSpec, data_dir: Optional[str | Path]) -> List[Path]:
    """Folders to look in, in order; the first is where downloads go."""
    from platformdirs import user_cache_dir

    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir))
    elif os.environ.get("NUMNET_DATA"):
        dirs.append(Path(os.environ["NUMNET_DATA"]) / spec.name)
    dirs.append(Path(user_cache_dir("numnet")) / spec.name)
    dirs += [Path(d) for d in spec.system_dirs]
    return dirs


def _describe(error: Exception) -> str:
    """One short reason for a failed download."""
    import requests

    if isinstance(error, requests.exceptions.ConnectionError):
        return "cannot connect"
    if isinstance(error, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(error, requests.exceptions.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code}"
    if "hash" in str(error).lower():
        return "the file's SHA-256 does not match the published checksum (corrupted download)"
    return f"{type(error).__name__}: {error}"


def _download(spec: DatasetSpec, name: str, target_dir: Path, progressbar: bool) -> None:
    """Fetch one file from the first mirror that delivers it intact; raise DatasetError listing every failure."""
    import pooch
    import requests

    sha256, _ = spec.files[name]
    failures, offline = [], True
    for mirror in spec.mirrors:
        try:
            downloader = pooch.HTTPDownloader(progressbar=progressbar, timeout=30)
            pooch.retrieve(mirror + name, known_hash=f"sha256:{sha256}", fname=name, path=target_dir, downloader=downloader)
            return
        except (requests.exceptions.RequestException, ValueError, OSError) as error:
            offline &= isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout))
            failures.append(f"{mirror}: {_describe(error)}")
    where = f"put {', '.join(spec.files)} in {target_dir} (or pass data_dir= / set NUMNET_DATA)"
    if offline:
        raise DatasetError(f"cannot download {spec.name}: no network connection to any of {len(spec.mirrors)} mirrors; {where}")
    raise DatasetError(f"cannot download {name} of {spec.name}; every mirror failed:\n  " + "\n  ".join(failures) + f"\nOr {where}")


def fetch(spec: DatasetSpec, data_dir: Optional[str | Path] = None, progressbar: bool = True) -> Path:
    """Return the folder holding all four files of ``spec``, downloading what is missing."""
    dirs = _search_dirs(spec, data_dir)
    for folder in dirs:
        if all(_is_verified(folder / name, *spec.files[name]) for name in spec.files):
            return folder
        if str(folder) in spec.system_dirs and all((folder / name).is_file() for name in spec.files):
            return folder
    target = dirs[0]
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(f"cannot create the data folder {target}: {error}") from None
    for name, (sha256, size) in spec.files.items():
        if not _is_verified(target / name, sha256, size):
            _download(spec, name, target, progressbar)
    return target


def load_idx_dataset(spec: DatasetSpec, data_dir: Optional[str | Path] = None, progressbar: bool = True) -> TrainTest:
    """(x_train, y_train), (x_test, y_test) of a four-file IDX dataset, as uint8 arrays."""
    folder = fetch(spec, data_dir, progressbar)
    x_train, y_train, x_test, y_test = (read_idx(folder / name) for name in FILES)
    for x, y, split, count in ((x_train, y_train, "train", spec.counts[0]), (x_test, y_test, "test", spec.counts[1])):
        if x.shape != (count, 28, 28) or y.shape != (count,) or x.dtype != "uint8" or y.dtype != "uint8" or y.max() > 9:
            raise DatasetError(
                f"{folder}: {spec.name} {split} files hold images {x.shape} {x.dtype} and labels {y.shape}; "
                f"expected ({count}, 28, 28) uint8 images and {count} labels in 0..9"
            )
    return (x_train, y_train), (x_test, y_test)


def load_mnist(data_dir: Optional[str | Path] = None, progressbar: bool = True) -> TrainTest:
    """The full MNIST: 60,000 train and 10,000 test digits, (N, 28, 28) uint8 and labels (N,) uint8."""
    return load_idx_dataset(MNIST, data_dir, progressbar)


def load_fashion_mnist(data_dir: Optional[str | Path] = None, progressbar: bool = True) -> TrainTest:
    """Fashion-MNIST: 60,000 train and 10,000 test clothing images in ten classes (FASHION_MNIST_CLASSES)."""
    return load_idx_dataset(FASHION_MNIST, data_dir, progressbar)

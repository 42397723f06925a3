"""The download path, end to end, against HTTP servers on 127.0.0.1 that the tests start."""

import functools
import hashlib
import http.server
import socket
import threading

import numpy as np
import pytest

from numnet.datasets import DatasetError, write_idx
from numnet.datasets.mnist import FASHION_MNIST, FILES, MNIST, DatasetSpec, load_idx_dataset


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A server with a good copy of a tiny dataset under /good/, a corrupted one under /corrupt/."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NUMNET_DATA", raising=False)
    rng = np.random.default_rng(0)
    arrays = {
        FILES[0]: rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        FILES[1]: rng.integers(0, 10, 6, dtype=np.uint8),
        FILES[2]: rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        FILES[3]: rng.integers(0, 10, 2, dtype=np.uint8),
    }
    root = tmp_path / "www"
    files = {}
    for name, array in arrays.items():
        write_idx(root / "good" / name, array)
        data = (root / "good" / name).read_bytes()
        files[name] = (hashlib.sha256(data).hexdigest(), len(data))
        corrupted = bytearray(data)
        corrupted[len(data) // 2] ^= 0xFF
        (root / "corrupt").mkdir(exist_ok=True)
        (root / "corrupt" / name).write_bytes(bytes(corrupted))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with socket.socket() as probe:  # a port nobody listens on: the unreachable mirror
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield {
        "arrays": arrays,
        "files": files,
        "good": f"{base}/good/",
        "corrupt": f"{base}/corrupt/",
        "missing": f"{base}/nothing-here/",
        "unreachable": f"http://127.0.0.1:{closed_port}/",
    }
    server.shutdown()
    server.server_close()


def spec(served, *mirrors):
    return DatasetSpec(name="tiny", files=served["files"], mirrors=tuple(served[m] for m in mirrors), counts=(6, 2))


def test_falls_through_unreachable_and_corrupted_mirrors_to_the_good_one(served, tmp_path):
    target = tmp_path / "data"
    (x_train, y_train), (x_test, y_test) = load_idx_dataset(
        spec(served, "unreachable", "corrupt", "good"), data_dir=target, progressbar=False
    )
    np.testing.assert_array_equal(x_train, served["arrays"][FILES[0]])
    np.testing.assert_array_equal(y_test, served["arrays"][FILES[3]])
    assert sorted(p.name for p in target.iterdir()) == sorted(FILES)  # no temporary files left


def test_every_mirror_failing_leaves_nothing_and_names_each_failure(served, tmp_path):
    target = tmp_path / "data"
    with pytest.raises(DatasetError) as caught:
        load_idx_dataset(spec(served, "unreachable", "corrupt", "missing"), data_dir=target, progressbar=False)
    message = str(caught.value)
    assert f"{served['unreachable']}: cannot connect" in message
    assert f"{served['corrupt']}: the file's SHA-256 does not match the published checksum" in message
    assert f"{served['missing']}: HTTP 404" in message
    assert str(target) in message
    assert list(target.iterdir()) == []


def test_offline_says_so_in_one_line(served, tmp_path):
    with pytest.raises(DatasetError) as caught:
        load_idx_dataset(spec(served, "unreachable"), data_dir=tmp_path / "data", progressbar=False)
    message = str(caught.value)
    assert "\n" not in message
    assert "no network connection to any of 1 mirrors" in message and "put train-images-idx3-ubyte.gz" in message


def test_files_on_disk_are_used_without_network(served, tmp_path, monkeypatch):
    folder = tmp_path / "env" / "tiny"
    folder.mkdir(parents=True)
    for name in FILES:
        write_idx(folder / name, served["arrays"][name])
    monkeypatch.setenv("NUMNET_DATA", str(tmp_path / "env"))
    (x_train, _), _ = load_idx_dataset(spec(served, "unreachable"), progressbar=False)
    np.testing.assert_array_equal(x_train, served["arrays"][FILES[0]])


def test_a_damaged_file_on_disk_is_replaced_by_a_verified_download(served, tmp_path):
    target = tmp_path / "data"
    target.mkdir()
    (target / FILES[0]).write_bytes(b"garbage")
    (x_train, _), _ = load_idx_dataset(spec(served, "good"), data_dir=target, progressbar=False)
    np.testing.assert_array_equal(x_train, served["arrays"][FILES[0]])


def test_published_checksums_are_the_ones_in_the_issue():
    assert MNIST.files["train-images-idx3-ubyte.gz"] == ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422)
    assert FASHION_MNIST.files["t10k-labels-idx1-ubyte.gz"] == ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148)
    assert "/usr/share/datasets/fashion-mnist" in FASHION_MNIST.system_dirs


@pytest.mark.skipif(not (FASHION_MNIST.system_dirs and __import__("os").path.isdir(FASHION_MNIST.system_dirs[0])),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_debian_package(tmp_path, monkeypatch):
    from numnet.datasets import load_fashion_mnist

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("NUMNET_DATA", raising=False)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(progressbar=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)

import os
import shutil

import pytest

from numnet.serve.models import ModelStore, NoModel
from numnet.serve.runs_browser import NotFound


def test_the_newest_run_is_the_default_and_runs_can_be_named(runs_dir, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(runs_dir / "small", root / "older")
    shutil.copytree(runs_dir / "small", root / "newer")
    for path in (root / "older").iterdir():
        os.utime(path, (1_000_000, 1_000_000))
    store = ModelStore(root)
    assert store.get().source == "newer"
    assert store.get("older").source == "older"
    assert store.get() is store.get()  # kept loaded
    with pytest.raises(NotFound):
        store.get("../runs/newer")


def test_a_named_file_wins_and_a_changed_file_is_reloaded(model_path, tmp_path):
    path = tmp_path / "model.safetensors"
    shutil.copy(model_path, path)
    store = ModelStore(tmp_path / "no-runs", path)
    first = store.get()
    assert first.source == str(path) and first.run is None
    shutil.copy(model_path, path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert store.get() is not first


def test_no_model_and_broken_models(tmp_path):
    with pytest.raises(NoModel, match="no model yet: .* holds no run with a model.safetensors"):
        ModelStore(tmp_path).get()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.safetensors").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="model.safetensors"):
        ModelStore(tmp_path).get()

import json
import os

import pytest

from numnet.serve import runs_browser
from numnet.serve.runs_browser import NotFound, list_runs, newest_model, read_history, run_details, run_file, run_folder


def make_run(root, name, accuracy=0.9, model=True, modified=None):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"dataset": "digits-sample", "test_accuracy": accuracy,
                                                    "config": {"model": "mlp", "epochs": 2}}))
    (folder / "history.csv").write_text("epoch,loss,val_loss\n1,0.5,0.6\n2,0.25,nan\n")
    (folder / "curves.png").write_bytes(b"\x89PNG not really")
    if model:
        (folder / "model.safetensors").write_bytes(b"weights")
    if modified is not None:
        for path in folder.iterdir():
            os.utime(path, (modified, modified))
    return folder


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "runs"
    make_run(root, "old", 0.8, modified=1_000_000)
    make_run(root, "new", 0.95, modified=2_000_000)
    make_run(root, "training", None, model=False, modified=3_000_000)
    (root / "not-a-run").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.json").write_text('{"secret": 1}')
    (tmp_path / "outside" / "config.json").write_text("{}")
    return root


def test_listing_newest_first_and_details(root):
    runs = list_runs(root)
    assert [run["name"] for run in runs] == ["training", "new", "old"]
    assert runs[1] == {"name": "new", "modified": 2_000_000, "has_model": True, "dataset": "digits-sample",
                       "model": "mlp", "epochs": 2, "test_accuracy": 0.95}
    details = run_details(root, "new")
    assert details["history"] == {"epoch": [1, 2], "loss": [0.5, 0.25], "val_loss": [0.6, None]}
    assert details["config"]["test_accuracy"] == 0.95
    assert [f["name"] for f in details["files"]] == ["config.json", "curves.png", "history.csv", "model.safetensors"]
    assert newest_model(root) == (root / "new" / "model.safetensors").resolve()
    assert list_runs(root.parent / "missing") == [] and newest_model(root.parent / "missing") is None


@pytest.mark.parametrize("name", ["..", ".", "../outside", "/etc", "new/../../outside", "", "a" * 300, "new\x00"])
def test_run_names_cannot_leave_the_root(root, name):
    with pytest.raises(NotFound):
        run_folder(root, name)


@pytest.mark.parametrize("filename", ["../outside/secret.json", "/etc/passwd", "..", "../../outside/secret.json",
                                      "history.py", "checkpoints"])
def test_file_names_cannot_leave_the_run(root, filename):
    with pytest.raises(NotFound):
        run_file(root, "new", filename)


def test_symlinks_that_leave_the_root_are_refused(root, tmp_path):
    outside = tmp_path / "outside"
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "new" / "leak.json").symlink_to(outside / "secret.json")
    with pytest.raises(NotFound):
        run_folder(root, "escape")
    with pytest.raises(NotFound):
        run_file(root, "new", "leak.json")
    assert "escape" not in [run["name"] for run in list_runs(root)]
    assert "leak.json" not in [f["name"] for f in run_details(root, "new")["files"]]
    (root / "new" / "inside.json").symlink_to(root / "old" / "config.json")  # a link that stays inside is fine
    assert run_file(root, "new", "inside.json") == (root / "old" / "config.json").resolve()


def test_a_model_file_linked_from_outside_is_not_served(root, tmp_path):
    (tmp_path / "outside" / "model.safetensors").write_bytes(b"x")
    (root / "new" / "model.safetensors").unlink()
    (root / "new" / "model.safetensors").symlink_to(tmp_path / "outside" / "model.safetensors")
    assert newest_model(root) == (root / "old" / "model.safetensors").resolve()


def test_files_served_and_unknown_runs(root):
    assert run_file(root, "new", "curves.png") == (root / "new" / "curves.png").resolve()
    with pytest.raises(NotFound):
        run_file(root, "new", "missing.png")
    with pytest.raises(NotFound):
        run_details(root, "not-a-run")
    assert set(runs_browser.FILE_TYPES) == {".png", ".csv", ".json", ".safetensors"}


def test_broken_files_read_as_empty(root):
    (root / "old" / "history.csv").write_text("epoch,loss\n1,not-a-number\n")
    (root / "old" / "config.json").write_text("{broken")
    assert read_history(root / "old") == {}
    assert run_details(root, "old")["config"] == {}

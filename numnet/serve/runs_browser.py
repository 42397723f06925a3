"""The run folders under one root (``numnet train`` writes them): listing, details, and their files.

Only files inside the root are ever read. A run or file name is one plain path component
(letters, digits, ``.``, ``_``, ``-``; not ``.`` or ``..``), and the resolved path, symlinks
followed, must still lie inside the resolved root: ``../``, absolute paths and symlinks that
leave the root are all refused alike, as "no such run" (the answer does not tell what exists outside).
"""

import csv
import json
import math
import re
from pathlib import Path

MODEL_FILE = "model.safetensors"
#: what a run folder holds that the browser shows or offers for download, by suffix
FILE_TYPES = {
    ".png": "image/png",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".safetensors": "application/octet-stream",
}
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._-]{1,255}")


class NotFound(LookupError):
    """No run or run file of that name inside the root (or the name tries to leave it)."""


def _plain(name):
    return isinstance(name, str) and _PLAIN_NAME.fullmatch(name) is not None and name not in (".", "..")


def _inside(root, path):
    """``path`` resolved (symlinks followed), or NotFound when it does not exist or lies outside ``root``."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        raise NotFound(path.name) from None
    if not resolved.is_relative_to(Path(root).resolve()):
        raise NotFound(path.name)
    return resolved


def run_folder(root, name):
    """The folder of run ``name`` directly under ``root`` (NotFound unless it is one, inside ``root``)."""
    if not _plain(name):
        raise NotFound(str(name))
    folder = _inside(root, Path(root) / name)
    if not folder.is_dir():
        raise NotFound(name)
    return folder


def run_file(root, name, filename):
    """A file of run ``name`` that the browser may serve (NotFound otherwise): a regular file inside
    ``root`` whose suffix is one of FILE_TYPES."""
    folder = run_folder(root, name)
    if not _plain(filename) or Path(filename).suffix not in FILE_TYPES:
        raise NotFound(str(filename))
    path = _inside(root, folder / filename)
    if not path.is_file():
        raise NotFound(filename)
    return path


def _is_run(folder):
    return any((folder / name).is_file() for name in (MODEL_FILE, "config.json", "history.csv"))


def _run_folders(root):
    root = Path(root)
    if not root.is_dir():
        return []
    folders = []
    for entry in root.iterdir():
        try:
            folder = run_folder(root, entry.name)
        except NotFound:
            continue
        if _is_run(folder):
            folders.append((entry.name, folder))
    return folders


def read_config(folder):
    """A run's config.json: after training, the model's metadata (dataset, class names, test accuracy,
    and the settings under "config"); during training, the settings only. {} when unreadable."""
    try:
        data = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_history(folder):
    """A run's history.csv as columns: {"epoch": [1, 2, ...], "loss": [...], ...}; {} when missing or unreadable."""
    try:
        with open(folder / "history.csv", newline="") as file:
            rows = list(csv.DictReader(file))
    except (OSError, csv.Error, UnicodeDecodeError):
        return {}
    columns = {}
    for row in rows:
        for key, text in row.items():
            try:
                value = float(text)
            except (TypeError, ValueError):
                return {}
            columns.setdefault(key, []).append(value if math.isfinite(value) else None)
    if "epoch" in columns:
        columns["epoch"] = [int(v) for v in columns["epoch"] if v is not None]
    return columns


def _summary(name, folder):
    config = read_config(folder)
    settings = config.get("config") if isinstance(config.get("config"), dict) else {}
    model = folder / MODEL_FILE
    modified = max((p.stat().st_mtime for p in folder.iterdir() if p.is_file()), default=folder.stat().st_mtime)
    accuracy = config.get("test_accuracy")
    return {
        "name": name,
        "modified": modified,
        "has_model": model.is_file(),
        "dataset": config.get("dataset", settings.get("dataset")),
        "model": settings.get("model"),
        "epochs": settings.get("epochs"),
        "test_accuracy": accuracy if isinstance(accuracy, (int, float)) else None,
    }


def list_runs(root):
    """Every run folder directly under ``root``, newest first, each as a short JSON-able summary."""
    runs = [_summary(name, folder) for name, folder in _run_folders(root)]
    return sorted(runs, key=lambda run: (run["modified"], run["name"]), reverse=True)


def run_details(root, name):
    """One run: its summary, config.json, history.csv as columns, and the files the browser can serve."""
    folder = run_folder(root, name)
    if not _is_run(folder):
        raise NotFound(name)
    files = []
    for path in sorted(folder.iterdir()):
        if path.suffix in FILE_TYPES and _plain(path.name):
            try:
                files.append({"name": path.name, "size": _inside(root, path).stat().st_size})
            except NotFound:
                continue
    return {**_summary(name, folder), "config": read_config(folder), "history": read_history(folder), "files": files}


def newest_model(root):
    """The model file of the run under ``root`` whose model was written last, or None when no run has one."""
    newest = None
    for name, _ in _run_folders(root):
        try:
            path = run_file(root, name, MODEL_FILE)
        except NotFound:  # no model yet, or a model file that is a symlink leaving the root
            continue
        candidate = (path.stat().st_mtime, name, path)
        newest = candidate if newest is None or candidate > newest else newest
    return None if newest is None else newest[2]

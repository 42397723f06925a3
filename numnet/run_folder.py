"""A run folder held by one training process, and the checks that keep two runs from mixing in it.

``run_folder_lock`` holds the folder for the process that trains in it (an fcntl.flock on train.lock);
``RunSettings`` records the settings of a run in each of its checkpoints, and ``check_checkpoint_settings``
refuses to resume a checkpoint written under other settings.
"""

import contextlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory file locks; run folders are then not locked
    fcntl = None  # type: ignore[assignment]

from .callbacks import Callback
from .checkpoints import checkpoint_path, read_checkpoint_state
from .errors import CheckpointError

#: the file a training process holds locked while it uses a run folder; it names that process
LOCK_NAME = "train.lock"
#: where a run folder keeps its checkpoint
CHECKPOINTS = "checkpoints"


class RunFolderError(ValueError):
    """A run folder that cannot be used: another process trains in it, it already holds another run,
    or there is none to resume."""


@contextlib.contextmanager
def run_folder_lock(folder):
    """Hold ``folder`` for this process while the block runs: an exclusive lock on folder/train.lock, which
    holds this process's id. A second process (or another thread) gets RunFolderError at once. The folder
    is created if needed; the lock file is removed on leaving (a killed process leaves it, unlocked)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    while True:
        file = open(path, "a+")
        if fcntl is None:
            break
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "unknown"
            file.close()
            raise RunFolderError(f"the run folder {folder} is in use by another numnet train (process {holder}); "
                                 "wait for it to end, or train into another folder") from None
        try:  # the holder before us may have removed the file between our open and our lock: lock the one at the path
            same = os.path.samestat(os.fstat(file.fileno()), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        file.close()
    try:
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # while still locked, so no other process holds this file
        file.close()


def holds_run(folder):
    """Whether ``folder`` holds (part of) a run: its settings, its model or its checkpoint."""
    folder = Path(folder)
    return (folder / "config.json").exists() or (folder / "model.safetensors").exists() or checkpoint_path(folder / CHECKPOINTS).exists()


class RunSettings(Callback):
    """Records the settings of a run (a JSON-able dict) in every checkpoint, as this callback's state."""

    def __init__(self, settings):
        self.settings = settings

    def state_dict(self):
        return {"run_settings": self.settings}


def recorded_settings(state):
    """The run settings a checkpoint's training state records, None when it records none."""
    for callback_state in state.get("callbacks", []):
        if isinstance(callback_state, dict) and "run_settings" in callback_state:
            return callback_state["run_settings"]
    return None


def check_checkpoint_settings(folder, settings):
    """Refuse (CheckpointError) the checkpoint in ``folder`` when it was written under other ``settings``:
    resuming it would mix two runs into a model that matches neither. Nothing to check without a checkpoint."""
    state = read_checkpoint_state(Path(folder) / CHECKPOINTS)
    if state is None:
        return
    recorded, path = recorded_settings(state), checkpoint_path(Path(folder) / CHECKPOINTS)
    if recorded is None:
        raise CheckpointError(f"{path} does not record the settings of its run, so it cannot be checked against this "
                              "run's; start a new run in another folder")
    differences = [f"{key}: {recorded.get(key)!r} in the checkpoint, {value!r} now" for key, value in settings.items()
                   if recorded.get(key) != value]
    if differences:
        raise CheckpointError(f"{path} was written under other settings than this run's ({'; '.join(differences)}); "
                              "resuming it would mix two runs into a model that matches neither. Start a new run in another folder")

"""Training the default model in the background, for an app started before any run exists.

The job calls numnet.runs.train with TrainConfig() (the settings of a plain ``numnet train``),
writing a new run folder under the runs folder. Its progress (epochs done, the loss so far) is
read from the checkpoint that training refreshes after every epoch.
"""

import json
import threading
import time
from dataclasses import replace

from safetensors import safe_open

from ..checkpoints import checkpoint_path
from ..runs import MODEL_DEFAULTS, TrainConfig, default_run_folder, train


def _progress(folder):
    """(epochs done, history so far) from the run's checkpoint, or (0, {}) before the first one."""
    try:
        with safe_open(str(checkpoint_path(folder / "checkpoints")), framework="numpy") as file:
            state = json.loads(file.metadata()["state"])
        return len(state["history_epochs"]), state["history"]
    except (OSError, ValueError, KeyError, TypeError):  # no checkpoint yet, or one being replaced
        return 0, {}


class TrainingJob:
    """One background training run of the default model at a time.

    Args:
        runs_dir: where the run folder is written (runs_dir/<date-time>).
        config: the settings (default TrainConfig(); its ``out`` and ``verbose`` are set here).
    """

    def __init__(self, runs_dir, config=None):
        self.runs_dir = runs_dir
        self.config = config if config is not None else TrainConfig()
        self._thread = None
        self._lock = threading.Lock()
        self._state = {"state": "idle"}

    def start(self):
        """Start training in a background thread; RuntimeError when a run is already going."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise RuntimeError("the default model is already being trained; wait for it to finish")
            folder = default_run_folder(self.runs_dir)
            config = replace(self.config, out=str(folder), verbose=0)
            epochs = config.epochs or MODEL_DEFAULTS[config.model]["epochs"]
            self._state = {"state": "running", "folder": folder, "epochs": epochs, "started": time.monotonic()}
            self._thread = threading.Thread(target=self._run, args=(config,), name="numnet-default-training", daemon=True)
            self._thread.start()

    def _run(self, config):
        try:
            result = train(config)
        except Exception as error:  # reported through status(): a background thread has nobody else to tell
            with self._lock:
                self._state.update(state="failed", error=f"{type(error).__name__}: {error}", finished=time.monotonic())
            return
        with self._lock:
            self._state.update(state="done", test_accuracy=result.test_accuracy, finished=time.monotonic())

    def status(self):
        """JSON-able progress: state ("idle", "running", "done", "failed"), run folder, epochs done of
        the total, the history so far; the test accuracy when done, the error when failed."""
        with self._lock:
            state = dict(self._state)
        if state["state"] == "idle":
            return state
        folder = state.pop("folder")
        done, history = (state["epochs"], {}) if state["state"] == "done" else _progress(folder)
        ended = state.pop("finished", time.monotonic())
        state.update(run=folder.name, epochs_done=done, history=history, elapsed=round(ended - state.pop("started"), 1))
        return state

    def join(self, timeout=None):
        """Wait for the training thread (if any) to end."""
        if self._thread is not None:
            self._thread.join(timeout)

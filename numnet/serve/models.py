"""Which model the app shows: the file named on the command line, else the newest run's, or any run's by name.

Loaded models are kept (a few at a time) and reloaded when their file changes, so a run that
finishes while the app is open is picked up on the next request.
"""

import threading
from collections import OrderedDict
from pathlib import Path

from ..model import load as load_model
from . import runs_browser
from .lookinside import DigitModel

#: how many loaded models are kept in memory at once
CACHED_MODELS = 4


class NoModel(LookupError):
    """No model to show: none was named and no run under the runs folder has one yet."""


class ModelStore:
    """Loads and keeps the models the app looks inside.

    Args:
        runs_dir: the folder of run folders.
        model_path: a model file to show by default instead of the newest run's (optional).
    """

    def __init__(self, runs_dir, model_path=None):
        self.runs_dir = Path(runs_dir)
        self.model_path = Path(model_path) if model_path is not None else None
        self._cache = OrderedDict()  # path -> (modification time, DigitModel)
        self._lock = threading.Lock()

    def default_path(self):
        """The model file shown when no run is asked for, or None when there is none yet."""
        if self.model_path is not None:
            return self.model_path
        return runs_browser.newest_model(self.runs_dir)

    def get(self, run=None):
        """The DigitModel of run ``run`` (a folder name under runs_dir), or the default one.

        Raises runs_browser.NotFound for an unknown run or one without a model, NoModel when there is
        no default model yet, and ValueError when the file is not a usable digit model.
        """
        if run is not None:
            path = runs_browser.run_file(self.runs_dir, run, runs_browser.MODEL_FILE)
        else:
            path = self.default_path()
            if path is None:
                raise NoModel(f"no model yet: {self.runs_dir} holds no run with a {runs_browser.MODEL_FILE}")
            if self.model_path is None:
                run = path.parent.name
        return self._load(path, run)

    def _load(self, path, run):
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            raise ValueError(f"{path}: no such model file") from None
        with self._lock:
            cached = self._cache.get(path)
            if cached is not None and cached[0] == stamp:
                self._cache.move_to_end(path)
                return cached[1]
            model = DigitModel(load_model(path), source=run if run is not None else str(path), run=run)
            self._cache[path] = (stamp, model)
            self._cache.move_to_end(path)
            while len(self._cache) > CACHED_MODELS:
                self._cache.popitem(last=False)
            return model

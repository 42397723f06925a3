"""ModelCheckpoint: save the model every epoch, or when a monitored metric improves."""

from ..improvement import Improvement, resolve_mode
from .base import Callback, monitored


class ModelCheckpoint(Callback):
    """Save the model after every epoch, or only when ``monitor`` improves (``save_best_only``).

    Args:
        path: file to write; may contain "{epoch}" and metric names, e.g. "model-{epoch:02d}-{val_loss:.3f}.safetensors".
        monitor: metric for save_best_only (default "val_loss"). mode: "min", "max" or "auto".
        save_best_only: write only when the monitored metric improves (default False).
    """

    def __init__(self, path, monitor="val_loss", save_best_only=False, mode="auto"):
        self.path, self.monitor, self.save_best_only = str(path), monitor, save_best_only
        self.mode = resolve_mode(monitor, mode)
        self.improvement = Improvement(self.mode)

    @property
    def best(self):
        return self.improvement.best

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only and not self.improvement.update(monitored(self, logs)):
            return
        self.model.save(self.path.format(epoch=epoch, **logs))

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.improvement.best = state["best"]

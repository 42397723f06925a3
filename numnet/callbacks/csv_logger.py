"""CSVLogger: the metrics of every epoch in a CSV file."""

import csv

from .._files import atomic_write
from .base import Callback


class CSVLogger(Callback):
    """Write the metrics of every epoch to a CSV file (rewritten atomically after each epoch)."""

    def __init__(self, path):
        self.path = path
        self.rows = []

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **{k: float(v) for k, v in logs.items()}})
        columns = list(dict.fromkeys(k for row in self.rows for k in row))
        with atomic_write(self.path, "w") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)

    def state_dict(self):
        return {"rows": self.rows}

    def load_state_dict(self, state):
        self.rows = list(state["rows"])

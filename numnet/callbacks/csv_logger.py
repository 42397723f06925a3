"""CSVLogger: the metrics of every epoch in a CSV file."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, cast

from .._files import atomic_write
from .base import Callback


class CSVLogger(Callback):
    """Write the metrics of every epoch to a CSV file (rewritten atomically after each epoch)."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self.rows: List[Dict[str, Any]] = []

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        logs = cast(dict, logs)  # fit passes logs to every hook
        self.rows.append({"epoch": epoch, **{k: float(v) for k, v in logs.items()}})
        columns = list(dict.fromkeys(k for row in self.rows for k in row))
        with atomic_write(self.path, "w") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)

    def state_dict(self) -> Dict[str, Any]:
        return {"rows": self.rows}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rows = list(state["rows"])

"""ProgressBar: a tqdm bar per epoch with the running metrics, or one line per epoch."""

from __future__ import annotations

import sys
from typing import Optional, Union, cast

from tqdm.auto import tqdm

from .base import Callback


def _format(logs: Optional[dict]) -> str:
    logs = cast(dict, logs)  # fit passes logs to every hook
    return "  ".join(f"{k} {v:.4g}" if k == "lr" else f"{k} {v:.4f}" for k, v in logs.items())


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running metrics and time left (verbose=1), or one line per epoch (verbose=2)."""

    def __init__(self, verbose: int = 1) -> None:
        self.verbose = verbose
        self.bar: Optional[tqdm] = None

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        self.epochs: Union[int, str] = logs.get("epochs", "?") if logs else "?"
        self.batches: Optional[int] = logs.get("batches") if logs else None

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        self.prefix = f"Epoch {epoch}/{self.epochs}"
        if self.verbose == 1:
            self.bar = tqdm(total=self.batches, desc=self.prefix, unit="batch", dynamic_ncols=True,
                            initial=(logs or {}).get("resumed_batches", 0))

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(_format(logs), refresh=False)
            self.bar.update(1)

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(_format(logs))
            self.bar.close()
            self.bar = None
        elif self.verbose == 2:
            print(f"{self.prefix}  {_format(logs)}", file=sys.stdout, flush=True)

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        if self.bar is not None:  # stopped inside an epoch
            self.bar.close()
            self.bar = None

"""Training checkpoints: everything needed to continue a run exactly, in one atomically written tensor file,
and BackupAndRestore, the callback that writes them during fit and restores them on resume.

A checkpoint holds the model's state_dict ("model.<layer>.<key>") and the optimizer's state arrays
("optimizer.<layer>.<key>.<slot>"), with JSON in its header: the architecture, the optimizer's type,
step count and learning rate, and the loop's state (epoch and batch position, random generator
states, history, callback states). Because it is replaced by a rename, a crash while writing leaves
the previous checkpoint intact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional

from . import safe_json
from .callbacks import Callback
from .errors import CheckpointError
from .optimizers import Optimizer
from .serialization import architecture
from .tensorfile import read_tensor_file, write_tensor_file

CHECKPOINT_NAME = "checkpoint.safetensors"
FORMAT = "numnet-checkpoint"
#: the training state holds random generators' states, whose integers have up to 128 bits (39 digits)
GENERATOR_STATE_DIGITS = 40

__all__ = ["BackupAndRestore", "CheckpointError", "checkpoint_path", "save_checkpoint", "load_checkpoint", "read_checkpoint_state"]


def checkpoint_path(checkpoint_dir: str | Path) -> Path:
    return Path(checkpoint_dir) / CHECKPOINT_NAME


def save_checkpoint(checkpoint_dir: str | Path, model: Any, optimizer: Optimizer, state: Dict[str, Any]) -> None:
    """Write model, optimizer and the JSON-able training ``state`` to ``checkpoint_dir`` atomically."""
    tensors = {f"model.{name}": value for name, value in model.state_dict().items()}
    for name, slots in optimizer.state.items():
        for slot, value in slots.items():
            tensors[f"optimizer.{name}.{slot}"] = value
    header = {
        "format": FORMAT,
        "architecture": json.dumps(architecture(model.layers)),
        "optimizer": json.dumps({"type": type(optimizer).__name__, "iterations": optimizer.iterations, "lr": optimizer.lr}),
        "state": json.dumps(state),
    }
    write_tensor_file(checkpoint_path(checkpoint_dir), tensors, header)


def _read(path: Path) -> tuple:
    tensors, header = read_tensor_file(path, FORMAT, error=CheckpointError)
    try:
        saved_architecture = safe_json.loads(header["architecture"])
        saved_optimizer = safe_json.loads(header["optimizer"])
        state = safe_json.loads(header["state"], max_digits=GENERATOR_STATE_DIGITS)
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{path}: the checkpoint's header is not valid ({error})") from None
    if not isinstance(saved_optimizer, dict) or not isinstance(state, dict):
        raise CheckpointError(f"{path}: the checkpoint's header is not valid (its optimizer and state must be JSON objects)")
    return tensors, saved_architecture, saved_optimizer, state


def read_checkpoint_state(checkpoint_dir: str | Path) -> Optional[Dict[str, Any]]:
    """The training state saved in the checkpoint in ``checkpoint_dir`` (None if there is none), without
    restoring anything: what a caller checks before resuming."""
    path = checkpoint_path(checkpoint_dir)
    return _read(path)[3] if path.exists() else None


def load_checkpoint(checkpoint_dir: str | Path, model: Any, optimizer: Optimizer) -> Optional[Dict[str, Any]]:
    """Restore model and optimizer in place from ``checkpoint_dir``; return the training state (None if there is no checkpoint)."""
    path = checkpoint_path(checkpoint_dir)
    if not path.exists():
        return None
    tensors, saved_architecture, saved_optimizer, state = _read(path)
    if saved_architecture != json.loads(json.dumps(architecture(model.layers))):
        raise CheckpointError(f"{path}: the checkpoint was written for a different model architecture")
    if saved_optimizer.get("type") != type(optimizer).__name__:
        raise CheckpointError(
            f"{path}: the checkpoint holds a {saved_optimizer.get('type')} optimizer state; this run uses {type(optimizer).__name__}"
        )
    optimizer_state: Dict[str, Dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            name, slot = key[len("optimizer."):].rsplit(".", 1)
            optimizer_state.setdefault(name, {})[slot] = value
    weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    before = model.get_weights()
    try:  # a refused checkpoint leaves model and optimizer as they were
        model.load_state_dict(weights)
        optimizer.load_state_dict({"lr": saved_optimizer["lr"], "iterations": saved_optimizer["iterations"], "state": optimizer_state})
    except (KeyError, TypeError, ValueError) as error:
        model.load_state_dict(before)
        raise CheckpointError(f"{path}: {error}") from None
    return state


class BackupAndRestore(Callback):
    """Keep a checkpoint of the running fit in ``checkpoint_dir`` and, with ``resume=True``, continue from it.

    Saves after every ``save_every`` epochs, after the last one, when a callback stops training,
    and on Ctrl-C (then mid-epoch, with the batch position). ``fit(checkpoint_dir=..., resume=...)``
    installs it; it reads and restores the loop's state (``self.loop``, a training.LoopState).
    """

    def __init__(self, checkpoint_dir: str | Path, save_every: int = 1, resume: bool = False) -> None:
        self.checkpoint_dir, self.save_every, self.resume = Path(checkpoint_dir), save_every, resume

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        if not self.resume:
            return
        state = load_checkpoint(self.checkpoint_dir, self.model, self.optimizer)
        if state is None:
            return
        loop = self.loop
        if state["run"] != loop.run:
            raise CheckpointError(f"the checkpoint in {self.checkpoint_dir} belongs to a different run: {state['run']}, not {loop.run}")
        loop.epoch, loop.batches_done, loop.sums = state["epoch"], state["batches_done"], state["sums"]
        loop.initial_loss = state.get("initial_loss")  # absent from checkpoints written before the growth rule
        loop.epoch_rng_state = state["epoch_rng_state"]
        loop.augment_rng.bit_generator.state = state["augment_rng"]
        for index, generator_state in state["layer_rngs"].items():
            loop.layer_rngs[index].bit_generator.state = generator_state
        loop.history.history, loop.history.epoch = state["history"], state["history_epochs"]
        for callback, callback_state in zip(loop.callbacks, state["callbacks"]):
            callback.load_state_dict(callback_state)

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        loop = self.loop
        if epoch % self.save_every == 0 or epoch == loop.run["epochs"] or self.model.stop_training or loop.stop_requested:
            self._save(epoch + 1, 0, None)

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        loop = self.loop
        if loop.stop_requested and loop.batches_done and not loop.diverged:  # Ctrl-C inside an epoch
            self._save(loop.epoch, loop.batches_done, loop.sums)

    def _save(self, epoch: int, batches_done: int, sums: Optional[dict]) -> None:
        loop = self.loop
        save_checkpoint(self.checkpoint_dir, self.model, self.optimizer, {
            "run": loop.run, "epoch": epoch, "batches_done": batches_done, "epoch_rng_state": loop.epoch_rng_state,
            "sums": sums, "initial_loss": loop.initial_loss, "augment_rng": loop.augment_rng.bit_generator.state,
            "layer_rngs": {i: g.bit_generator.state for i, g in loop.layer_rngs.items()},
            "history": loop.history.history, "history_epochs": loop.history.epoch,
            "callbacks": [callback.state_dict() for callback in loop.callbacks],
        })

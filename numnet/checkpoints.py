"""Training checkpoints: everything needed to continue a run exactly, in one atomically written file.

A checkpoint is a safetensors file (no pickle) holding the model's parameters and buffers
("model.<layer>.<key>") and the optimizer's state arrays ("optimizer.<layer>.<key>.<slot>"), with
JSON in its metadata: the architecture, the optimizer's type, step count and learning rate, and the
training state (epoch and batch position, random generator states, history, callback states).
Because it is replaced by a rename, a crash while writing leaves the previous checkpoint intact.
"""

import json
from pathlib import Path

from .serialization import checked_assignments, model_tensors, read_tensor_file, write_tensor_file

CHECKPOINT_NAME = "checkpoint.safetensors"
FORMAT = "numnet-checkpoint"


class CheckpointError(ValueError):
    """A checkpoint is unreadable or belongs to another model, optimizer or run."""


def checkpoint_path(checkpoint_dir):
    return Path(checkpoint_dir) / CHECKPOINT_NAME


def save_checkpoint(checkpoint_dir, model, optimizer, state):
    """Write model, optimizer and the JSON-able training ``state`` to ``checkpoint_dir`` atomically."""
    architecture, tensors = model_tensors(model)
    tensors = {f"model.{name}": value for name, value in tensors.items()}
    for name, slots in optimizer.state.items():
        for slot, value in slots.items():
            tensors[f"optimizer.{name}.{slot}"] = value
    header = {
        "format": FORMAT,
        "format_version": "1",
        "architecture": json.dumps(architecture),
        "optimizer": json.dumps({"type": type(optimizer).__name__, "iterations": optimizer.iterations, "lr": optimizer.lr}),
        "state": json.dumps(state),
    }
    write_tensor_file(checkpoint_path(checkpoint_dir), tensors, header)


def load_checkpoint(checkpoint_dir, model, optimizer):
    """Restore model and optimizer in place from ``checkpoint_dir``; return the training state (None if there is no checkpoint)."""
    path = checkpoint_path(checkpoint_dir)
    if not path.exists():
        return None
    tensors, header = read_tensor_file(path, FORMAT, error=CheckpointError)
    architecture, _ = model_tensors(model)
    if json.loads(header["architecture"]) != json.loads(json.dumps(architecture)):
        raise CheckpointError(f"{path}: the checkpoint was written for a different model architecture")
    saved_optimizer = json.loads(header["optimizer"])
    if saved_optimizer["type"] != type(optimizer).__name__:
        raise CheckpointError(
            f"{path}: the checkpoint holds a {saved_optimizer['type']} optimizer state; this run uses {type(optimizer).__name__}"
        )
    optimizer_state = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            name, slot = key[len("optimizer."):].rsplit(".", 1)
            optimizer_state.setdefault(name, {})[slot] = value
    try:  # every part is checked before anything changes: a refused checkpoint leaves model and optimizer alone
        weights = checked_assignments(model.layers, {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
        optimizer.load_state_dict({"lr": saved_optimizer["lr"], "iterations": saved_optimizer["iterations"], "state": optimizer_state})
    except ValueError as error:
        raise CheckpointError(f"{path}: {error}") from None
    for array, tensor in weights:
        array[...] = tensor
    return json.loads(header["state"])

"""Callbacks: code that ``fit`` calls at fixed points of training, with Keras's hook names (see base.py)."""

from .base import Callback, CallbackList
from .csv_logger import CSVLogger
from .diagnostics import Diagnostics
from .early_stopping import EarlyStopping
from .lr_scheduler import LearningRateScheduler
from .model_checkpoint import ModelCheckpoint
from .progress import ProgressBar

__all__ = ["Callback", "CallbackList", "CSVLogger", "Diagnostics", "EarlyStopping", "LearningRateScheduler",
           "ModelCheckpoint", "ProgressBar"]

"""numnet's own exceptions, each a ValueError so that callers catching bad input catch these too."""


class DatasetError(ValueError):
    """A data file is missing, truncated, corrupted or cannot be fetched."""


class ModelFormatError(ValueError):
    """A model file is truncated, corrupted, tampered with, or describes something numnet does not build."""


class CheckpointError(ValueError):
    """A checkpoint is unreadable or belongs to another model, optimizer or run."""

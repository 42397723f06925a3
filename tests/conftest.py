"""Fixtures shared by the test modules."""

import os
from pathlib import Path

import pytest

import numnet


@pytest.fixture(scope="session")
def subprocess_env():
    """The environment for a child Python process that must import the numnet under test (this checkout's,
    not whichever one is installed): its folder goes first on PYTHONPATH."""
    root = str(Path(numnet.__file__).resolve().parent.parent)
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}

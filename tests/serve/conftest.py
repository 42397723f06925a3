"""Shared fixtures of the web app's tests: one small trained run, and the app on top of it."""

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from numnet.runs import TrainConfig, train  # noqa: E402


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory):
    """A runs folder holding one real run: a 784-64-10 network trained for 3 epochs (about 92 % accurate)."""
    root = tmp_path_factory.mktemp("runs")
    train(TrainConfig(hidden=(64,), epochs=3, out=str(root / "small"), verbose=0))
    return root


@pytest.fixture(scope="session")
def model_path(runs_dir):
    return runs_dir / "small" / "model.safetensors"

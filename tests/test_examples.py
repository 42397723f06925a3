"""The texts' worked examples, reproduced exactly, and the example scripts run as a user runs them."""

import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def examples():
    sys.path.insert(0, str(EXAMPLES))
    yield {name: runpy.run_path(str(EXAMPLES / f"{name}.py")) for name in ("neuron", "gender", "xor", "logic_gates")}
    sys.path.remove(str(EXAMPLES))


def test_one_sigmoid_neuron(examples):
    assert examples["neuron"]["neuron_output"]() == pytest.approx(0.9990889488055994, abs=1e-12)


def test_two_two_one_network(examples):
    assert examples["neuron"]["network_output"]() == pytest.approx(0.7216325609518421, abs=1e-12)


def test_mse(examples):
    assert examples["neuron"]["mse_example"]() == pytest.approx(0.5, abs=1e-15)


def test_gender_chain_of_numbers_and_training(examples):
    from numnet.datasets import gender

    ex = examples["gender"]
    x, y = gender()
    model = ex["build_network"]()
    h1, y_pred, dL_dw1 = ex["chain_of_numbers"](model, x[:1], y[:1])
    assert round(h1, 4) == 0.0474 and round(y_pred, 3) == 0.524 and round(dL_dw1, 4) == 0.0215
    lines = []
    ex["train"](model, x, y, print_fn=lines.append)
    assert len(lines) == 100 and lines[0].startswith("Epoch   10 loss:")
    emily, frank = model.predict(np.array([[-7, -3], [20, 2]]))[:, 0]
    assert emily > 0.9 and frank < 0.1


def test_xor_with_a_plain_loop_over_layers(examples):
    ex = examples["xor"]
    network = ex["train_xor"]()
    from numnet.datasets import xor

    x, y = xor()
    np.testing.assert_array_equal(ex["predict"](network, x) > 0.5, y > 0.5)


@pytest.mark.parametrize("gate", ["and", "or", "nand"])
def test_logic_gates(examples, gate):
    from numnet.datasets import logic_gate

    x, y = logic_gate(gate)
    model = examples["logic_gates"]["train_gate"](gate)
    np.testing.assert_array_equal(model.predict(x) > 0.5, y > 0.5)


@pytest.mark.parametrize("script", ["neuron.py", "gender.py", "xor.py", "logic_gates.py"])
def test_scripts_run(script):
    done = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_mnist_cnn_example_trains():
    namespace = runpy.run_path(str(EXAMPLES / "mnist_cnn.py"))
    model, results = namespace["main"](epochs=1)
    assert model.input_shape == (1, 28, 28) and results["accuracy"] > 0.85

"""The texts' worked examples, reproduced exactly, and the example scripts run as a user runs them.

The scripts' printed numbers are parsed and checked: against formulas worked out here where the
numbers are exact, and against the values the scripts are known to print where they come from training
(each checked by reason: XOR's outputs near 0 and 1 in the right places, and so on).
"""

import math
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from numnet.datasets import gender, logic_gate, xor

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def sigmoid(t):
    return 1 / (1 + math.exp(-t))


def run_script(name, env):
    """Run examples/<name> as `python examples/<name>` and return its standard output."""
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def examples():
    sys.path.insert(0, str(EXAMPLES))
    yield {name: runpy.run_path(str(EXAMPLES / f"{name}.py")) for name in ("neuron", "gender", "xor", "logic_gates")}
    sys.path.remove(str(EXAMPLES))


def test_one_sigmoid_neuron(examples):
    # w = [0, 1], b = 4, x = [2, 3]: σ(0·2 + 1·3 + 4) = σ(7)
    assert examples["neuron"]["neuron_output"]() == pytest.approx(sigmoid(7), rel=1e-15)
    assert sigmoid(7) == pytest.approx(0.9990889488055994, rel=1e-15)


def test_two_two_one_network(examples):
    # every neuron w = [0, 1], b = 0: h1 = h2 = σ(3), o = σ(0·h1 + 1·h2) = σ(σ(3))
    assert examples["neuron"]["network_output"]() == pytest.approx(sigmoid(sigmoid(3)), rel=1e-15)
    assert sigmoid(sigmoid(3)) == pytest.approx(0.7216325609518421, rel=1e-15)


def test_mse(examples):
    # ((1 − 0)² + 0 + 0 + (1 − 0)²) / 4 = 0.5
    assert examples["neuron"]["mse_example"]() == pytest.approx(0.5, abs=1e-15)


def test_neuron_script_prints_the_three_numbers(subprocess_env):
    out = run_script("neuron.py", subprocess_env)
    printed = dict(re.findall(r"^(.+?):\s+(\S+)$", out, re.MULTILINE))
    assert set(printed) == {"one neuron", "2-2-1 network", "MSE"}, out
    assert float(printed["one neuron"]) == pytest.approx(sigmoid(7), rel=1e-15)
    assert float(printed["2-2-1 network"]) == pytest.approx(sigmoid(sigmoid(3)), rel=1e-15)
    assert float(printed["MSE"]) == 0.5


def gender_chain_by_hand():
    """Alice, x = [−2, −1], y = 1, all weights 1, biases 0, L = (ŷ − y)²:
    h1 = σ(−2 − 1) = σ(−3);  ŷ = σ(h1 + h2) = σ(2 h1);
    ∂L/∂w1 = 2(ŷ − y) · ŷ(1 − ŷ) · w5 · h1(1 − h1) · x1   (w5 = 1: the weight from h1 to the output)."""
    h1 = sigmoid(-3)
    y_pred = sigmoid(2 * h1)
    return h1, y_pred, 2 * (y_pred - 1) * y_pred * (1 - y_pred) * 1 * h1 * (1 - h1) * -2


def test_gender_chain_of_numbers_and_training(examples):
    ex = examples["gender"]
    x, y = gender()
    model = ex["build_network"]()
    h1, y_pred, dL_dw1 = ex["chain_of_numbers"](model, x[:1], y[:1])
    np.testing.assert_allclose([h1, y_pred, dL_dw1], gender_chain_by_hand(), rtol=1e-12)
    assert round(h1, 4) == 0.0474 and round(y_pred, 3) == 0.524 and round(dL_dw1, 4) == 0.0215  # the texts' figures
    lines = []
    ex["train"](model, x, y, print_fn=lines.append)
    assert len(lines) == 100 and lines[0].startswith("Epoch   10 loss:")
    emily, frank = model.predict(np.array([[-7, -3], [20, 2]]))[:, 0]
    assert emily > 0.9 and frank < 0.1


def test_gender_script_prints_the_chain_the_losses_and_the_predictions(subprocess_env):
    out = run_script("gender.py", subprocess_env).splitlines()
    h1, y_pred, dL_dw1 = gender_chain_by_hand()
    assert out[0] == f"Alice alone: h1 = {h1:.4f}, y_pred = {y_pred:.3f}, dL/dw1 = {dL_dw1:.4f}"
    assert out[0] == "Alice alone: h1 = 0.0474, y_pred = 0.524, dL/dw1 = 0.0215"
    epochs, losses = zip(*[(int(e), float(v)) for e, v in (re.fullmatch(r"Epoch +(\d+) loss: (\S+)", line).groups()
                                                           for line in out[1:101])])
    assert list(epochs) == list(range(10, 1001, 10))
    # per-sample SGD from all-ones weights: the loss on the four people falls from 0.4067 to 0.0024 (these
    # figures move by less than 0.001 with the shuffling seed)
    assert losses[0] == pytest.approx(0.4067, abs=0.002) and losses[-1] == pytest.approx(0.0024, abs=0.0002)
    assert all(later <= earlier for earlier, later in zip(losses, losses[1:]))
    # Emily, light and short, is female (1); Frank, heavy and tall, is male (0)
    predictions = dict(re.fullmatch(r"(\w+): (\S+)  \(1 = female\)", line).groups() for line in out[101:])
    assert set(predictions) == {"Emily", "Frank"}
    assert float(predictions["Emily"]) == pytest.approx(0.947, abs=0.002)
    assert float(predictions["Frank"]) == pytest.approx(0.040, abs=0.002)


def test_xor_with_a_plain_loop_over_layers(examples):
    ex = examples["xor"]
    network = ex["train_xor"]()
    x, y = xor()
    np.testing.assert_array_equal(ex["predict"](network, x) > 0.5, y > 0.5)


def test_xor_script_prints_a_falling_error_and_the_right_outputs(subprocess_env):
    out = run_script("xor.py", subprocess_env).splitlines()
    errors = [re.fullmatch(r"epoch +(\d+)  error (\S+)", line).groups() for line in out[:10]]
    assert [int(epoch) for epoch, _ in errors] == list(range(100, 1001, 100))
    errors = [float(error) for _, error in errors]
    assert all(later < earlier for earlier, later in zip(errors, errors[1:]))
    assert errors[0] == pytest.approx(0.199213, rel=1e-3) and errors[-1] == pytest.approx(0.000245, rel=1e-2)
    outputs = {}
    for line in out[10:]:
        a, b, output = re.fullmatch(r"\[(\S+) (\S+)\] -> +(\S+)", line).groups()
        outputs[(float(a), float(b))] = float(output)
    # XOR: 0 for equal inputs, 1 for different ones; a tanh output reaches within a few hundredths
    expected = {(0, 0): 0.001, (0, 1): 0.978, (1, 0): 0.977, (1, 1): -0.001}
    assert outputs.keys() == expected.keys()
    for inputs, value in expected.items():
        assert outputs[inputs] == pytest.approx(value, abs=0.002), inputs
        assert abs(outputs[inputs] - (inputs[0] != inputs[1])) < 0.03, inputs


@pytest.mark.parametrize("gate", ["and", "or", "nand"])
def test_logic_gates(examples, gate):
    x, y = logic_gate(gate)
    model = examples["logic_gates"]["train_gate"](gate)
    np.testing.assert_array_equal(model.predict(x) > 0.5, y > 0.5)


def test_logic_gates_script_prints_each_gate_s_truth_table(subprocess_env):
    printed = {}
    for line in run_script("logic_gates.py", subprocess_env).splitlines():
        gate, *cells = line.split()
        printed[gate] = {cell.split("->")[0]: float(cell.split("->")[1]) for cell in cells}
    # one sigmoid neuron per gate, 500 full-batch steps: within about 0.06 of each truth table
    expected = {
        "AND": {"00": 0.00, "01": 0.04, "10": 0.04, "11": 0.94},
        "OR": {"00": 0.04, "01": 0.98, "10": 0.98, "11": 1.00},
        "NAND": {"00": 1.00, "01": 0.96, "10": 0.96, "11": 0.06},
    }
    assert printed.keys() == expected.keys()
    for gate, table in expected.items():
        x, y = logic_gate(gate)
        truth = {f"{a:.0f}{b:.0f}": target for (a, b), target in zip(x, y[:, 0])}
        assert printed[gate].keys() == table.keys() == truth.keys()
        for inputs, value in table.items():
            assert printed[gate][inputs] == pytest.approx(value, abs=0.011), (gate, inputs)
            assert abs(printed[gate][inputs] - truth[inputs]) < 0.1, (gate, inputs)


def run_mnist_cnn_example(capsys, **kwargs):
    namespace = runpy.run_path(str(EXAMPLES / "mnist_cnn.py"))
    model, results = namespace["main"](**kwargs)
    out = capsys.readouterr().out
    assert model.input_shape == (1, 28, 28)
    assert "Total params: 206,922" in out  # conv 160 + 4,640, dense 200,832 + 1,290
    printed = float(re.search(r"^test accuracy: (\S+)%$", out, re.MULTILINE).group(1))
    assert printed == pytest.approx(100 * results["accuracy"], abs=0.005)
    return results


@pytest.mark.slow
def test_mnist_cnn_example_trains_one_epoch(capsys):
    results = run_mnist_cnn_example(capsys, epochs=1)
    assert results["accuracy"] > 0.90  # one epoch reaches about 94.5 %


@pytest.mark.slow
def test_mnist_cnn_example_reaches_its_stated_accuracy(capsys):
    # the script states 98.50 % after its default 15 epochs
    results = run_mnist_cnn_example(capsys)
    assert results["accuracy"] >= 0.980


def test_min_char_rnn_reaches_its_stated_loss(subprocess_env):
    # the script states: the smoothed loss falls from ln 27 = 3.30 to below 1.9 in 1,000 steps, validation below 2.0.
    # One BLAS thread, as docs/sequences.md advises: on matrices this small a second thread gains little, and on a
    # busy machine threads that wait for each other spin, many times slower
    out = run_script("min_char_rnn.py", {**subprocess_env, "OPENBLAS_NUM_THREADS": "1"})
    steps = [(int(step), float(loss)) for step, loss in re.findall(r"^step\s+(\d+)  loss (\S+)$", out, re.MULTILINE)]
    assert [step for step, _ in steps] == list(range(100, 1001, 100)), out
    losses = [loss for _, loss in steps]
    assert math.log(27) > losses[0] and all(a > b for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] < 1.9
    validation = float(re.search(r"^validation loss (\S+) nats/character$", out, re.MULTILINE).group(1))
    assert validation < 2.0
    samples = re.search(r"^samples: (.*)$", out, re.MULTILINE).group(1).split(" ")
    assert len(samples) == 10 and all(re.fullmatch("[a-z]+", name) for name in samples), samples


def test_min_char_rnn_loss_is_numnets_cross_entropy():
    from numnet.losses import CrossEntropy

    cross_entropy = runpy.run_path(str(EXAMPLES / "min_char_rnn.py"))["cross_entropy"]
    rng = np.random.default_rng(0)
    scores, targets = rng.normal(size=(3, 4, 5)), rng.integers(0, 5, size=(3, 4))
    targets[1, 2:] = -100  # padding
    loss, grad = cross_entropy(scores.copy(), targets)
    expected, expected_grad = CrossEntropy(ignore_index=-100).value_and_gradient(targets, scores)
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)

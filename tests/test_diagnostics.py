import csv

import numpy as np
import pytest

from numnet import Sequential
from numnet.callbacks import Diagnostics as ExportedDiagnostics
from numnet.datasets import load_digits_sample
from numnet.callbacks.diagnostics import Diagnostics, dead_fraction, saturated_fraction
from numnet.layers import Dense, Flatten, Sigmoid, Tanh
from numnet.losses import CrossEntropy
from numnet.optimizers import SGD, Adam
from numnet.runs import TrainConfig, as_model_input, build_mlp, train


@pytest.fixture(scope="module")
def digits():
    """1,000 scaled training digits: enough for two short epochs per broken network."""
    (x, y), _ = load_digits_sample()
    return as_model_input(build_mlp(), x[:1000]), y[:1000]


def diagnose(model, x, y, optimizer, epochs=2, folder=None):
    diagnostics = Diagnostics(x[:200], folder=folder, print_fn=None)
    try:
        model.fit(x, y, loss=CrossEntropy(), optimizer=optimizer, epochs=epochs, batch_size=50, seed=0, verbose=0,
                  callbacks=[diagnostics])
    except FloatingPointError:  # a diverging run stops early; the diagnostics still see its steps
        pass
    return diagnostics, [finding.rule for finding in diagnostics.findings]


def test_silent_on_a_short_default_digit_run(digits, tmp_path):
    diagnostics, rules = diagnose(build_mlp(), *digits, Adam(1e-3), folder=tmp_path)
    assert rules == []
    assert "no problems found" in (tmp_path / "diagnostics.txt").read_text()


def test_records_every_layer_every_epoch_and_writes_the_files(digits, tmp_path):
    model = build_mlp((32, 16))
    diagnostics, _ = diagnose(model, *digits, Adam(1e-3), folder=tmp_path)
    assert len(diagnostics.rows) == 3 * len(model.layers)  # epochs 0 (before training), 1 and 2
    by_key = {(row["epoch"], row["layer"]): row for row in diagnostics.rows}
    assert by_key[(0, 1)]["gradient_norm"] is None  # nothing measured before training
    first = by_key[(2, 1)]
    assert first["kind"] == "Dense" and first["gradient_norm"] > 0 and 1e-5 < first["update_ratio"] < 0.1
    assert 0 <= by_key[(2, 2)]["dead_fraction"] <= 1 and by_key[(2, 2)]["saturated_fraction"] is None
    with open(tmp_path / "diagnostics.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == len(diagnostics.rows) and rows[0]["epoch"] == "0"
    assert float(rows[-1]["activation_std"]) == pytest.approx(diagnostics.rows[-1]["activation_std"], rel=1e-5)
    assert (tmp_path / "diagnostics.png").stat().st_size > 10_000
    assert diagnostics.files == [tmp_path / name for name in ("diagnostics.csv", "diagnostics.txt", "diagnostics.png")]


def test_unscaled_inputs(digits):
    x, y = digits
    diagnostics, rules = diagnose(build_mlp(), x * 255, y, Adam(1e-3))
    assert rules[0] == "inputs not scaled"
    assert "divide pixels by 255" in str(diagnostics.findings[0])


def test_dead_relus_from_a_large_negative_bias(digits):
    model = build_mlp((64, 32))
    model.layers[1].bias[...] = -10
    diagnostics, rules = diagnose(model, *digits, Adam(1e-3))
    assert "dead ReLUs" in rules
    finding = diagnostics.findings[rules.index("dead ReLUs")]
    assert finding.layer == 2 and "100% of the units of layer 2" in finding.message
    assert "learning rate too low" not in rules  # no gradient at all is not a small step


def test_learning_rate_far_too_high(digits):
    for optimizer in (SGD(10), Adam(10)):
        diagnostics, rules = diagnose(build_mlp((64, 32)), *digits, optimizer)
        assert rules[0] == "learning rate too high"
        assert "lr=10 now" in str(diagnostics.findings[0])


def test_learning_rate_far_too_low(digits):
    _, rules = diagnose(build_mlp((64, 32)), *digits, SGD(1e-7))
    assert rules == ["learning rate too low"]


def test_vanishing_gradients_in_a_deep_sigmoid_network(digits):
    rng = np.random.default_rng(0)
    layers, width = [Flatten()], 784
    for _ in range(8):
        layers += [Dense(width, 32, rng=rng), Sigmoid()]
        width = 32
    model = Sequential(layers + [Dense(32, 10, rng=rng)], input_shape=(28, 28))
    diagnostics, rules = diagnose(model, *digits, SGD(0.1))
    assert rules == ["vanishing gradients"]
    assert diagnostics.findings[0].layer == 1


def test_exploding_gradients_behind_oversized_weights(digits):
    # a layer of tiny weights followed by a layer of huge ones: the logits look normal, but the
    # gradient flowing back is multiplied by the huge weights before it reaches layer 1
    model = build_mlp((64, 32))
    model.layers[4].weight[...] *= 1e-4
    model.layers[7].weight[...] *= 1e4
    _, rules = diagnose(model, *digits, SGD(1e-4))
    assert "exploding gradients" in rules


def test_saturated_tanh_units(digits):
    x, y = digits
    model = Sequential([Flatten(), Dense(784, 64, rng=0), Tanh(), Dense(64, 10, rng=1)], input_shape=(28, 28))
    _, rules = diagnose(model, x * 255, y, Adam(1e-3))
    assert rules == ["inputs not scaled", "saturated units"]


def test_unit_statistics():
    relu = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])
    assert dead_fraction(relu) == pytest.approx(1 / 3)
    maps = np.zeros((2, 4, 3, 3))
    maps[1, 0, 2, 2] = 1.0  # channel 0 fires once: alive; channels 1-3 never
    assert dead_fraction(maps) == pytest.approx(3 / 4)
    assert saturated_fraction(Sigmoid(), np.array([[0.001, 0.5, 0.999, 0.2]])) == pytest.approx(0.5)
    assert saturated_fraction(Tanh(), np.array([[0.99, -0.999, 0.0, 0.5]])) == pytest.approx(0.5)


def test_errors_and_export():
    assert ExportedDiagnostics is Diagnostics
    with pytest.raises(ValueError, match=r"probe must be a non-empty batch of inputs \(N, \.\.\.\)"):
        Diagnostics(np.zeros(5))
    with pytest.raises(ValueError, match="batches_per_epoch must be a positive integer. Received: 0"):
        Diagnostics(np.zeros((2, 5)), batches_per_epoch=0)


def test_report_is_printed_at_the_end(digits):
    lines = []
    diagnostics = Diagnostics(digits[0][:100], print_fn=lines.append)
    build_mlp((16,)).fit(*digits, loss=CrossEntropy(), optimizer=Adam(1e-3), epochs=1, verbose=0, callbacks=[diagnostics])
    assert lines == [diagnostics.report()] and lines[0].startswith("Diagnostics: no problems found")


@pytest.mark.slow
def test_silent_on_the_full_default_run(tmp_path):
    result = train(TrainConfig(out=str(tmp_path), verbose=0, diagnose=True))
    assert (tmp_path / "diagnostics.txt").read_text().startswith("Diagnostics: no problems found")
    assert result.test_accuracy >= 0.95

"""The benchmark suite runs end to end (a smoke test: tiny data, one timed epoch, no timing asserted)."""

import importlib.util
import os
from pathlib import Path

import pytest

FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="the benchmarks compare with PyTorch")
@pytest.mark.skipif(not os.path.isdir(FASHION), reason="the benchmarks use Debian's dataset-fashion-mnist")
def test_benchmark_suite_writes_its_report(tmp_path):
    import numpy as np
    import torch

    from benchmarks.run import main

    report = tmp_path / "benchmarks.md"
    results = main(["--threads", "1", "--repeats", "1", "--samples", "512", "--cases", "headline", "--no-sklearn",
                    "--no-memory", "--seeds", "2", "--output", str(report)])
    rows = results["rows"]
    text = report.read_text()
    assert "Machine: " in text and "float32 matmul peak measured" in text and "single sample, warm, µs" in text
    machine = next(line for line in text.splitlines() if line.startswith("Machine: "))
    assert f"NumPy {np.__version__} with " in machine and f"PyTorch {torch.__version__}" in machine
    cpuinfo = Path("/proc/cpuinfo")  # a VM may name only the CPU's line ("AMD EPYC"): its family and model are given
    assert "(CPU family " in machine or not (cpuinfo.exists() and "cpu family" in cpuinfo.read_text())
    assert "single sample, cold, µs" in text and "## Test accuracy over 2 seeds (2 epochs, 1 thread)" in text
    assert set(results["seed_accuracy"]) == {row["case"] for row in rows[1]}
    for accuracies in results["seed_accuracy"].values():
        assert len(accuracies["numnet"]) == len(accuracies["PyTorch"]) == 2
        assert all(0 < a <= 1 for a in accuracies["numnet"] + accuracies["PyTorch"])
        # same weights and order per seed: the frameworks agree seed by seed, and the seeds differ
        assert max(abs(a - b) for a, b in zip(accuracies["numnet"], accuracies["PyTorch"])) < 0.01
        assert accuracies["numnet"][0] != accuracies["numnet"][1]
    cases = {row["case"] for row in rows[1]}
    assert "LeNet-like CNN Adam, batch 64" in cases and "MLP 784-128-10 SGD, batch 64" in cases
    for row in rows[1]:
        assert row["seconds"] > 0 and 0 < row["accuracy"] <= 1
        assert (row["matmul_floor"] is None) == row["case"].startswith("LeNet")  # measured for the MLPs
        assert row["matmul_floor"] is None or row["matmul_floor"] > 0
        # numnet's epoch is timed inside fit: the rest of the call is measured apart, and is positive
        assert (row["fit_setup_seconds"] is None) == (row["framework"] != "numnet")
        assert row["fit_setup_seconds"] is None or row["fit_setup_seconds"] > 0
    assert "× matmul floor" in text and "numnet's epochs are timed inside `fit`" in text
    numnet_row = next(row for row in rows[1] if row["framework"] == "numnet" and row["matmul_floor"])
    assert len(numnet_row["epoch_seconds"]) == len(numnet_row["floor_epoch_seconds"]) == 1
    # same initial weights and batch order: numnet and PyTorch end within a hair of each other
    by_case = {}
    for row in rows[1]:
        by_case.setdefault(row["case"], {})[row["framework"]] = row["accuracy"]
    for case, accuracy in by_case.items():
        assert abs(accuracy["numnet"] - accuracy["PyTorch"]) < 0.01, case


def test_benchmark_arguments_are_checked(capsys):
    from benchmarks.run import main

    for argv, message in ((["--seeds", "-1"], "--seeds must be at least 0. Received: -1"),
                          (["--repeats", "0"], "--repeats must be at least 1. Received: 0"),
                          (["--threads", "0"], "--threads must be at least 1. Received: [0]")):
        with pytest.raises(SystemExit):
            main(argv)
        assert message in capsys.readouterr().err


def test_ratios_show_how_far_single_epochs_moved():
    from benchmarks.run import _with_range, ratio_range

    assert ratio_range([1.0, 3.0, 2.0], [2.0, 2.0, 2.0]) == (0.5, 1.5)
    assert _with_range(0.66, [1.3, 1.4, 1.2], [2.0, 2.0, 2.0], bold=True) == "**0.66** (0.60–0.70)"
    assert _with_range(1.5, [1.0], [0.7]) == "1.50"  # one timed epoch: no range to show


def test_sklearn_search_benchmark_runs_both_estimators_on_the_same_grid():
    pytest.importorskip("sklearn")
    from benchmarks.sklearn_search import HIDDEN, LEARNING_RATES, report, run

    results = run(epochs=1, repeats=1, folds=2)
    rows = results["rows"]
    assert [row["estimator"] for row in rows] == [
        "numnet NumnetClassifier (float64)", "numnet NumnetClassifier (float32 X)", "scikit-learn MLPClassifier"]
    for row in rows:
        assert len(row["scores"]) == len(HIDDEN) * len(LEARNING_RATES) and 0 < row["best_score"] <= 1
        assert set(row["best_params"]) == {"hidden_layer_sizes", "learning_rate"} and row["seconds"] > 0
    assert "| scikit-learn MLPClassifier | " in report(results)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="the benchmarks compare with PyTorch")
def test_sequence_benchmark_runs_and_the_frameworks_agree(capsys):
    # a smoke test: one round of one step per case, no timing asserted; check_agreement (run first by
    # benchmark_case) has compared outputs and every parameter gradient with PyTorch's
    from benchmarks.sequences import CASES, main

    results = main(["--rounds", "1", "--steps", "1"])
    assert set(results) == {case.name for case in CASES}
    for row in results.values():
        assert row["numnet_ms"] > 0 and row["torch_ms"] > 0 and row["low"] <= row["ratio"] <= row["high"]
    out = capsys.readouterr().out
    assert "| case (forward + backward + Adam, 1 thread) |" in out and "Medians over 1 round of 1 training step per framework" in out


def test_sequence_benchmark_arguments_are_checked(capsys):
    from benchmarks.sequences import main

    with pytest.raises(SystemExit):
        main(["--rounds", "0"])
    assert "--rounds must be at least 1. Received: 0" in capsys.readouterr().err


def test_file_benchmark_runs_end_to_end():
    from benchmarks.files import main

    lines = main(["--layers", "10", "--idx-mib", "1", "--bomb-mib", "16"])
    assert lines[0].startswith("numnet.load, 10 layers (") and " s" in lines[0]
    assert "read_idx, 1 MiB of int32" in lines[1] and "read_idx, 1 MiB of int32" in lines[2]
    assert "gzip claiming 281 TB: refused in" in lines[3]

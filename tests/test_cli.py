"""The numnet command end to end, in temporary folders."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from numnet import Sequential
from numnet.cli import main
from numnet.datasets import load_digits_sample
from numnet.layers import Dense

PICTURES = ["curves.png", "confusion_matrix.png", "misclassified.png", "first_layer_weights.png"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short training run shared by the tests that need a model."""
    folder = tmp_path_factory.mktemp("run")
    assert main(["train", "--epochs", "3", "--hidden", "64", "--out", str(folder), "--quiet"]) == 0
    return folder


def test_default_train_reaches_95_percent_and_writes_the_run_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = subprocess.run([sys.executable, "-m", "numnet", "train", "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    accuracy = float(done.stdout.split("Test accuracy: ")[1].split("%")[0])
    assert accuracy >= 95.0
    (folder,) = (tmp_path / "runs").iterdir()
    for name in ["model.safetensors", "history.csv", "config.json", *PICTURES]:
        assert (folder / name).stat().st_size > 0, name
    with open(folder / "history.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 20 and set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}


def test_augmented_recipe_of_the_readme_reaches_96_5_percent(tmp_path, capsys):
    argv = ["train", "--augment", "--schedule", "cosine", "--epochs", "30", "--out", str(tmp_path), "--quiet"]
    assert main(argv) == 0
    accuracy = float(capsys.readouterr().out.split("Test accuracy: ")[1].split("%")[0])
    assert accuracy >= 96.5


def test_training_options_and_resume(tmp_path, capsys):
    folder = tmp_path / "run"
    argv = ["train", "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--weight-decay", "1e-4", "--schedule", "step",
            "--early-stopping", "5", "--augment", "--epochs", "3", "--hidden", "32", "--dropout", "0", "--quiet"]
    assert main([*argv, "--resume", str(folder)]) == 0  # a new run folder: starts fresh
    first = capsys.readouterr().out
    assert "Resuming" not in first and (folder / "checkpoints" / "checkpoint.safetensors").exists()
    with open(folder / "history.csv") as file:
        assert next(csv.reader(file)) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert main(["train", "--resume", str(folder), "--quiet"]) == 0  # finished: picks up the saved settings
    second = capsys.readouterr().out
    assert "Resuming the run" in second
    assert first.split("Test accuracy: ")[1].split("\n")[0] == second.split("Test accuracy: ")[1].split("\n")[0]


def test_cnn_default_reaches_98_percent_and_shows_filters_and_feature_maps(tmp_path, capsys):
    assert main(["train", "--model", "cnn", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert float(out.split("Test accuracy: ")[1].split("%")[0]) >= 98.0
    for name in ("first_layer_filters.png", "feature_maps.png", "curves.png", "misclassified.png"):
        with Image.open(tmp_path / name) as image:
            assert image.format == "PNG"
    digit = tmp_path / "digit.png"
    _, (x_test, y_test) = load_digits_sample()
    Image.fromarray(255 - np.kron(np.pad(x_test[3], 6), np.ones((8, 8), dtype=np.uint8))).save(digit)
    assert main(["predict", str(tmp_path / "model.safetensors"), str(digit), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["prediction"] == str(y_test[3])
    assert main(["summary", str(tmp_path / "model.safetensors")]) == 0
    assert "Conv2D(in_channels=1, out_channels=16" in capsys.readouterr().out


def test_run_folder_pictures_are_real_pngs(trained):
    for name in PICTURES:
        with Image.open(trained / name) as image:
            assert image.format == "PNG" and image.size[0] > 300


def test_progress_bar_shows_loss_and_accuracy(tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--hidden", "16", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "Epoch 1/1" in err and "loss" in err and "accuracy" in err and "val_accuracy" in err


def test_evaluate(trained, capsys):
    assert main(["evaluate", str(trained / "model.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "Accuracy:" in out and "precision" in out and "Confusion matrix" in out
    assert len([line for line in out.splitlines() if line.strip().startswith("9 ")]) == 2  # recall row and matrix row


def test_predict_reads_digits_from_pictures(trained, tmp_path, capsys):
    _, (x_test, y_test) = load_digits_sample()
    paths = []
    for i in range(5):  # real test digits, enlarged and printed dark on light as a scan would be
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(255 - np.kron(np.pad(x_test[i], 6), np.ones((8, 8), dtype=np.uint8))).save(path)
        paths.append(str(path))
    assert main(["predict", str(trained / "model.safetensors"), *paths, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["image"] for r in results] == paths
    assert sum(r["prediction"] == str(y) for r, y in zip(results, y_test[:5])) >= 4
    assert all(abs(sum(t["probability"] for t in r["top"])) <= 1.0 + 1e-6 and len(r["top"]) == 3 for r in results)
    assert main(["predict", str(trained / "model.safetensors"), paths[0]]) == 0
    assert capsys.readouterr().out.startswith(f"{paths[0]}: ")


def test_summary(trained, capsys):
    assert main(["summary", str(trained / "model.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "Dense(in_features=784, out_features=64)" in out and "Total params: 50,890" in out and "dataset: digits-sample" in out


def test_user_errors_print_one_line_and_exit_1(trained, tmp_path, capsys):
    model = str(trained / "model.safetensors")
    (tmp_path / "notes.txt").write_text("hello")
    other = tmp_path / "other.safetensors"
    Sequential([Dense(10, 3)]).save(other)
    cases = [
        (["evaluate", str(tmp_path / "missing.safetensors")], "no such model file"),
        (["summary", str(tmp_path / "notes.txt")], "not a readable safetensors file"),
        (["predict", model, str(tmp_path / "notes.txt")], "cannot read the image"),
        (["predict", model, str(tmp_path / "nope.png")], "no such image file"),
        (["evaluate", str(other)], "does not fit 28x28 images"),
        (["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "notes.txt"), "--quiet"], "cannot create the data folder"),
        (["train", "--momentum", "0.9", "--epochs", "1", "--quiet", "--out", str(tmp_path / "r")], "momentum applies to the sgd and rmsprop optimizers"),
    ]
    for argv, message in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, err


@pytest.mark.parametrize("argv", [["train", "--epochs", "0"], ["train", "--lr", "-1"], ["train", "--dataset", "cifar"], ["fly"], [],
                                  ["train", "--resume", "a", "--out", "b"], ["train", "--early-stopping", "-1"],
                                  ["train", "--optimizer", "lbfgs"], ["train", "--schedule", "warp"],
                                  ["train", "--model", "rnn"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage: numnet" in capsys.readouterr().err


def test_console_script_is_installed():
    done = subprocess.run(["numnet", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("numnet ")

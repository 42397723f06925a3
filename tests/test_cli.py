"""The numnet command end to end, in temporary folders."""

import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from threadpoolctl import threadpool_limits

import numnet
from numnet import Sequential
from numnet.cli import _as_options, main
from numnet.datasets import load_digits_sample, scale
from numnet.images import load_digit
from numnet.layers import Dense
from numnet.losses import CrossEntropy
from numnet.run_folder import run_folder_lock

PICTURES = ["curves.png", "confusion_matrix.png", "misclassified.png", "first_layer_weights.png"]
RUN_FILES = ["model.safetensors", "history.csv", "config.json", *PICTURES]


def printed_accuracy(out):
    """The percentage of "Training done in ... s. Test accuracy: 96.05% on digits-sample"."""
    line = re.search(r"^Training done in [\d.]+ s\. Test accuracy: ([\d.]+)% on digits-sample$", out, re.MULTILINE)
    return float(line.group(1))


def read_history(folder):
    with open(folder / "history.csv") as file:
        return list(csv.DictReader(file))


def digit_picture(path, digit):
    """A test digit enlarged 8× with a margin and printed dark on light, as a scan would be."""
    Image.fromarray(255 - np.kron(np.pad(digit, 6), np.ones((8, 8), dtype=np.uint8))).save(path)
    return path


def probabilities(model, images):
    """Softmax of the model's scores for 28×28 images, computed here: exp(z − max z) / Σ exp(z − max z)."""
    z = model.predict(images.reshape(len(images), *model.input_shape)).astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def check_run_folder(folder, out, files, epochs):
    """The files listed, the history, the settings and the model of a finished run all agree with each other."""
    listed = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert listed == files
    assert sorted(path.name for path in folder.iterdir()) == sorted([*files, "checkpoints"])
    for name in files:
        if name.endswith(".png"):
            with Image.open(folder / name) as image:
                assert image.format == "PNG" and image.size[0] > 300, name
    rows = read_history(folder)
    assert [row["epoch"] for row in rows] == [str(e) for e in range(1, epochs + 1)]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    assert all(float(row["loss"]) > 0 and 0 < float(row["val_accuracy"]) <= 1 for row in rows)
    saved = json.loads((folder / "config.json").read_text())
    assert saved["config"]["epochs"] == epochs and saved["dataset"] == "digits-sample"
    accuracy = printed_accuracy(out)
    assert saved["test_accuracy"] == pytest.approx(accuracy / 100, abs=5e-5)
    # the saved model, read back through the library, has the accuracy the run printed
    model = numnet.load(folder / "model.safetensors")
    _, (x_test, y_test) = load_digits_sample()
    images = scale(x_test).reshape(len(x_test), *model.input_shape)
    assert model.evaluate(images, y_test, loss=CrossEntropy())["accuracy"] == pytest.approx(saved["test_accuracy"], abs=1e-12)
    return accuracy, model


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """`numnet train --epochs 3 --hidden 64` as a user types it, in a fresh folder: its run folder and output.
    The default run's folder, files and progress bar, on a network small enough to train in a second or two;
    the tests of evaluate, predict and summary use its model."""
    cwd = tmp_path_factory.mktemp("short")
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        patch.chdir(cwd)
        assert main(["train", "--epochs", "3", "--hidden", "64"]) == 0
    (folder,) = (cwd / "runs").iterdir()
    return folder, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(short_run):
    return short_run[0]


def test_a_short_run_writes_the_run_folder_and_shows_progress(short_run):
    folder, out, err = short_run
    assert all(f"Epoch {e}/3" in err for e in (1, 2, 3)) and "loss" in err and "val_accuracy" in err
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d", folder.name)  # runs/<date-time>
    assert f"Run folder: {Path('runs') / folder.name}" in out
    accuracy, model = check_run_folder(folder, out, RUN_FILES, epochs=3)
    assert accuracy >= 85  # three epochs of 784-64-10: about 91 %
    assert [type(layer).__name__ for layer in model.layers] == ["Flatten", "Dense", "ReLU", "Dropout", "Dense"]
    assert model.count_params() == 784 * 64 + 64 + 64 * 10 + 10
    assert model.metadata["config"]["hidden"] == [64] and model.metadata["config"]["model"] == "mlp"


@pytest.mark.slow
def test_default_train_reaches_the_readme_accuracy(tmp_path, subprocess_env):
    # README: 96.05 % (seed 0; seeds 1–3 gave 95.60–96.20 %, one BLAS thread 95.65 %)
    done = subprocess.run([sys.executable, "-m", "numnet", "train", "--quiet"], capture_output=True, text=True,
                          timeout=900, cwd=tmp_path, env=subprocess_env)
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    accuracy, model = check_run_folder(folder, done.stdout, RUN_FILES, epochs=20)
    assert accuracy >= 95.5
    assert model.count_params() == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10


@pytest.mark.slow
def test_augmented_cosine_run_warms_up_then_anneals(tmp_path, capsys):
    # the README's augmented recipe on a small network and 4 epochs: the learning rate warms up over
    # 2 epochs (lr/3, 2 lr/3), reaches lr, then follows the cosine, (1 + cos(π/2)) / 2 · lr = lr/2
    argv = ["train", "--augment", "--schedule", "cosine", "--epochs", "4", "--hidden", "16", "--out", str(tmp_path), "--quiet"]
    assert main(argv) == 0
    accuracy, _ = check_run_folder(tmp_path, capsys.readouterr().out, RUN_FILES, epochs=4)
    np.testing.assert_allclose([float(row["lr"]) for row in read_history(tmp_path)], [1e-3 / 3, 2e-3 / 3, 1e-3, 5e-4],
                               atol=5e-7)  # history.csv keeps 6 decimals
    assert accuracy >= 70


@pytest.mark.slow
def test_augmented_recipe_reaches_the_readme_accuracy(tmp_path, capsys):
    # README: 97.40 % for --augment --schedule cosine --epochs 30
    argv = ["train", "--augment", "--schedule", "cosine", "--epochs", "30", "--out", str(tmp_path), "--quiet"]
    assert main(argv) == 0
    accuracy, _ = check_run_folder(tmp_path, capsys.readouterr().out, RUN_FILES, epochs=30)
    assert accuracy >= 97.0


def test_training_options_and_resume(tmp_path, capsys):
    folder = tmp_path / "run"
    argv = ["train", "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--weight-decay", "1e-4", "--schedule", "step",
            "--early-stopping", "5", "--augment", "--epochs", "3", "--hidden", "32", "--dropout", "0", "--clip-norm", "5", "--quiet"]
    folder.mkdir()
    assert main([*argv, "--resume", str(folder)]) == 0  # a folder without a run: starts one there
    first = capsys.readouterr().out
    assert "Resuming" not in first and (folder / "checkpoints" / "checkpoint.safetensors").exists()
    with open(folder / "history.csv") as file:
        assert next(csv.reader(file)) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    # --schedule step over 3 epochs steps every epoch by 0.1
    np.testing.assert_allclose([float(row["lr"]) for row in read_history(folder)], [0.05, 0.005, 0.0005], rtol=1e-6)
    saved = json.loads((folder / "config.json").read_text())["config"]
    assert (saved["optimizer"], saved["momentum"], saved["weight_decay"], saved["dropout"], saved["clip_norm"]) == ("sgd", 0.9, 1e-4, 0, 5)
    model = numnet.load(folder / "model.safetensors")
    assert "Dropout" not in [type(layer).__name__ for layer in model.layers]  # --dropout 0 leaves it out
    assert main(["train", "--resume", str(folder), "--quiet"]) == 0  # finished: picks up the saved settings
    second = capsys.readouterr().out
    assert f"Resuming the run in {folder} with its saved settings." in second
    assert printed_accuracy(second) == printed_accuracy(first)
    assert len(read_history(folder)) == 3  # nothing more was trained


def check_cnn_run(folder, capsys, epochs):
    """The CNN's run folder, then predict and summary on its model. Returns the test accuracy printed and
    whether the model reads a test digit's picture right."""
    files = ["model.safetensors", "history.csv", "config.json", "curves.png", "confusion_matrix.png", "misclassified.png",
             "first_layer_filters.png", "feature_maps.png"]
    accuracy, model = check_run_folder(folder, capsys.readouterr().out, files, epochs=epochs)
    assert model.input_shape == (1, 28, 28)
    _, (x_test, y_test) = load_digits_sample()
    digit = digit_picture(folder / "digit.png", x_test[3])
    assert main(["predict", str(folder / "model.safetensors"), str(digit), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["prediction"] == str(probabilities(model, load_digit(digit)[None]).argmax())
    assert main(["summary", str(folder / "model.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "Conv2D(in_channels=1, out_channels=16" in out and "Total params: 206,922" in out
    return accuracy, result["prediction"] == str(y_test[3])


@pytest.mark.slow
def test_cnn_one_epoch_run_shows_filters_and_feature_maps(tmp_path, capsys):
    assert main(["train", "--model", "cnn", "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 0
    accuracy, _ = check_cnn_run(tmp_path, capsys, epochs=1)
    assert accuracy >= 85  # one epoch, with augmentation and warm-up: about 94 %


@pytest.mark.slow
def test_cnn_default_reaches_the_readme_accuracy(tmp_path, capsys):
    # README: 98.45 % for numnet train --model cnn (seeds 1–3: 98.10–98.40 %)
    assert main(["train", "--model", "cnn", "--out", str(tmp_path), "--quiet"]) == 0
    accuracy, predicted_right = check_cnn_run(tmp_path, capsys, epochs=15)
    assert accuracy >= 98.0 and predicted_right


NAMES_RUN_FILES = ["model.safetensors", "history.csv", "config.json", "curves.png", "samples.txt"]


def test_names_one_epoch_run_and_sample(tmp_path, capsys):
    folder = tmp_path / "names"
    with threadpool_limits(1):  # small matrices: one BLAS thread is fastest (docs/sequences.md)
        assert main(["train", "--dataset", "names", "--epochs", "1", "--batch-size", "256", "--out", str(folder), "--quiet"]) == 0
    out = capsys.readouterr().out
    printed = re.search(r"^Test loss: ([\d.]+) nats/character \(lstm\); bigram on the same split: 2\.3463 nats/character$", out, re.MULTILINE)
    assert printed and float(printed.group(1)) == pytest.approx(json.loads((folder / "config.json").read_text())["test_loss"], abs=5e-5)
    share = re.search(r"^(\d+)% of 200 sampled names are not in the training list\. The first 20:\n  (.*)$", out, re.MULTILINE)
    assert share and share.group(2).split() == (folder / "samples.txt").read_text().split()[:20]
    assert all((folder / name).is_file() for name in NAMES_RUN_FILES) and all(f"  {name}\n" in out for name in NAMES_RUN_FILES)
    model = folder / "model.safetensors"
    assert main(["sample", str(model), "-n", "7", "--temperature", "0.8", "--seed", "3"]) == 0
    names = capsys.readouterr().out.splitlines()
    assert len(names) == 7 and all(re.fullmatch("[a-z]*", name) for name in names)
    assert main(["sample", str(model), "-n", "7", "--temperature", "0.8", "--seed", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == names
    assert main(["summary", str(model)]) == 0
    assert "dataset: names" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["train", "--dataset", "names", "--model", "cnn"], "--dataset names trains an lstm or a transformer, not --model cnn"),
    (["train", "--model", "lstm"], "--model lstm writes names: use it with --dataset names"),
    (["train", "--dataset", "names", "--hidden", "64"], "--hidden applies to the digit models (mlp, cnn), not to --dataset names"),
    (["train", "--dataset", "names", "--augment"], "--augment applies to the digit models"),
    (["sample", "model.safetensors", "--temperature", "0"], "argument --temperature: expected a positive number, got '0'"),
])
def test_names_usage_errors_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_sample_needs_a_names_model(trained, capsys):
    assert main(["sample", str(trained / "model.safetensors")]) == 1
    assert "sampling needs a model trained by `numnet train --dataset names`" in capsys.readouterr().err


def test_evaluate(trained, capsys):
    assert main(["evaluate", str(trained / "model.safetensors")]) == 0
    lines = capsys.readouterr().out.splitlines()
    # the same numbers, counted here from the model's own predictions on the 2,000 test digits
    model = numnet.load(trained / "model.safetensors")
    _, (x_test, y_test) = load_digits_sample()
    predicted = probabilities(model, scale(x_test)).argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, predicted), 1)
    assert lines[0] == f"Accuracy: {np.mean(predicted == y_test):.2%}"
    assert lines[1].split() == ["class", "precision", "recall"]
    for digit, line in enumerate(lines[2:12]):
        right = confusion[digit, digit]
        assert line.split() == [str(digit), f"{right / confusion[:, digit].sum():.2%}", f"{right / confusion[digit].sum():.2%}"]
    assert lines[12] == "Confusion matrix (rows: true class, columns: predicted):"
    assert lines[13].split() == [str(d) for d in range(10)]
    printed = np.array([[int(count) for count in line.split()] for line in lines[14:24]])
    np.testing.assert_array_equal(printed[:, 0], np.arange(10))
    np.testing.assert_array_equal(printed[:, 1:], confusion)
    np.testing.assert_array_equal(confusion.sum(axis=1), np.bincount(y_test))  # each test digit counted once
    assert len(lines) == 24


def test_predict_reads_digits_from_pictures(trained, tmp_path, capsys):
    _, (x_test, y_test) = load_digits_sample()
    paths = [str(digit_picture(tmp_path / f"digit{i}.png", x_test[i])) for i in range(5)]
    assert main(["predict", str(trained / "model.safetensors"), *paths, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["image"] for r in results] == paths
    assert sum(r["prediction"] == str(y) for r, y in zip(results, y_test[:5])) >= 4
    # the three most likely digits, as the model itself scores the prepared pictures
    expected = probabilities(numnet.load(trained / "model.safetensors"), np.stack([load_digit(path) for path in paths]))
    for result, row in zip(results, expected):
        best = np.argsort(-row)[:3]
        assert result["prediction"] == str(best[0])
        assert [t["class"] for t in result["top"]] == [str(d) for d in best]
        np.testing.assert_allclose([t["probability"] for t in result["top"]], row[best], atol=1e-6)  # rounded to 6 places
    assert main(["predict", str(trained / "model.safetensors"), paths[0]]) == 0
    top = ", ".join(f"{t['class']} {t['probability']:.1%}" for t in results[0]["top"])
    assert capsys.readouterr().out == f"{paths[0]}: {results[0]['prediction']}   ({top})\n"


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
        (["predict", model, str(tmp_path / "notes.txt")], "1 of 1 images could not be read"),
        (["evaluate", str(other)], "does not fit 28x28 images"),
        (["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "notes.txt"), "--quiet"], "cannot create the data folder"),
        (["train", "--momentum", "0.9", "--epochs", "1", "--quiet", "--out", str(tmp_path / "r")], "momentum applies to the sgd and rmsprop optimizers"),
        (["train", "--resume", str(tmp_path / "nowhere")], f"--resume RUN_DIR: there is no run folder {tmp_path / 'nowhere'} to resume"),
        (["evaluate", model, "--data-dir", "/nonexistent"], "--data-dir /nonexistent applies to mnist and fashion-mnist"),
        (["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r")], f"--data-dir {tmp_path} applies to mnist"),
    ]
    for argv, message in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "r").exists() and not (tmp_path / "nowhere").exists()  # refused before anything was created


@pytest.mark.parametrize("argv", [["train", "--epochs", "0"], ["train", "--lr", "-1"], ["train", "--dataset", "cifar"], ["fly"], [],
                                  ["train", "--resume", "a", "--out", "b"], ["train", "--early-stopping", "-1"],
                                  ["train", "--optimizer", "lbfgs"], ["train", "--schedule", "warp"],
                                  ["train", "--model", "rnn"], ["train", "--seed", "-1"]])
def test_usage_errors_exit_2(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage: numnet" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no run folder


def test_a_bad_seed_names_the_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--seed", "-1"])
    assert "numnet train: error: argument --seed: expected a non-negative integer, got '-1'" in capsys.readouterr().err


@pytest.mark.parametrize("library, typed", [
    ("seed must be a non-negative integer. Received: seed=-1", "--seed must be a non-negative integer. Received: --seed -1"),
    ("resume=True: there is no run folder r to resume", "--resume RUN_DIR: there is no run folder r to resume"),
    ("put train-images-idx3-ubyte.gz in /d (or pass data_dir= / set NUMNET_DATA)",
     "put train-images-idx3-ubyte.gz in /d (or pass --data-dir / set NUMNET_DATA)"),
    ("Try a lower learning rate (lr=1e+06 now).", "Try a lower learning rate (--lr 1e+06 now)."),
    ("batch_size must be at most the number of samples (7200). Received: batch_size=10000",
     "--batch-size must be at most the number of samples (7200). Received: --batch-size 10000"),
    ("model.safetensors: the seed of the model", "model.safetensors: the seed of the model"),  # words alone stay words
])
def test_messages_name_the_options_typed(library, typed):
    assert _as_options(library) == typed


def test_predict_answers_every_image_and_exits_1_when_one_failed(trained, tmp_path, capsys):
    _, (x_test, _) = load_digits_sample()
    model = str(trained / "model.safetensors")
    good = [str(digit_picture(tmp_path / f"digit{i}.png", x_test[i])) for i in range(2)]
    (tmp_path / "notes.png").write_text("not a picture")
    paths = [good[0], str(tmp_path / "notes.png"), str(tmp_path / "missing.png"), good[1]]
    assert main(["predict", model, *paths, "--json"]) == 1
    captured = capsys.readouterr()
    results = json.loads(captured.out)
    assert [r["image"] for r in results] == paths
    assert results[1] == {"image": paths[1], "error": "cannot read the image (not a PNG, JPEG or other format Pillow reads)"}
    assert results[2] == {"image": paths[2], "error": "no such image file"}
    assert "prediction" in results[0] and "prediction" in results[3]
    assert captured.err == "numnet predict: error: 2 of 4 images could not be read\n"
    assert main(["predict", model, *paths]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[0].startswith(f"{paths[0]}: {results[0]['prediction']}   (")
    assert lines[1:3] == [f"{paths[1]}: error: {results[1]['error']}", f"{paths[2]}: error: no such image file"]


def test_evaluate_json(trained, capsys):
    assert main(["evaluate", str(trained / "model.safetensors")]) == 0
    text = capsys.readouterr().out.splitlines()
    assert main(["evaluate", str(trained / "model.safetensors"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == str(trained / "model.safetensors") and report["dataset"] == "digits-sample"
    assert text[0] == f"Accuracy: {report['accuracy']:.2%}"
    assert [c["class"] for c in report["classes"]] == [str(d) for d in range(10)]
    assert text[2].split() == ["0", f"{report['classes'][0]['precision']:.2%}", f"{report['classes'][0]['recall']:.2%}"]
    confusion = np.array(report["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 2000
    assert report["accuracy"] == pytest.approx(np.trace(confusion) / 2000, abs=1e-12)


def test_summary_json(trained, capsys):
    assert main(["summary", str(trained / "model.safetensors"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [layer["type"] for layer in summary["layers"]] == ["Flatten", "Dense", "ReLU", "Dropout", "Dense"]
    assert summary["layers"][1] == {"index": 1, "type": "Dense", "config": {"in_features": 784, "out_features": 64},
                                    "output_shape": [None, 64], "params": 784 * 64 + 64}
    assert summary["layers"][3]["config"] == {"p": 0.2} and summary["layers"][4]["output_shape"] == [None, 10]
    assert summary["total_params"] == 50_890 and summary["input_shape"] == [None, 28, 28] and summary["dtype"] == "float32"
    assert summary["metadata"]["dataset"] == "digits-sample" and summary["metadata"]["config"]["hidden"] == [64]


def test_a_diverging_run_exits_1_with_one_line_and_no_model(tmp_path, capsys):
    folder = tmp_path / "run"
    assert main(["train", "--optimizer", "adam", "--lr", "1e6", "--hidden", "16", "--epochs", "2", "--out", str(folder), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("numnet train: error: the mean training loss of epoch 1 is ")
    assert "training diverged. Try a lower learning rate (--lr 1e+06 now). No model was saved" in err
    assert f"the run folder {folder} keeps only config.json" in err
    assert sorted(path.name for path in folder.iterdir()) == ["config.json"]


def test_a_second_train_into_a_busy_run_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "run"
    with run_folder_lock(folder):  # as another numnet train would
        for argv in (["train", "--out", str(folder)], ["train", "--resume", str(folder)]):
            assert main([*argv, "--quiet", "--epochs", "1", "--hidden", "8"]) == 1
            assert f"the run folder {folder} is in use by another numnet train (process {os.getpid()})" in capsys.readouterr().err
        assert sorted(path.name for path in folder.iterdir()) == ["train.lock"]


def test_console_script_is_installed():
    done = subprocess.run(["numnet", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("numnet ")

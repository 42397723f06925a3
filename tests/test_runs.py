"""Run folders: settings checked before anything is created, one process per folder, resumes that cannot mix runs."""

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from numnet.checkpoints import CheckpointError, checkpoint_path, read_checkpoint_state, save_checkpoint
from numnet.datasets import load_digits_sample
from numnet.optimizers import Adam
from numnet.run_folder import LOCK_NAME, RunFolderError, run_folder_lock
from numnet.runs import RUN_SETTINGS, TrainConfig, build_mlp, check_config, evaluate, model_summary, predict_images, train

SMALL = TrainConfig(hidden=(8,), epochs=1, verbose=0)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The run folder of a finished one-epoch run of SMALL."""
    folder = tmp_path_factory.mktemp("finished")
    train(replace(SMALL, out=str(folder)))
    return folder


@pytest.mark.parametrize("change, message", [
    ({"seed": -1}, r"^seed must be a non-negative integer\. Received: seed=-1$"),
    ({"seed": 1.5}, r"^seed must be a non-negative integer\. Received: seed=1\.5$"),
    ({"epochs": 0}, r"^epochs must be a positive integer\. Received: epochs=0$"),
    ({"batch_size": -3}, r"^batch_size must be a positive integer\. Received: batch_size=-3$"),
    ({"lr": 0.0}, r"^lr must be a number in the range \(0, inf\)\. Received: lr=0\.0$"),
    ({"lr": float("nan")}, r"^lr must be a number in the range \(0, inf\)\. Received: lr=nan$"),
    ({"dropout": 1.0}, r"^dropout must be a number in the range \[0, 1\)\. Received: dropout=1\.0$"),
    ({"momentum": 0.9}, r"^momentum applies to the sgd and rmsprop optimizers, not adam$"),
    ({"weight_decay": -1e-4}, r"^weight_decay must be a number in the range \[0, inf\)\. Received: weight_decay=-0\.0001$"),
    ({"hidden": ()}, r"^hidden must be a non-empty list of layer sizes\. Received: hidden=\(\)$"),
    ({"hidden": (32, 0)}, r"^hidden must be a positive integer\. Received: hidden=0$"),
    ({"early_stopping": -1}, r"^early_stopping must be a non-negative integer\. Received: early_stopping=-1$"),
    ({"dataset": "cifar"}, r"^unknown dataset 'cifar'; expected one of digits-sample, mnist, fashion-mnist$"),
    ({"model": "rnn"}, r"^unknown model 'rnn'; expected one of mlp, cnn$"),
    ({"schedule": "warp"}, r"^unknown schedule 'warp'; expected one of none, step, exponential, cosine, plateau$"),
    ({"verbose": 3}, r"^verbose must be one of 0, 1, 2\. Received: verbose=3$"),
    ({"data_dir": "/nonexistent"}, r"^data_dir=/nonexistent applies to mnist and fashion-mnist; digits-sample is embedded"),
])
def test_every_setting_is_checked_before_anything_is_created(tmp_path, change, message):
    config = replace(SMALL, out=str(tmp_path / "run"), **change)
    with pytest.raises(ValueError, match=message):
        check_config(config)
    with pytest.raises(ValueError, match=message):
        train(config)
    assert list(tmp_path.iterdir()) == []


def test_check_config_fills_in_the_model_defaults():
    config = check_config(TrainConfig(model="cnn", hidden=[64]))
    assert (config.epochs, config.augment, config.schedule, config.dropout) == (15, True, "cosine", 0.3)
    assert config.hidden == (64,)
    with pytest.raises(TypeError, match=r"augment must be True or False\. Received: augment='yes'"):
        check_config(TrainConfig(augment="yes"))


def test_a_setting_refused_by_fit_leaves_no_folder_either(tmp_path):
    with pytest.raises(ValueError, match=r"batch_size must be at most the number of samples \(7200\)"):
        train(replace(SMALL, batch_size=10_000, out=str(tmp_path / "run")))
    assert list(tmp_path.iterdir()) == []


def test_train_refuses_a_run_folder_in_use(tmp_path):
    folder = tmp_path / "run"
    with run_folder_lock(folder):  # as another numnet train holds it
        for resume in (False, True):
            with pytest.raises(RunFolderError, match=rf"^the run folder {folder} is in use by another numnet train \(process \d+\); "
                                                     "wait for it to end, or train into another folder$"):
                train(replace(SMALL, out=str(folder)), resume=resume)
        assert sorted(path.name for path in folder.iterdir()) == [LOCK_NAME]  # nothing written by the refused runs


def test_a_new_run_into_a_folder_holding_a_run_is_refused(finished):
    assert LOCK_NAME not in {path.name for path in finished.iterdir()}  # the lock file goes with the run
    before = {path.name: path.stat().st_mtime_ns for path in finished.iterdir()}
    with pytest.raises(RunFolderError, match=r"already holds a run: resume it \(resume=True\) or train into another folder"):
        train(replace(SMALL, out=str(finished), seed=1))
    assert {path.name: path.stat().st_mtime_ns for path in finished.iterdir()} == before


def test_resume_needs_an_existing_folder(tmp_path):
    with pytest.raises(RunFolderError, match=rf"^resume=True: there is no run folder {tmp_path / 'nowhere'} to resume$"):
        train(replace(SMALL, out=str(tmp_path / "nowhere")), resume=True)
    assert not (tmp_path / "nowhere").exists()


def test_resume_refuses_a_checkpoint_written_under_other_settings(finished):
    # the checkpoint of a seed-0 run, the settings of a seed-1 run: resuming would give a model of neither
    checkpoint = checkpoint_path(finished / "checkpoints").read_bytes()
    with pytest.raises(CheckpointError, match=r"checkpoint\.safetensors was written under other settings than this run's "
                                              r"\(lr: 0\.001 in the checkpoint, 0\.01 now; seed: 0 in the checkpoint, 1 now\); "
                                              r"resuming it would mix two runs into a model that matches neither"):
        train(replace(SMALL, out=str(finished), seed=1, lr=0.01), resume=True)
    assert checkpoint_path(finished / "checkpoints").read_bytes() == checkpoint
    recorded = read_checkpoint_state(finished / "checkpoints")["callbacks"][1]["run_settings"]
    assert recorded == {**{key: value for key, value in json.loads((finished / "config.json").read_text())["config"].items()
                           if key in RUN_SETTINGS}, "seed": 0}


def test_resume_refuses_a_checkpoint_that_records_no_settings(tmp_path):
    model = build_mlp((8,), seed=0)
    save_checkpoint(tmp_path / "checkpoints", model, Adam(1e-3), {"callbacks": []})
    with pytest.raises(CheckpointError, match=r"does not record the settings of its run"):
        train(replace(SMALL, out=str(tmp_path)), resume=True)


def test_a_diverging_run_keeps_its_settings_and_no_model(tmp_path):
    with pytest.raises(FloatingPointError, match=r"training diverged\. .* No model was saved; the run folder .* keeps only "
                                                 r"config\.json \(it diverged before its first checkpoint\)\.$"):
        train(replace(SMALL, lr=1e6, out=str(tmp_path / "run")))
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == ["config.json"]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["lr"] == 1e6


def test_predict_images_answers_every_image(tmp_path):
    _, (x_test, _) = load_digits_sample()
    Image.fromarray(255 - x_test[0]).save(tmp_path / "digit.png")
    (tmp_path / "notes.png").write_text("hello")
    model = build_mlp((8,))
    paths = [tmp_path / "notes.png", tmp_path / "digit.png", tmp_path / "gone.png"]
    results = predict_images(model, paths)
    assert results[0] == {"image": str(paths[0]), "error": "cannot read the image (not a PNG, JPEG or other format Pillow reads)"}
    assert results[2] == {"image": str(paths[2]), "error": "no such image file"}
    assert results[1]["image"] == str(paths[1]) and len(results[1]["top"]) == 3
    assert results[1] == predict_images(model, paths[1:2])[0]
    assert predict_images(model, paths[:1]) == results[:1]  # none readable: no prediction run at all


def test_evaluation_and_summary_as_data():
    model = build_mlp((8,))
    report = evaluate(model).to_dict()
    assert report["dataset"] == "digits-sample" and len(report["classes"]) == 10
    confusion = np.array(report["confusion"])
    assert confusion.sum() == 2000 and report["accuracy"] == pytest.approx(np.trace(confusion) / 2000)
    summary = model_summary(model)
    assert json.loads(json.dumps(summary)) == summary
    assert [layer["output_shape"] for layer in summary["layers"]] == [[None, 784], [None, 8], [None, 8], [None, 8], [None, 10]]
    assert sum(layer["params"] for layer in summary["layers"]) == summary["total_params"] == model.count_params()

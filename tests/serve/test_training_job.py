import pytest

from numnet.runs import TrainConfig
from numnet.serve.training_job import TrainingJob, _progress


def test_trains_a_run_folder_in_the_background(tmp_path):
    job = TrainingJob(tmp_path / "runs", TrainConfig(hidden=(8,), epochs=2))
    assert job.status() == {"state": "idle"}
    job.start()
    running = job.status()
    assert running["state"] == "running" and running["epochs"] == 2 and running["epochs_done"] in (0, 1, 2)
    with pytest.raises(RuntimeError, match="already being trained"):
        job.start()
    job.join(120)
    done = job.status()
    assert done["state"] == "done" and done["epochs_done"] == 2 and 0 < done["test_accuracy"] <= 1
    assert (tmp_path / "runs" / done["run"] / "model.safetensors").is_file()
    # while training, progress is read from the checkpoint written after every epoch: the last one says 2 epochs
    epochs, history = _progress(tmp_path / "runs" / done["run"])
    assert epochs == 2 and len(history["loss"]) == 2 and len(history["val_accuracy"]) == 2
    assert _progress(tmp_path) == (0, {})


def test_a_failure_is_reported(tmp_path):
    job = TrainingJob(tmp_path, TrainConfig(optimizer="nope", epochs=1))
    job.start()
    job.join(60)
    failed = job.status()
    assert failed["state"] == "failed" and failed["error"] == "ValueError: unknown optimizer 'nope'; expected one of adam, sgd, adamw, rmsprop, adagrad"

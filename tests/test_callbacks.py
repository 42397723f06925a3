import csv

import numpy as np
import pytest

import numnet
from numnet.callbacks import Callback, CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint
from numnet.layers import Dense, ReLU
from numnet.losses import MSE, CrossEntropy
from numnet.optimizers import SGD
from numnet.schedules import ReduceLROnPlateau, StepLR


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    return (np.array([[0, 3], [3, -2], [-3, -2]])[labels] + rng.normal(size=(n, 2))).astype(np.float32), labels


def model():
    return numnet.Sequential([Dense(2, 8, rng=0), ReLU(), Dense(8, 3, rng=1)])


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(f"batch_begin {batch}")

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(f"batch_end {batch} {sorted(logs)}")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch} {sorted(logs)}")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_hooks_are_called_in_order():
    x, y = blobs(40)
    recorder = Recorder()
    model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=2, batch_size=10, verbose=0, callbacks=[recorder],
                validation_split=0.5)
    running, logged = "['accuracy', 'loss']", "['accuracy', 'loss', 'val_accuracy', 'val_loss']"
    batches = ["batch_begin 1", f"batch_end 1 {running}", "batch_begin 2", f"batch_end 2 {running}"]
    assert recorder.calls == ["train_begin", "epoch_begin 1", *batches, f"epoch_end 1 {logged}",
                              "epoch_begin 2", *batches, f"epoch_end 2 {logged}", "train_end"]


def test_batch_logs_are_running_means_and_hooks_set_on_an_instance_are_called():
    x, y = blobs(60)
    seen = []
    callback = Callback()
    callback.on_train_batch_end = lambda batch, logs=None: seen.append(dict(logs))  # no subclass: set on the instance
    history = model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, batch_size=20, verbose=0,
                          callbacks=[callback], seed=0)
    assert len(seen) == 3
    # the last batch's running means are the epoch's training metrics
    assert seen[-1] == pytest.approx({key: values[0] for key, values in history.history.items()})
    assert seen[0] != seen[-1]


def test_a_callback_can_stop_training():
    class StopAfterTwo(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                self.model.stop_training = True

    x, y = blobs()
    history = model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=10, verbose=0, callbacks=[StopAfterTwo()])
    assert history.epoch == [1, 2] and not history.interrupted


def test_early_stopping_restores_the_best_weights(capsys):
    x, y = blobs()
    net = model()
    snapshots = {}

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots[epoch] = self.model.get_weights()

    # validation labels unrelated to the inputs: the better the model learns, the worse val_loss gets
    xv, _ = blobs(60, seed=1)
    yv = np.random.default_rng(2).integers(0, 3, 60)
    stopper = EarlyStopping("val_loss", patience=2, restore_best_weights=True)
    history = net.fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=50, verbose=0, validation_data=(xv, yv),
                      callbacks=[Snapshot(), stopper], seed=0)
    val = history.history["val_loss"]
    best = int(np.argmin(val)) + 1
    assert len(val) == best + 2 < 50  # stopped two epochs after the best
    for key, value in net.get_weights().items():
        np.testing.assert_array_equal(value, snapshots[best][key])
    assert f"has not improved since epoch {best}" in capsys.readouterr().err


def test_early_stopping_needs_its_metric():
    x, y = blobs()
    with pytest.raises(ValueError, match="the monitored metric 'val_loss' is not among the logged metrics"):
        model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=2, verbose=0, callbacks=[EarlyStopping()])


def test_model_checkpoint_best_only(tmp_path):
    x, y = blobs()
    saved = []

    class Spy(ModelCheckpoint):
        def on_epoch_end(self, epoch, logs=None):
            before = self.best
            super().on_epoch_end(epoch, logs)
            if self.best != before:
                saved.append(epoch)

    snapshots = {}

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots[epoch] = self.model.get_weights()

    history = model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(2.0), epochs=8, verbose=0, validation_split=0.3,
                          callbacks=[Snapshot(), Spy(tmp_path / "best.safetensors", save_best_only=True)], seed=1)
    val = history.history["val_loss"]
    assert saved == [e for e in range(1, 9) if val[e - 1] < min(val[: e - 1], default=np.inf)]
    assert saved[-1] != 8  # lr 2.0 overshoots: the best epoch is not the last, so the file is not the final model
    best = numnet.load(tmp_path / "best.safetensors").get_weights()
    assert best.keys() == snapshots[saved[-1]].keys()
    for key, value in best.items():
        np.testing.assert_array_equal(value, snapshots[saved[-1]][key], err_msg=key)
    every = tmp_path / "every"
    history = model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=2, verbose=0,
                          callbacks=[ModelCheckpoint(str(every / "m-{epoch}-{loss:.2f}.safetensors"))])
    expected = {f"m-{epoch}-{loss:.2f}.safetensors" for epoch, loss in zip((1, 2), history.history["loss"])}
    assert {path.name for path in every.iterdir()} == expected


def test_learning_rate_scheduler_logs_and_changes_lr():
    x, y = blobs()
    optimizer = SGD(0.1)
    history = model().fit(x, y, loss=CrossEntropy(), optimizer=optimizer, epochs=5, verbose=0,
                          callbacks=[LearningRateScheduler(StepLR(optimizer, 2, 0.5))])
    np.testing.assert_allclose(history.history["lr"], [0.1, 0.1, 0.05, 0.05, 0.025])
    optimizer = SGD(0.1)
    history = model().fit(x, y, loss=CrossEntropy(), optimizer=optimizer, epochs=3, verbose=0,
                          callbacks=[LearningRateScheduler(lambda epoch, lr: lr / 10)])
    np.testing.assert_allclose(history.history["lr"], [0.1, 0.01, 0.001])
    optimizer = SGD(0.1)
    model().fit(x, y, loss=CrossEntropy(), optimizer=optimizer, epochs=3, verbose=0,
                callbacks=[LearningRateScheduler(ReduceLROnPlateau(optimizer, mode="max", patience=0), monitor="loss")])
    assert optimizer.lr == pytest.approx(0.1 * 0.1**2)  # mode "max" on a falling loss: epochs 2 and 3 each cut it
    with pytest.raises(ValueError, match="built on a different optimizer"):
        model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, verbose=0,
                    callbacks=[LearningRateScheduler(StepLR(optimizer, 1))])


def test_csv_logger(tmp_path):
    x, y = blobs()
    history = model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=3, verbose=0,
                          callbacks=[CSVLogger(tmp_path / "log.csv")])
    with open(tmp_path / "log.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["epoch"] for row in rows] == ["1", "2", "3"] and set(rows[0]) == {"epoch", "loss", "accuracy"}
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose([float(row[key]) for row in rows], history.history[key], rtol=1e-12)


def test_metrics_and_validation_split():
    x, y = blobs()
    history = model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, verbose=0, validation_split=0.25,
                          metrics=["accuracy", "top_k_accuracy"])
    assert set(history.history) == {"loss", "accuracy", "top_k_accuracy", "val_loss", "val_accuracy", "val_top_k_accuracy"}
    assert history.history["val_top_k_accuracy"] == [1.0]  # 3 classes, k = 5: always in the top k
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, verbose=0, metrics=["f1"])
    with pytest.raises(ValueError, match="needs a classification loss"):
        model().fit(x, np.zeros((120, 3)), loss=MSE(), optimizer=SGD(0.1), epochs=1, verbose=0, metrics=["accuracy"])
    with pytest.raises(ValueError, match="either validation_data or validation_split"):
        model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=1, verbose=0, validation_split=0.2,
                    validation_data=(x, y))


def test_progress_bar_is_a_callback_that_verbose_0_removes(capsys):
    x, y = blobs()
    model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 2 and "Epoch 2/2  loss" in out
    model().fit(x, y, loss=CrossEntropy(), optimizer=SGD(0.1), epochs=2, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""

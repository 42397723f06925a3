"""The training loop's guards: targets checked before training, and the rule that stops a run whose loss explodes."""

import numpy as np
import pytest

from numnet import Sequential
from numnet.callbacks import Callback
from numnet.checkpoints import read_checkpoint_state
from numnet.layers import Dense
from numnet.losses import MSE, CrossEntropy
from numnet.optimizers import SGD, Adam
from numnet.training import DIVERGENCE_FACTOR, DIVERGENCE_FLOOR


def blobs(n=64, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    return (np.array([[0, 4], [4, -2], [-4, -2]])[labels] + rng.normal(size=(n, 2))).astype(np.float32), labels


def regression(n=32):
    x = np.random.default_rng(0).normal(size=(n, 2)).astype(np.float32)
    return x, x @ np.array([[1.0], [-2.0]], dtype=np.float32)


FIT = dict(loss=MSE(), optimizer=SGD(0.01), epochs=1, batch_size=8, verbose=0)


def test_nan_and_inf_targets_are_refused_naming_their_rows():
    x, y = regression()
    y[[3, 17]] = np.nan
    y[20] = np.inf
    model = Sequential([Dense(2, 1, rng=0)])
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"^the targets of x contain NaN or infinite values in 3 rows: 3, 17, 20$"):
        model.fit(x, y, **FIT)
    for key, value in model.get_weights().items():  # refused before the first step
        np.testing.assert_array_equal(value, before[key])


def test_nan_validation_targets_are_refused_before_training():
    x, y = regression()
    y_val = y[:8].copy()
    y_val[5, 0] = -np.inf
    with pytest.raises(ValueError, match=r"the targets of validation x contain NaN or infinite values in 1 rows: 5$"):
        Sequential([Dense(2, 1, rng=0)]).fit(x, y, validation_data=(x[:8], y_val), **FIT)
    # validation_split holds out the last rows: the row is named by its place in x
    y[30] = np.nan
    with pytest.raises(ValueError, match=r"in 1 rows: 30$"):
        Sequential([Dense(2, 1, rng=0)]).fit(x, y, validation_split=0.25, **FIT)


def test_many_bad_rows_are_named_up_to_ten():
    x, y = regression(64)
    y[::2] = np.nan
    with pytest.raises(ValueError, match=r"in 32 rows: 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, \.\.\.$"):
        Sequential([Dense(2, 1, rng=0)]).fit(x, y, **FIT)


def test_an_explosion_with_a_finite_loss_stops_training():
    # Adam with lr 1e6: each step moves every weight by about 1e6, the logits reach 1e7 and more; the
    # cross-entropy stays finite (about 1e7) but the network has learned nothing
    x, y = blobs(200)
    model = Sequential([Dense(2, 16, rng=0), Dense(16, 3, rng=1)])
    with pytest.raises(FloatingPointError, match=r"^the mean training loss of epoch 1 is \S+, more than 10000 times the first "
                                                  r"batch's \S+: training diverged\. Try a lower learning rate \(lr=1e\+06 now\)\.$"):
        model.fit(x, y, loss=CrossEntropy(), optimizer=Adam(1e6), epochs=5, batch_size=20, verbose=0)


class FixedLoss(MSE):
    """A loss whose value is set from outside (``level``), with a zero gradient: the divergence rule sees exactly these values."""

    level = 1.0

    def value_and_gradient(self, y_true, y_pred, sample_weight=None):
        _, grad = super().value_and_gradient(y_true, y_pred, sample_weight)
        return self.level, grad * 0


class SetLevel(Callback):
    def __init__(self, loss, levels):
        self.loss, self.levels = loss, levels

    def on_epoch_begin(self, epoch, logs=None):
        self.loss.level = self.levels[epoch - 1]


@pytest.mark.parametrize("first, below, above", [
    (2.0, 2.0 * DIVERGENCE_FACTOR * 0.999, 2.0 * DIVERGENCE_FACTOR * 1.001),  # a multiple of the first batch's loss
    (0.0, DIVERGENCE_FLOOR * DIVERGENCE_FACTOR * 0.999, DIVERGENCE_FLOOR * DIVERGENCE_FACTOR * 1.001),  # a start at 0: the floor
])
def test_the_divergence_rule(first, below, above, tmp_path):
    x, y = regression()
    loss = FixedLoss()
    history = []

    class Record(Callback):
        def on_epoch_end(self, epoch, logs=None):
            history.append(logs["loss"])

    levels = [first, below, above, 1.0]
    with pytest.raises(FloatingPointError, match=r"^the mean training loss of epoch 3 is "):
        Sequential([Dense(2, 1, rng=0)]).fit(x, y, loss=loss, optimizer=SGD(0.1), epochs=4, batch_size=8, verbose=0,
                                            callbacks=[SetLevel(loss, levels), Record()], checkpoint_dir=tmp_path)
    assert history == pytest.approx([first, below])  # epoch 2, just below the limit, ran to its end
    state = read_checkpoint_state(tmp_path)
    assert state["epoch"] == 3 and state["initial_loss"] == first  # the diverged epoch 3 was not checkpointed


def test_a_resumed_run_keeps_the_first_batch_loss_as_its_scale(tmp_path):
    # interrupted after epoch 1 (loss 1), resumed: epoch 2's loss of 2e4 is measured against the saved 1,
    # not against the first batch after the resume, so the resumed run stops as the straight one does
    x, y = regression()
    loss = FixedLoss()
    model = Sequential([Dense(2, 1, rng=0)])

    class StopAfterFirstEpoch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    model.fit(x, y, loss=loss, optimizer=SGD(0.1), epochs=3, batch_size=8, verbose=0,
              callbacks=[SetLevel(loss, [1.0, 1.0, 1.0]), StopAfterFirstEpoch()], checkpoint_dir=tmp_path)
    assert read_checkpoint_state(tmp_path)["initial_loss"] == 1.0
    with pytest.raises(FloatingPointError, match=r"epoch 2 is 2e\+04, more than 10000 times the first batch's 1:"):
        model.fit(x, y, loss=loss, optimizer=SGD(0.1), epochs=3, batch_size=8, verbose=0,
                  callbacks=[SetLevel(loss, [1.0, 2e4, 2e4])], checkpoint_dir=tmp_path, resume=True)

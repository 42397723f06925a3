"""Checkpoints that survive a crash: SIGKILL mid-epoch or mid-write, then resume to the same weights."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import numnet
from numnet.checkpoints import CheckpointError, checkpoint_path, load_checkpoint
from numnet.layers import Dense
from numnet.losses import MSE
from numnet.optimizers import SGD, Adam

TRAINING_RUN = textwrap.dedent('''
    import os, signal, sys
    import numpy as np
    import numnet
    from numnet.augmentation import ImageAugmenter
    from numnet.callbacks import Callback, EarlyStopping, LearningRateScheduler
    from numnet.datasets import load_digits_sample, scale
    from numnet.layers import BatchNorm1d, Dense, Dropout, Flatten, ReLU
    from numnet.losses import CrossEntropy
    from numnet.optimizers import Adam
    from numnet.schedules import StepLR

    checkpoint_dir, final_path = sys.argv[1], sys.argv[2]
    kill_at = tuple(int(v) for v in os.environ["KILL_AT"].split(",")) if "KILL_AT" in os.environ else None
    kill_in_write = int(os.environ.get("KILL_IN_CHECKPOINT_WRITE", 0))

    if kill_in_write:  # die inside the n-th checkpoint write: after the data, before the rename
        real_fsync, calls = os.fsync, [0]
        def fsync(fd):
            real_fsync(fd)
            calls[0] += 1
            if calls[0] == kill_in_write:
                os.kill(os.getpid(), signal.SIGKILL)
        os.fsync = fsync

    class KillAt(Callback):
        def on_train_begin(self, logs=None):
            if os.environ.get("SAY_READY"):  # for a parent that kills this process at a moment of its choosing
                print("ready", flush=True)
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if (self.epoch, batch) == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    (x, y), _ = load_digits_sample()
    x, y = scale(x[:1000]), y[:1000]
    model = numnet.Sequential([Flatten(), Dense(784, 32, rng=1), BatchNorm1d(32), ReLU(), Dropout(0.3, rng=2),
                               Dense(32, 10, rng=3)], input_shape=(28, 28))
    optimizer = Adam(0.01)
    model.fit(x, y, loss=CrossEntropy(), optimizer=optimizer, epochs=int(os.environ.get("EPOCHS", 4)), batch_size=50, seed=7,
              validation_split=0.1,
              augment=ImageAugmenter(), verbose=0, checkpoint_dir=checkpoint_dir, resume=True,
              callbacks=[LearningRateScheduler(StepLR(optimizer, 2, 0.5)), EarlyStopping("val_loss", patience=10), KillAt()])
    model.save(final_path)
''')


def run(tmp_path, checkpoint_dir, final, env):
    script = tmp_path / "training_run.py"
    script.write_text(TRAINING_RUN)
    return subprocess.run([sys.executable, str(script), str(checkpoint_dir), str(final)], env=env, capture_output=True,
                          text=True, timeout=300)


def weights(path):
    return numnet.load(path).get_weights()


def assert_identical(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, subprocess_env):
    tmp_path = tmp_path_factory.mktemp("straight")
    done = run(tmp_path, tmp_path / "checkpoints", tmp_path / "final.safetensors", subprocess_env)
    assert done.returncode == 0, done.stderr
    return weights(tmp_path / "final.safetensors")


def test_sigkill_mid_epoch_then_resume_gives_bit_identical_weights(tmp_path, uninterrupted, subprocess_env):
    killed = run(tmp_path, tmp_path / "checkpoints", tmp_path / "final.safetensors", {**subprocess_env, "KILL_AT": "3,7"})
    assert killed.returncode == -signal.SIGKILL
    assert checkpoint_path(tmp_path / "checkpoints").exists() and not (tmp_path / "final.safetensors").exists()
    resumed = run(tmp_path, tmp_path / "checkpoints", tmp_path / "final.safetensors", subprocess_env)
    assert resumed.returncode == 0, resumed.stderr
    assert_identical(weights(tmp_path / "final.safetensors"), uninterrupted)


def test_sigkill_during_a_checkpoint_write_keeps_the_previous_one(tmp_path, uninterrupted, subprocess_env):
    killed = run(tmp_path, tmp_path / "checkpoints", tmp_path / "final.safetensors",
                 {**subprocess_env, "KILL_IN_CHECKPOINT_WRITE": "3"})
    assert killed.returncode == -signal.SIGKILL
    # the third write died before its rename: the second checkpoint (end of epoch 2) is intact
    model = numnet.Sequential([Dense(2, 2)])
    with pytest.raises(CheckpointError, match="different model architecture"):
        load_checkpoint(tmp_path / "checkpoints", model, Adam())
    from numnet.tensorfile import read_tensor_file

    _, header = read_tensor_file(checkpoint_path(tmp_path / "checkpoints"), "numnet-checkpoint")
    assert '"epoch": 3' in header["state"] and '"batches_done": 0' in header["state"]
    resumed = run(tmp_path, tmp_path / "checkpoints", tmp_path / "final.safetensors", subprocess_env)
    assert resumed.returncode == 0, resumed.stderr
    assert_identical(weights(tmp_path / "final.safetensors"), uninterrupted)


def small_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    return x, x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)


def test_resume_without_a_checkpoint_starts_fresh_and_a_finished_run_stays_finished(tmp_path):
    x, y = small_problem()
    model = numnet.Sequential([Dense(3, 1, rng=0)])
    history = model.fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=3, batch_size=8, seed=0, verbose=0,
                        checkpoint_dir=tmp_path, resume=True)
    assert history.epoch == [1, 2, 3]
    again = numnet.Sequential([Dense(3, 1, rng=5)])
    history = again.fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=3, batch_size=8, seed=0, verbose=0,
                        checkpoint_dir=tmp_path, resume=True)
    assert history.epoch == [1, 2, 3]  # nothing left to train: the history comes from the checkpoint
    np.testing.assert_array_equal(again.layers[0].weight, model.layers[0].weight)


def test_resume_refuses_a_different_run_or_optimizer(tmp_path):
    x, y = small_problem()
    numnet.Sequential([Dense(3, 1, rng=0)]).fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=1, batch_size=8,
                                                verbose=0, checkpoint_dir=tmp_path)
    with pytest.raises(CheckpointError, match="holds a SGD optimizer state; this run uses Adam"):
        numnet.Sequential([Dense(3, 1)]).fit(x, y, loss=MSE(), optimizer=Adam(), epochs=1, batch_size=8, verbose=0,
                                             checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(CheckpointError, match="belongs to a different run"):
        numnet.Sequential([Dense(3, 1)]).fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=1, batch_size=4, verbose=0,
                                             checkpoint_dir=tmp_path, resume=True)
    # a state with slots the optimizer does not keep (as an older numnet's Adam "m"/"v"): refused, weights untouched
    from numnet.tensorfile import read_tensor_file, write_tensor_file

    tensors, header = read_tensor_file(checkpoint_path(tmp_path), "numnet-checkpoint")
    tensors["optimizer.0.weight.m"] = np.zeros((1, 3), np.float32)
    write_tensor_file(checkpoint_path(tmp_path), tensors, {k: v for k, v in header.items() if k != "sha256"})
    fresh = numnet.Sequential([Dense(3, 1, rng=7)])
    before = fresh.layers[0].weight.copy()
    with pytest.raises(CheckpointError, match=r"checkpoint.safetensors: SGD.load_state_dict: parameter 0.weight has state 'm'"):
        fresh.fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=1, batch_size=8, verbose=0, checkpoint_dir=tmp_path,
                  resume=True)
    np.testing.assert_array_equal(fresh.layers[0].weight, before)
    # a weight the model refuses (NaN): the optimizer keeps its own state too
    del tensors["optimizer.0.weight.m"]
    tensors["model.0.bias"] = np.array([np.nan], np.float32)
    write_tensor_file(checkpoint_path(tmp_path), tensors, {k: v for k, v in header.items() if k != "sha256"})
    optimizer = SGD(0.1)
    with pytest.raises(CheckpointError, match=r"checkpoint.safetensors: tensor 0.bias contains NaN or infinite values"):
        fresh.fit(x, y, loss=MSE(), optimizer=optimizer, epochs=1, batch_size=8, verbose=0, checkpoint_dir=tmp_path,
                  resume=True)
    assert optimizer.iterations == 0 and optimizer.state == {}
    np.testing.assert_array_equal(fresh.layers[0].weight, before)
    checkpoint_path(tmp_path).write_bytes(b"broken")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        numnet.Sequential([Dense(3, 1)]).fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=1, batch_size=8, verbose=0,
                                             checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match="resume=True needs a checkpoint_dir"):
        numnet.Sequential([Dense(3, 1)]).fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=1, verbose=0, resume=True)


def test_ctrl_c_saves_a_mid_epoch_checkpoint_that_resumes_exactly(tmp_path):
    from numnet.augmentation import ImageAugmenter
    from numnet.callbacks import Callback
    from numnet.layers import Dropout, Flatten, ReLU
    from numnet.losses import CrossEntropy

    class CtrlC(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if (self.epoch, batch) == (2, 3):
                os.kill(os.getpid(), signal.SIGINT)

    rng = np.random.default_rng(0)
    x, y = rng.random((64, 6, 6), dtype=np.float32), rng.integers(0, 3, 64)

    def model():
        return numnet.Sequential([Flatten(), Dense(36, 16, rng=1), ReLU(), Dropout(0.2, rng=2), Dense(16, 3, rng=3)])

    def fit(net, **kwargs):
        return net.fit(x, y, loss=CrossEntropy(), optimizer=kwargs.pop("optimizer"), epochs=3, batch_size=8, seed=4,
                       augment=ImageAugmenter(), verbose=0, **kwargs)

    straight = model()
    fit(straight, optimizer=Adam(0.01))
    interrupted = model()
    history = fit(interrupted, optimizer=Adam(0.01), callbacks=[CtrlC()], checkpoint_dir=tmp_path)
    assert history.interrupted and history.epoch == [1]
    resumed = model()
    history = fit(resumed, optimizer=Adam(0.01), checkpoint_dir=tmp_path, resume=True)
    assert history.epoch == [1, 2, 3]
    assert_identical(resumed.get_weights(), straight.get_weights())


@pytest.mark.parametrize("key, text, message", [
    ("state", "[" * 100_000 + "]" * 100_000, r"the checkpoint's header is not valid \(the JSON nests 100000 levels deep"),
    ("state", '{"epoch": NaN}', r"the checkpoint's header is not valid \(NaN is not a JSON number"),
    ("optimizer", '{"type": "SGD", "iterations": ' + "9" * 5000 + "}", r"the checkpoint's header is not valid \(the integer 9+\.\.\. has 5000 digits"),
    ("optimizer", "[]", r"the checkpoint's header is not valid \(its optimizer and state must be JSON objects\)"),
    ("state", "5", r"its optimizer and state must be JSON objects"),
])
def test_crafted_checkpoint_headers_raise_checkpoint_error(tmp_path, key, text, message):
    from numnet.tensorfile import read_tensor_file, write_tensor_file

    x, y = small_problem()
    model = numnet.Sequential([Dense(3, 1, rng=0)])
    model.fit(x, y, loss=MSE(), optimizer=SGD(0.1), epochs=1, batch_size=8, verbose=0, checkpoint_dir=tmp_path)
    tensors, header = read_tensor_file(checkpoint_path(tmp_path), "numnet-checkpoint")
    header = {**{k: v for k, v in header.items() if k != "sha256"}, key: text}
    write_tensor_file(checkpoint_path(tmp_path), tensors, header)  # signed, so the header's content is what is refused
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path, model, SGD(0.1))


KILL_LOOP_EPOCHS, BATCHES_PER_EPOCH = 12, 18  # 900 training digits in batches of 50


def loop_model_and_optimizer():
    """The network and optimizer of TRAINING_RUN, fresh, to load its checkpoints into."""
    from numnet.layers import BatchNorm1d, Dropout, Flatten, ReLU

    model = numnet.Sequential([Flatten(), Dense(784, 32, rng=1), BatchNorm1d(32), ReLU(), Dropout(0.3, rng=2),
                               Dense(32, 10, rng=3)], input_shape=(28, 28))
    return model, Adam(0.01)


@pytest.mark.slow
def test_random_sigkills_never_leave_an_unloadable_checkpoint_and_the_run_ends_as_an_uninterrupted_one(tmp_path, subprocess_env):
    """At least 20 SIGKILLs at random moments: after a random batch, inside one of the next two checkpoint
    writes (its data written, before the rename), or from outside after a random delay within half the time the rest
    of the run takes, which lands anywhere in its first half.
    After each, the checkpoint must load; resumed again and again, the run must end with the weights of a
    run never interrupted, bit for bit."""
    env = {**subprocess_env, "EPOCHS": str(KILL_LOOP_EPOCHS)}
    script, checkpoints, final = tmp_path / "training_run.py", tmp_path / "checkpoints", tmp_path / "final.safetensors"
    script.write_text(TRAINING_RUN)
    straight = subprocess.Popen([sys.executable, str(script), str(tmp_path / "straight"), str(tmp_path / "straight.safetensors")],
                                env={**env, "SAY_READY": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert straight.stdout.readline() == "ready\n"
    started = time.perf_counter()
    _, err = straight.communicate(timeout=300)
    assert straight.returncode == 0, err
    # an outside kill waits at most half as long as the batches left take, so that it lands inside the run
    seconds_per_batch = (time.perf_counter() - started) / (KILL_LOOP_EPOCHS * BATCHES_PER_EPOCH)
    rng = np.random.default_rng(2024)
    kills, unloadable, epochs_seen, position = [], 0, [], 1  # position: the epoch a resumed run starts
    for attempt in range(30):
        remaining = (KILL_LOOP_EPOCHS - position + 1) * BATCHES_PER_EPOCH
        if remaining == 0:  # a kill landed after the last epoch's checkpoint: only the final save is left
            break
        how = ["batch", "write", "outside"][attempt % 3] if remaining > 2 * BATCHES_PER_EPOCH else "batch"
        child_env = dict(env)
        if how == "batch":  # within the next epoch and a half: most kills lose the epoch under way
            step = int(rng.integers(1, min(remaining, BATCHES_PER_EPOCH * 3 // 2) + 1))
            epoch, batch = divmod((position - 1) * BATCHES_PER_EPOCH + step - 1, BATCHES_PER_EPOCH)
            child_env["KILL_AT"] = f"{epoch + 1},{batch + 1}"
        elif how == "write":
            child_env["KILL_IN_CHECKPOINT_WRITE"] = str(int(rng.integers(1, 3)))
        else:
            child_env["SAY_READY"] = "1"
        child = subprocess.Popen([sys.executable, str(script), str(checkpoints), str(final)], env=child_env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if how == "outside":
            assert child.stdout.readline() == "ready\n"
            try:
                child.wait(timeout=float(rng.uniform(0, remaining * seconds_per_batch / 2)))
            except subprocess.TimeoutExpired:
                child.kill()
        _, err = child.communicate(timeout=300)
        if child.returncode == 0:
            break  # the run has ended before an outside kill
        assert child.returncode == -signal.SIGKILL, err
        kills.append(how)
        if checkpoint_path(checkpoints).exists():
            model, optimizer = loop_model_and_optimizer()
            try:
                state = load_checkpoint(checkpoints, model, optimizer)
            except CheckpointError:
                unloadable += 1
                continue
            position = state["epoch"]
            epochs_seen.append(position)
    if not final.exists():
        done = subprocess.run([sys.executable, str(script), str(checkpoints), str(final)], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    assert len(kills) >= 20 and set(kills) == {"batch", "write", "outside"}, kills
    assert unloadable == 0
    assert epochs_seen == sorted(epochs_seen)  # a kill never loses more than the epoch under way
    assert_identical(weights(final), weights(tmp_path / "straight.safetensors"))

"""One process per run folder, and checkpoints that record the settings of their run."""

import os
import subprocess
import sys
import textwrap
import threading

import pytest

from numnet.checkpoints import CheckpointError, save_checkpoint
from numnet.layers import Dense
from numnet.model import Sequential
from numnet.optimizers import SGD
from numnet.run_folder import (
    LOCK_NAME, RunFolderError, RunSettings, check_checkpoint_settings, holds_run, recorded_settings, run_folder_lock,
)

HOLD = textwrap.dedent("""
    import sys, time
    from numnet.run_folder import run_folder_lock
    with run_folder_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(60)
""")


def test_a_second_process_is_refused_naming_the_folder_and_the_holder(tmp_path, subprocess_env):
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True, env=subprocess_env)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(RunFolderError, match=rf"^the run folder {folder} is in use by another numnet train "
                                                 rf"\(process {holder.pid}\); wait for it to end, or train into another folder$"):
            with run_folder_lock(folder):
                pass
    finally:
        holder.kill()
        holder.wait()
    with run_folder_lock(folder):  # a killed holder's lock goes with it; its file is taken over
        assert (folder / LOCK_NAME).read_text() == f"{os.getpid()}\n"
    assert not (folder / LOCK_NAME).exists()


def test_another_thread_is_refused_too_and_the_lock_file_goes_when_released(tmp_path):
    folder = tmp_path / "a" / "run"
    refused = []

    def second():
        try:
            with run_folder_lock(folder):
                pass
        except RunFolderError as error:
            refused.append(error)

    with run_folder_lock(folder):  # creates the folder and its parents
        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
        assert len(refused) == 1 and (folder / LOCK_NAME).exists()
    assert list(folder.iterdir()) == []
    with run_folder_lock(folder):  # free again
        pass


def test_the_lock_is_released_when_the_block_raises(tmp_path):
    with pytest.raises(KeyError):
        with run_folder_lock(tmp_path):
            raise KeyError("boom")
    with run_folder_lock(tmp_path):
        pass


def test_holds_run(tmp_path):
    assert not holds_run(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    assert not holds_run(tmp_path)
    (tmp_path / "checkpoints" / "checkpoint.safetensors").write_bytes(b"")
    assert holds_run(tmp_path)


def test_checkpoints_are_checked_against_the_settings_of_the_run(tmp_path):
    model, settings = Sequential([Dense(2, 1, rng=0)]), {"seed": 0, "lr": 0.1}
    check_checkpoint_settings(tmp_path, settings)  # no checkpoint: nothing to check
    state = {"callbacks": [{}, RunSettings(settings).state_dict()]}
    save_checkpoint(tmp_path / "checkpoints", model, SGD(0.1), state)
    assert recorded_settings(state) == settings
    check_checkpoint_settings(tmp_path, settings)
    with pytest.raises(CheckpointError, match=r"checkpoint\.safetensors was written under other settings than this run's "
                                              r"\(seed: 0 in the checkpoint, 1 now\); resuming it would mix two runs"):
        check_checkpoint_settings(tmp_path, {"seed": 1, "lr": 0.1})
    save_checkpoint(tmp_path / "checkpoints", model, SGD(0.1), {"callbacks": [{}]})
    with pytest.raises(CheckpointError, match=r"does not record the settings of its run"):
        check_checkpoint_settings(tmp_path, settings)

import os
import subprocess
import sys
import time

import pytest

from numnet._files import STALE_SECONDS, UNNAMED_WRITER_STALE_SECONDS, atomic_write, remove_stale_temporaries

posix_only = pytest.mark.skipif(os.name != "posix", reason="a writer's liveness is probed with os.kill(pid, 0), on POSIX")


def age(path, seconds):
    """Set the modification time of ``path`` ``seconds`` into the past."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def start_writer(path, subprocess_env, then="kill"):
    """A child process that opens atomic_write(path), writes into it, and then kills itself (``then="kill"``)
    or waits for a line on stdin before finishing (``then="wait"``); returned once the temporary file exists."""
    code = (
        "import os, signal, sys\n"
        "from numnet._files import atomic_write\n"
        f"with atomic_write({str(path)!r}) as file:\n"
        "    file.write(b'partial'); file.flush()\n"
        "    print('writing', flush=True)\n"
        + ("    os.kill(os.getpid(), signal.SIGKILL)\n" if then == "kill" else "    sys.stdin.readline()\n")
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=subprocess_env, text=True)
    assert child.stdout.readline() == "writing\n"
    return child


@posix_only
def test_the_next_write_removes_what_a_killed_write_left(tmp_path, subprocess_env):
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"good")
    child = start_writer(target, subprocess_env)
    assert child.wait(timeout=60) == -9
    (leftover,) = [p for p in tmp_path.iterdir() if p.name != "model.safetensors"]
    assert leftover.name.startswith(f".model.safetensors.{child.pid}.") and leftover.name.endswith(".tmp")
    assert target.read_bytes() == b"good"  # the killed write changed nothing

    with atomic_write(target) as file:  # a leftover changed moments ago is kept: its writer may be on another machine
        file.write(b"second")
    assert names(tmp_path) == sorted([leftover.name, "model.safetensors"])

    age(leftover, STALE_SECONDS + 5)
    with atomic_write(target) as file:
        file.write(b"third")
    assert names(tmp_path) == ["model.safetensors"] and target.read_bytes() == b"third"


@posix_only
def test_a_live_writers_temporary_file_is_kept(tmp_path, subprocess_env):
    target = tmp_path / "model.safetensors"
    child = start_writer(target, subprocess_env, then="wait")
    try:
        (temporary,) = tmp_path.iterdir()
        age(temporary, 3 * UNNAMED_WRITER_STALE_SECONDS)  # however old: its writer is running
        with atomic_write(target) as file:
            file.write(b"mine")
        assert temporary.exists() and target.read_bytes() == b"mine"
    finally:
        child.communicate("done\n", timeout=60)
    assert child.returncode == 0 and names(tmp_path) == ["model.safetensors"] and target.read_bytes() == b"partial"


def test_this_processs_own_temporary_files_are_kept(tmp_path):
    # another thread of this process may be writing the same target
    target = tmp_path / "a.json"
    own = tmp_path / f".a.json.{os.getpid()}.abcd1234.tmp"
    own.write_bytes(b"")
    age(own, 10 * STALE_SECONDS)
    assert remove_stale_temporaries(target) == [] and own.exists()


@posix_only
def test_only_our_own_temporary_names_for_the_same_target_are_removed(tmp_path):
    dead = dead_pid()
    target = tmp_path / "m.safetensors"
    keep = [
        f".other.safetensors.{dead}.abcd1234.tmp",  # another target
        "m.safetensors.tmp", f".m.safetensors.{dead}.abcd1234.tmp.bak", f".m.safetensors.{dead}.ABCD1234.tmp",
        f".m.safetensors.{dead}.abc.tmp", f"x.m.safetensors.{dead}.abcd1234.tmp",
        ".m.safetensors.abcd1234.tmp",  # no writer's id in the name, but younger than an hour
    ]
    remove = [f".m.safetensors.{dead}.abcd1234.tmp", f".m.safetensors.{dead}.__x9_0zq.tmp", ".m.safetensors.zzzz9999.tmp"]
    for name in keep + remove:
        (tmp_path / name).write_bytes(b"")
        age(tmp_path / name, STALE_SECONDS + 5)
    age(tmp_path / ".m.safetensors.zzzz9999.tmp", UNNAMED_WRITER_STALE_SECONDS + 5)
    (tmp_path / f".m.safetensors.{dead}.dir00000.tmp").mkdir()  # a folder is never removed
    removed = remove_stale_temporaries(target)
    assert sorted(p.name for p in removed) == sorted(remove)
    assert names(tmp_path) == sorted(keep + [f".m.safetensors.{dead}.dir00000.tmp"])


def test_cleaning_never_fails_a_write(tmp_path):
    assert remove_stale_temporaries(tmp_path / "missing-folder" / "m.json") == []
    with atomic_write(tmp_path / "new-folder" / "m.json") as file:
        file.write(b"{}")
    assert (tmp_path / "new-folder" / "m.json").read_bytes() == b"{}"


def dead_pid():
    """The id of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid

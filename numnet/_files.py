"""Writing files so that a crash never leaves a half-written one in place of a good one, nor its debris for long.

A write goes to a temporary file beside the target, named ".<target name>.<writer's process id>.<random>.tmp",
which is renamed over the target once complete. A process killed while writing leaves that temporary
file behind; the next write of the same target removes it, once its writer is gone.
"""

import contextlib
import os
import re
import stat
import tempfile
import time
from pathlib import Path


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_current_umask()  # what open() would give a new file; mkstemp's 0600 is too strict
#: a temporary file whose writer is gone is removed only once it is this old: a writer on another machine
#: sharing the folder may have the number of a process that is not running here
STALE_SECONDS = 10
#: temporary files named without a process id (left by numnet before it put one in the name) are
#: removed once they are this old
UNNAMED_WRITER_STALE_SECONDS = 3600


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Yield a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    On any error the temporary file is removed and ``path`` is left as it was. Temporary files that
    killed writes of ``path`` left behind are removed first (remove_stale_temporaries).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, _FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _temporary_name(target_name):
    """The names atomic_write gives temporary files for ``target_name``: with the writer's process id, or
    without one (older numnet); the random part is tempfile's, 8 letters, digits or underscores."""
    return re.compile(rf"\.{re.escape(target_name)}\.(?:(?P<pid>\d+)\.)?[a-z0-9_]{{8}}\.tmp")


def _process_running(pid):
    """Whether process ``pid`` runs on this machine (True when that cannot be told)."""
    if os.name != "posix" or pid <= 0:
        return True  # os.kill(pid, 0) probes only on POSIX; elsewhere it would end the process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OverflowError:
        return False  # no process has so large a number
    except OSError:
        return True  # it exists, under another user (PermissionError)
    return True


def remove_stale_temporaries(path):
    """Remove the temporary files that killed writes of ``path`` left beside it; return their paths.

    Only regular files named as atomic_write names the temporary files of this very target are
    considered, and only those whose writer is gone are removed: the process id in the name is not
    running (never this process's own, which may be a write in progress in another thread) and the
    file has not changed for STALE_SECONDS; without a process id in the name, it has not changed for
    UNNAMED_WRITER_STALE_SECONDS. A file that cannot be removed is left: cleaning never fails a write.
    """
    path = Path(path)
    pattern = _temporary_name(path.name)
    prefix = f".{path.name}."
    now = time.time()
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix) or not entry.name.endswith(".tmp"):
            continue
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        age = now - info.st_mtime
        pid = match.group("pid")
        if pid is None:
            stale = age > UNNAMED_WRITER_STALE_SECONDS
        else:
            stale = age > STALE_SECONDS and int(pid) != os.getpid() and not _process_running(int(pid))
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed

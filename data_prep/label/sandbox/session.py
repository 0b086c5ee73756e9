"""The temporary folder one labeller process keeps for its candidates, and the cleanup of folders that
labellers killed outright (SIGKILL, OOM killer, node failure) left behind.

Each labeller process makes one session folder ``$TMPDIR/data_prep_sandbox.<pid>.<random>`` holding
one host folder per running candidate, and keeps an exclusive ``flock`` on it for as long as it
lives (the kernel drops the lock when the process dies, however it dies). The folder is removed at
exit; a later labeller removes any session folder whose lock is free, so a killed run's folders
disappear with the next run (the lock, not the pid, decides: safe across PID namespaces sharing a
``/tmp``). Folders of running labellers are never touched.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import secrets
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from data_prep.label.sandbox.cgroups import SESSION_PREFIX

_STAGING_PREFIX = ".data_prep_sandbox_new."


def _lock_is_free(folder: Path) -> bool:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # releases the probe's lock, if it got it


def sweep_stale_folders(base: str | os.PathLike) -> list[Path]:
    """Remove session folders under ``base`` whose labeller is gone; returns what was removed."""
    removed = []
    for folder in Path(base).glob(f"{SESSION_PREFIX}*"):
        if folder.is_dir() and not folder.is_symlink() and _lock_is_free(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@lru_cache(maxsize=1)
def session_folder() -> str:
    """This process's session folder: created (locked) on first use, removed at exit."""
    base = tempfile.gettempdir()
    sweep_stale_folders(base)
    # Locked before it gets its final name, so a sweeping labeller never sees it unlocked.
    staging = tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=base)
    lock = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(lock, fcntl.LOCK_EX)
    folder = os.path.join(base, f"{SESSION_PREFIX}{os.getpid()}.{secrets.token_hex(4)}")
    os.rename(staging, folder)
    atexit.register(_end_session, folder, lock)
    return folder


def _end_session(folder: str, lock: int) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    os.close(lock)

"""Find and stop the processes of one Ray cluster, told apart from any other Ray on the machine by
the cluster's own temp folder (``RAY_TMPDIR``)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def processes_using(directory: str) -> set[int]:
    """Live processes with a file open, their working directory or an argument under ``directory``.

    Every Ray process of a run (GCS, raylet, agents, workers) keeps its log files open in the run's
    Ray session folder, so this finds the run's own Ray processes and no one else's.
    """
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            paths = [os.readlink(entry / "cwd")]
            for fd in (entry / "fd").iterdir():
                try:
                    paths.append(os.readlink(fd))
                except OSError:  # closed meanwhile
                    pass
            paths.append((entry / "cmdline").read_bytes().decode(errors="replace"))
        except OSError:  # exited meanwhile, or a zombie
            continue
        if any(directory in path for path in paths):
            found.add(int(entry.name))
    return found


def stop_processes_using(ray_tmp: str, grace_s: float = 30.0) -> set[int]:
    """The run's Ray processes still alive after a grace period for shutdown; they are then killed,
    so that a failing run does not leave them behind either."""
    deadline = time.monotonic() + grace_s
    while (left := processes_using(ray_tmp)) and time.monotonic() < deadline:
        time.sleep(1.0)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left

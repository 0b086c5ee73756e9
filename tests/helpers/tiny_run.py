"""Starting, stopping and cleaning up ``scripts/run_corpo_tiny_cpu.sh`` runs for the end-to-end tests.

Each run gets its own Ray temp folder, which tells its Ray processes from those of any other Ray on
the machine (``recipe.corpo.launch.ray_processes.processes_using``), and runs in a network namespace whose
only address is 127.0.0.1 (tests/helpers/loopback_namespace.py): its ports are its own and can be reached
from nowhere else. Every process is stopped by its id, never by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from recipe.corpo.launch.ray_processes import ADDRESS_FILE, processes_using
from tests.helpers.loopback_namespace import LoopbackNamespace

REPO = Path(__file__).resolve().parents[2]
#: Ray's default folder's address file: a later ``ray.init(address="auto")`` joins the cluster it names
DEFAULT_ADDRESS_FILE = Path(tempfile.gettempdir()) / "ray" / ADDRESS_FILE


def read_default_address() -> str | None:
    return DEFAULT_ADDRESS_FILE.read_text() if DEFAULT_ADDRESS_FILE.exists() else None


def address_files(ray_tmp: str | Path) -> list[Path]:
    """The ``ray_current_cluster`` files left under a run's Ray folder (a later run joins what they name)."""
    return sorted(Path(ray_tmp).rglob(ADDRESS_FILE))


def session_members(session_id: int) -> set[int]:
    """The processes of a session (a script started with ``start_new_session``, and its children)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session_id:
            found.add(int(entry.name))
    return found


def _signal_all(pids: set[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def kill_session(session_id: int) -> None:
    """SIGKILL every process of a session (the script, ``timeout`` and the trainer it started)."""
    _signal_all(session_members(session_id), signal.SIGKILL)


def kill_run(script: subprocess.Popen, ray_tmp: str, quiet_s: float = 3.0, limit_s: float = 60.0) -> set[int]:
    """End a run as a node failure would: the script's session (driver included) and every Ray
    process of the run are stopped at once (SIGSTOP, so none reacts to another's death), then
    SIGKILLed; repeated for processes that show up meanwhile (a worker still starting when its
    parent died), until none has for ``quiet_s``. Returns the ids killed."""
    killed = set()
    deadline, quiet_since = time.monotonic() + limit_s, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < quiet_s:
        pids = (session_members(script.pid) | processes_using(ray_tmp)) - killed
        if pids:
            _signal_all(pids, signal.SIGSTOP)
            _signal_all(pids, signal.SIGKILL)
            killed |= pids
            quiet_since = time.monotonic()
        time.sleep(0.5)
    script.wait(timeout=30)
    return killed


def ray_processes_left(ray_tmp: str, grace_s: float = 30.0) -> set[int]:
    """The run's Ray processes still alive after a grace period for shutdown; they are then killed,
    so that a failing run does not leave them behind either."""
    deadline = time.monotonic() + grace_s
    while (left := processes_using(ray_tmp)) and time.monotonic() < deadline:
        time.sleep(1.0)
    _signal_all(left, signal.SIGKILL)
    return left


def start(out_dir: Path, tiny_home: Path, ray_tmp: str, overrides: tuple[str, ...], *, namespace: LoopbackNamespace,
          steps: int, timeout_s: int, stdout=subprocess.PIPE, **env: str) -> subprocess.Popen:
    """``bash scripts/run_corpo_tiny_cpu.sh OVERRIDES`` in a session of its own, in ``namespace``,
    writing to ``out_dir``."""
    environment = {
        **os.environ,
        "PYTHON": sys.executable,
        "STEPS": str(steps),
        "OUT_DIR": str(out_dir),
        "CORPO_TINY_HOME": str(tiny_home),
        "TIMEOUT_S": str(timeout_s),
        "RAY_TMPDIR": ray_tmp,
        **env,
    }
    environment.pop("RAY_ADDRESS", None)  # a cluster of its own
    return subprocess.Popen(
        namespace.command(["bash", str(REPO / "scripts" / "run_corpo_tiny_cpu.sh"), *overrides]),
        env=environment,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

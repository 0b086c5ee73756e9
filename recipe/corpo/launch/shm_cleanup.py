"""Run a command, then remove the /dev/shm files and temporary files its processes left behind.

    python -m recipe.corpo.launch.shm_cleanup -- COMMAND [ARGS...]

Why: a vLLM engine keeps its message queues in POSIX shared memory (``/dev/shm/psm_*``, 160 MB and
240 MB for the tiny CPU run) and unlinks them when it shuts down. At the end of a verl run Ray kills
the rollout server's actor, and the engine processes under it die without shutting down: every
run leaked ~400 MB of RAM-backed files until reboot.

How: the command runs as a child; this process becomes a child subreaper (Linux), so every process
the command starts (Ray's raylet and workers, vLLM's engine and workers) stays its descendant. While
they run, the /dev/shm files they have mapped are recorded (polled every second). When the command
has ended and its descendants are gone (or after a grace period), recorded files that still exist
are removed. Files of any other program on the machine are never touched: only names this run's own
processes had mapped. The exit status is the command's.

The run's processes also leave files in the temp folder: vLLM's engine IPC sockets (``<uuid4>``,
about 50 per engine, never unlinked when Ray kills it) and ``vllm_dist_*`` files, verl's checkpoint
locks (``ckpt_*.lock``), multiprocessing's ``pymp-*`` folders. So the command gets a temp folder of
its own (``TMPDIR=$TMPDIR/corpo-run-*``, inherited by the Ray cluster the run starts), removed at
the end; Ray's own folder stays where it would have been (``RAY_TMPDIR`` is pinned to it).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHM = Path("/dev/shm")
PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 30.0  # for the run's processes to exit after the command ended


def _become_subreaper() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: descendants are still found while their parents live
        pass


def _parents() -> dict[int, int]:
    """{pid: parent pid} of every live process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):  # exited meanwhile
                pass
    return found


def descendants(root: int, known: set[int]) -> set[int]:
    """Live descendants of ``root``, also through ``known`` processes whose parents have exited."""
    parents = _parents()
    found = {pid for pid in known if pid in parents} | {root}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in found and pid not in found}
        found |= children
        grew = bool(children)
    found.discard(root)
    return found


def mapped_shm(pids: set[int]) -> set[str]:
    """Names of the /dev/shm files these processes have mapped."""
    names = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text(errors="replace")
        except OSError:
            continue
        for line in maps.splitlines():
            if " /dev/shm/" in line:
                names.add(line.split(" /dev/shm/", 1)[1].removesuffix(" (deleted)"))
    return names


def _reap() -> None:
    """Collect exited orphans that were handed to this subreaper."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def run(command: list[str], poll_s: float = 1.0) -> int:
    _become_subreaper()
    env = dict(os.environ)
    env.setdefault("RAY_TMPDIR", env.get("TMPDIR", "/tmp"))  # where Ray would go without the TMPDIR below
    run_tmp = env["TMPDIR"] = tempfile.mkdtemp(prefix="corpo-run-")
    child = subprocess.Popen(command, env=env)
    for sig in (signal.SIGINT, signal.SIGTERM):  # pass them on; the cleanup still runs
        signal.signal(sig, lambda number, frame: child.send_signal(number))
    known: set[int] = set()
    seen: set[str] = set()
    while child.poll() is None:
        known = descendants(os.getpid(), known)
        seen |= mapped_shm(known)
        time.sleep(poll_s)
    returncode = child.returncode
    deadline = time.monotonic() + GRACE_S
    while (known := descendants(os.getpid(), known)) and time.monotonic() < deadline:
        seen |= mapped_shm(known)
        _reap()
        time.sleep(poll_s)
    shutil.rmtree(run_tmp, ignore_errors=True)
    left = sorted(name for name in seen if (SHM / name).exists())
    if left:
        size_mb = sum((SHM / name).stat().st_size for name in left) / 2**20
        for name in left:
            (SHM / name).unlink(missing_ok=True)
        print(f"[shm cleanup] removed {len(left)} /dev/shm file(s) ({size_mb:.0f} MB) this run's processes left "
              f"behind: {', '.join(left)}", file=sys.stderr)
    return returncode


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())

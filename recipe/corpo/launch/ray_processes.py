"""The processes of one Ray node on this machine, found by the node's Ray folder; stop or kill them.

Every process of a Ray node started with ``ray start --temp-dir=DIR`` (``scripts/ray_multinode.sh``)
or of a local cluster whose folder is DIR keeps a log file open under DIR, or names DIR in its
arguments: GCS, raylet, dashboard, agents, workers, and the drivers of the jobs the node runs
(their output goes to ``DIR/session_*/logs/job-driver-*.log``), with the children those drivers
started. ``ray stop`` stops every Ray process of the machine; this finds those of one node, and
nothing else (never the calling process or its parents).

    python -m recipe.corpo.launch.ray_processes list DIR     # their process ids
    python -m recipe.corpo.launch.ray_processes stop DIR     # SIGTERM, then SIGKILL after --grace-s; removes DIR/ray_current_cluster
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path

#: ``ray start`` writes the cluster's address here; a later ``ray.init()`` on this machine with the
#: same Ray folder connects to it, alive or not
ADDRESS_FILE = "ray_current_cluster"


def _ancestors() -> set[int]:
    """This process and its parents: never stopped, even when their arguments name the folder."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return pids


def _names(path: str, directories: set[str]) -> bool:
    """``path`` (an argument or an open file) is one of ``directories``, lies under one, or is an
    option whose value does (``--temp-dir=DIR``, ``--log_dir=DIR/session_*/logs``)."""
    for directory in directories:
        if path == directory or path.startswith(directory + "/"):
            return True
        if f"={directory}/" in path or path.endswith(f"={directory}"):
            return True
    return False


def processes_using(directory: str | Path) -> set[int]:
    """Live processes with a file open under ``directory``, or an argument naming it or a path under it."""
    directories = {os.path.abspath(directory), os.path.realpath(directory)}
    found, skip = set(), _ancestors()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            paths = list(arguments)
            for fd in (entry / "fd").iterdir():
                try:
                    paths.append(os.readlink(fd))
                except OSError:  # closed meanwhile
                    pass
        except OSError:  # exited meanwhile, or not ours to read
            continue
        if any(_names(path, directories) for path in paths):
            found.add(int(entry.name))
    return found


def _signal(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def kill(directory: str | Path) -> set[int]:
    """SIGKILL every process of the node at once (what a node failure looks like to the others)."""
    pids = processes_using(directory)
    _signal(pids, signal.SIGKILL)
    return pids


def stop(directory: str | Path, grace_s: float = 15.0) -> set[int]:
    """Stop every process of the node: SIGTERM, then SIGKILL whatever is left after ``grace_s``.

    Also removes ``directory/ray_current_cluster``, so no later ``ray.init()`` joins the dead node.
    Returns the process ids it signalled.
    """
    signalled: set[int] = set()
    deadline = time.monotonic() + grace_s
    while (pids := processes_using(directory)) and time.monotonic() < deadline:
        _signal(pids - signalled, signal.SIGTERM)  # again for processes started during the shutdown
        signalled |= pids
        time.sleep(0.5)
    for _ in range(20):  # processes that survive SIGKILL this long are not ours to stop
        if not pids:
            break
        _signal(pids, signal.SIGKILL)
        signalled |= pids
        time.sleep(0.5)
        pids = processes_using(directory)
    if pids:
        raise RuntimeError(f"processes of the Ray node in {directory} survived SIGKILL: {sorted(pids)}")
    (Path(directory) / ADDRESS_FILE).unlink(missing_ok=True)
    return signalled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["list", "stop"])
    parser.add_argument("directory", type=Path, help="the node's Ray folder (ray start --temp-dir)")
    parser.add_argument("--grace-s", type=float, default=15.0, help="stop: seconds between SIGTERM and SIGKILL")
    args = parser.parse_args()
    if args.action == "list":
        print(" ".join(str(pid) for pid in sorted(processes_using(args.directory))))
        return
    pids = stop(args.directory, args.grace_s)
    print(f"[ray_processes] stopped {len(pids)} processes of the Ray node in {args.directory}")


if __name__ == "__main__":
    main()

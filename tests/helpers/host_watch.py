"""What a sandboxed run takes from the host and leaves behind, measured from outside the sandbox.

:class:`HostWatch` samples, every few milliseconds while a block runs, the host's available memory,
the free space of given filesystems and the memory (PSS) of the sandboxes' processes (those whose
``TMPDIR`` lies in a given session folder; they stay visible in the host's /proc inside PID
namespaces).
:func:`leftovers` lists what the sandboxes of labeller processes using a given temporary base left:
processes, session folders, mounts and cgroups. Shared by the hostile tests and the load benchmark.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from data_prep.label.sandbox.cgroups import SESSION_PREFIX, own_groups

MB = 1 << 20


def mem_available() -> int:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def disk_free(path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def processes_with_tmpdir_in(folder) -> list[int]:
    """Processes started with ``TMPDIR`` inside ``folder`` (a sandbox's are: TMPDIR is its W)."""
    marker = (f"TMPDIR={Path(folder)}/".encode(),)
    return [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _environ_has_prefix(pid, marker)]


class HostWatch:
    """``with HostWatch(session) as watch: ...``; then ``watch.memory_drop``, ``watch.disk_drop[path]``,
    ``watch.sandbox_peak`` (bytes: PSS of the processes of sandboxes under the session folder) and
    ``watch.memory_after_drop`` / ``watch.disk_after_drop``."""

    def __init__(self, session_folder, disk_paths=(), interval_s: float = 0.01):
        self.session_folder = session_folder
        self.disk_paths = [str(p) for p in disk_paths]
        self.interval_s = interval_s
        self.sandbox_peak = 0
        self._stop = threading.Event()

    def _sample(self):
        self._memory_low = min(self._memory_low, mem_available())
        for path in self.disk_paths:
            self._disk_low[path] = min(self._disk_low[path], disk_free(path))
        total = sum(pss(pid) for pid in processes_with_tmpdir_in(self.session_folder))
        self.sandbox_peak = max(self.sandbox_peak, total)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval_s)

    def __enter__(self):
        self._memory_before = self._memory_low = mem_available()
        self._disk_before = {path: disk_free(path) for path in self.disk_paths}
        self._disk_low = dict(self._disk_before)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.memory_drop = self._memory_before - self._memory_low
        self.memory_after_drop = self._memory_before - mem_available()
        self.disk_drop = {p: self._disk_before[p] - self._disk_low[p] for p in self.disk_paths}
        self.disk_after_drop = {p: self._disk_before[p] - disk_free(p) for p in self.disk_paths}
        return False


def _environ_has_prefix(pid: str, prefixes: tuple[bytes, ...]) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return any(item.startswith(prefixes) for item in handle.read().split(b"\0"))
    except OSError:
        return False


def session_groups(owner_pid: int) -> list[Path]:
    """The session cgroups of one labeller process (they sit under this process's own groups)."""
    return [group for own in own_groups() for group in own.glob(f"{SESSION_PREFIX}{owner_pid}.*")]


def leftovers(tmp_base, owners) -> dict[str, list]:
    """What the sandboxes of the labeller processes ``owners`` (pids), with temporary base ``tmp_base``,
    left: processes, folders, host mounts, cgroups. For an owner that is this very process (still
    running), its session folder and groups are expected: only what they contain counts (of its
    groups, those holding a process: emptied candidates' groups wait there for the next candidate)."""
    names = tuple(f"{SESSION_PREFIX}{owner}." for owner in owners)
    mine = f"{SESSION_PREFIX}{os.getpid()}."

    def opened(paths):
        return [p for p in paths if not p.name.startswith(mine)] + [
            child for p in paths if p.name.startswith(mine) for child in p.iterdir() if child.is_dir()]

    base = Path(tmp_base)
    markers = tuple(f"TMPDIR={base / name}".encode() for name in names)
    with open("/proc/self/mountinfo") as handle:
        mounts = [line.split()[4] for line in handle if line.split()[4].startswith(tuple(str(base / n) for n in names))]
    groups = opened([group for owner in owners for group in session_groups(owner)])
    return {
        "processes": [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _environ_has_prefix(pid, markers)],
        "folders": opened([p for p in base.iterdir() if p.name.startswith(names)]),
        "mounts": mounts,
        "cgroups": [g for g in groups if not g.parent.name.startswith(mine) or (g / "cgroup.procs").read_text().strip()],
    }

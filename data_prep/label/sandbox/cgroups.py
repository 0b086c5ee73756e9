"""Per-candidate cgroups: one bound on the memory and the number of processes of a candidate, all its
processes (and its files in tmpfs) together. Per-process rlimits alone let 16 processes take 16x the
memory limit.

Detected once per labeller process by :func:`detect_cgroups`, in this order:

- cgroup v2, when the labeller's own cgroup offers the ``memory`` and ``pids`` controllers and can
  hand them down to child groups (its ``cgroup.subtree_control``; the kernel refuses that for a
  cgroup holding processes, so a labeller alone in its group first moves into a leaf child);
- cgroup v1, when the ``memory`` and ``pids`` hierarchies are mounted and the labeller may create
  groups under its own ones (root, or a delegated subtree).

Groups nest under the labeller's own, so every limit above it (container, systemd slice) still
applies::

    <own cgroup>/data_prep_sandbox.<labeller pid>.<random>/c<N>     one per running candidate

A candidate joins its group before its first process starts (:meth:`CandidateCgroup.command_prefix`:
a shell writes itself into ``cgroup.procs``, then execs the sandbox), so nothing it forks escapes.
Afterwards the labeller reads the group's OOM-kill count (the ``memory_limit`` verdict), kills what is
left in it and removes it. A labeller killed outright leaves its session group behind; the next one
started in the same cgroup removes it (:func:`sweep_stale_groups`).
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SESSION_PREFIX = "data_prep_sandbox."
CONTROLLERS = ("memory", "pids")
JOIN_FAILED_EXIT = 125  # exit status of the command prefix when it could not join the group
_JOIN_SCRIPT = f'while [ "$1" != -- ]; do echo 0 > "$1" || exit {JOIN_FAILED_EXIT}; shift; done; shift; exec "$@"'


@dataclass(frozen=True)
class Hierarchy:
    """One mounted hierarchy: the labeller's own cgroup in it and the files this version uses."""

    own: Path
    version: int

    def memory_files(self) -> tuple[str, ...]:
        """Limit files, in the order they must be written (v1: memory+swap may not go below memory)."""
        return ("memory.max", "memory.swap.max") if self.version == 2 else (
            "memory.limit_in_bytes", "memory.memsw.limit_in_bytes")

    def join_file(self) -> str:
        """The file a process writes ``0`` to, to move itself into a group. cgroup v1: ``tasks``, which
        moves only the writing thread (the joining shell has one) and so skips the kernel's global
        threadgroup lock, whose RCU grace period cost each candidate 10-15 ms through ``cgroup.procs``."""
        return "tasks" if self.version == 1 else "cgroup.procs"

    def oom_kills(self, group: Path) -> int:
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        for line in (group / name).read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0


@dataclass(frozen=True)
class CgroupSupport:
    """Where candidates' groups are made (``session`` folders, one per hierarchy), or why not."""

    version: int | None
    sessions: tuple[tuple[Hierarchy, Path, tuple[str, ...]], ...] = ()  # (hierarchy, session group, controllers)
    note: str = ""
    pool: "GroupPool" = field(default_factory=lambda: GroupPool(), compare=False, repr=False)

    @property
    def available(self) -> bool:
        return self.version is not None

    def describe(self) -> str:
        if not self.available:
            return "NOT bounded per candidate (per-process limits only): " + self.note
        where = ", ".join(f"{'+'.join(controllers)} in {session.parent}" for _, session, controllers in self.sessions)
        return f"bounded per candidate by cgroup v{self.version} ({where})"

    def candidate(self, memory_bytes: int, max_processes: int) -> "CandidateCgroup":
        return CandidateCgroup(self, memory_bytes, max_processes)

    def close(self) -> None:
        """Remove the session groups and the idle candidates' groups in them."""
        self.pool.clear()
        for _, session, _ in self.sessions:
            _remove_group(session)


Groups = list  # [(hierarchy, group, controllers)]: one candidate's group in each hierarchy


class GroupPool:
    """Candidates' groups kept for the next candidates: creating and removing a memory cgroup costs the
    kernel far more than setting a group's limits again (see docs/sandbox.md). A group whose killed
    processes are still exiting (a namespace's teardown waits for an RCU grace period) is set aside
    until it is empty, so that no candidate waits for it."""

    def __init__(self):
        self._idle: list[Groups] = []
        self._draining: list[Groups] = []
        self._lock = threading.Lock()

    def take(self) -> Groups | None:
        with self._lock:
            still = []
            for groups in self._draining:
                (self._idle if _empty(groups) else still).append(groups)
            self._draining = still
            return self._idle.pop() if self._idle else None

    def give_back(self, groups: Groups) -> None:
        with self._lock:
            (self._idle if _empty(groups) else self._draining).append(groups)

    def clear(self) -> None:
        with self._lock:
            self._idle.clear()
            self._draining.clear()


def _empty(groups: Groups) -> bool:
    """No process left, and none still charged: a task that has exited but is not yet released is no
    longer listed in ``cgroup.procs`` yet still counts in ``pids.current``, so a candidate given
    the group could not fork."""
    try:
        return not any(_read(group / "cgroup.procs").strip() for _, group, _ in groups) and all(
            _read(group / "pids.current").strip() == "0" for _, group, controllers in groups if "pids" in controllers)
    except OSError:
        return False


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _own_paths() -> dict[str, str]:
    """``/proc/self/cgroup``: controller -> path of this process's group ("" for the v2 hierarchy)."""
    own = {}
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


def _cgroup_mounts() -> list[tuple[str, str, str, set[str]]]:
    """``(mount root, mount point, fstype, super options)`` of every cgroup mount."""
    mounts = []
    for line in _read(Path("/proc/self/mountinfo")).splitlines():
        left, _, right = line.partition(" - ")
        fields, (fstype, _source, options) = left.split(), right.split()[:3]
        if fstype in ("cgroup", "cgroup2"):
            mounts.append((fields[3], fields[4], fstype, set(options.split(","))))
    return mounts


def _directory(mount_root: str, mount_point: str, path: str) -> Path:
    if mount_root != "/" and (path == mount_root or path.startswith(mount_root + "/")):
        path = path[len(mount_root):]
    return Path(mount_point + path.rstrip("/"))


def _find_v2(own: dict[str, str], mounts) -> tuple[list, str]:
    mount = next((m for m in mounts if m[2] == "cgroup2"), None)
    if mount is None or "" not in own:
        return [], "no cgroup v2 hierarchy"
    directory = _directory(mount[0], mount[1], own[""])
    offered = set(_read(directory / "cgroup.controllers").split())
    missing = [c for c in CONTROLLERS if c not in offered]
    if missing:
        return [], f"cgroup v2 at {directory} does not offer {', '.join(missing)}"
    enabled = set(_read(directory / "cgroup.subtree_control").split())
    if not set(CONTROLLERS) <= enabled:
        try:
            _move_into_leaf(directory)
            (directory / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS))
        except OSError as exc:
            return [], (f"cgroup v2 at {directory} cannot hand memory and pids to child groups ({exc.strerror}); "
                        "start the labeller as the only process of a delegated cgroup, e.g. "
                        "`systemd-run --scope -p Delegate=yes python -m data_prep label ...`")
    return [(Hierarchy(directory, 2), CONTROLLERS)], ""


def _move_into_leaf(directory: Path) -> None:
    """cgroup v2 lets a group enable controllers for its children only while it holds no process. When
    this labeller is the only process of its group (a container's main process, a delegated systemd
    scope), it moves into a leaf child, ``data_prep_sandbox.<pid>.labeller``: a later run removes it
    once this pid is gone. With other processes there, nothing moves (enabling then fails, reported)."""
    if _read(directory / "cgroup.procs").split() != [str(os.getpid())]:
        return
    leaf = directory / f"{SESSION_PREFIX}{os.getpid()}.labeller"
    leaf.mkdir(exist_ok=True)
    (leaf / "cgroup.procs").write_text("0")


def _find_v1(own: dict[str, str], mounts) -> tuple[list, str]:
    found: dict[Path, list[str]] = {}
    for controller in CONTROLLERS:
        mount = next((m for m in mounts if m[2] == "cgroup" and controller in m[3]), None)
        if mount is None or controller not in own:
            return [], f"no cgroup v1 {controller} hierarchy"
        found.setdefault(_directory(mount[0], mount[1], own[controller]), []).append(controller)
    return [(Hierarchy(directory, 1), tuple(controllers)) for directory, controllers in found.items()], ""


def own_groups() -> list[Path]:
    """This process's group in the v2 hierarchy and the v1 memory and pids ones: where session groups go."""
    own, groups = _own_paths(), []
    for mount_root, mount_point, fstype, options in _cgroup_mounts():
        key = "" if fstype == "cgroup2" else next((c for c in CONTROLLERS if c in options), None)
        if key is not None and key in own:
            groups.append(_directory(mount_root, mount_point, own[key]))
    return groups


def detect_cgroups() -> CgroupSupport:
    """Create this labeller's session groups where the host allows it; else say why not."""
    try:
        own, mounts = _own_paths(), _cgroup_mounts()
    except OSError as exc:
        return CgroupSupport(None, note=f"cannot read this process's cgroups: {exc}")
    notes = []
    for find in (_find_v2, _find_v1):
        try:
            hierarchies, why = find(own, mounts)
        except OSError as exc:
            hierarchies, why = [], f"{find.__name__[-2:]}: {exc}"
        if not hierarchies:
            notes.append(why)
            continue
        version = hierarchies[0][0].version
        for hierarchy, _ in hierarchies:
            sweep_stale_groups(hierarchy.own)
        name = f"{SESSION_PREFIX}{os.getpid()}.{secrets.token_hex(4)}"
        sessions = []
        try:
            for hierarchy, controllers in hierarchies:
                session = hierarchy.own / name
                session.mkdir()
                sessions.append((hierarchy, session, controllers))
                if version == 2:
                    (session / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS))
            support = CgroupSupport(version, tuple(sessions))
            support.candidate(64 << 20, 4).discard()  # a dry run: limits writable, group removable
            return support
        except OSError as exc:
            CgroupSupport(version, tuple(sessions)).close()
            notes.append(f"cgroup v{version}: cannot create groups under {hierarchies[0][0].own} ({exc.strerror})")
    return CgroupSupport(None, note="; ".join(notes))


_counter = itertools.count()


class CandidateCgroup:
    """One candidate's group (in each hierarchy): limits set, joined by the command, and at close()
    emptied and kept for the next candidate (or removed when it cannot be emptied or limited)."""

    def __init__(self, support: CgroupSupport, memory_bytes: int, max_processes: int):
        self.support = support
        self.groups: Groups = support.pool.take() or []
        try:
            if self.groups:
                try:
                    self._set_limits(memory_bytes, max_processes)
                except OSError:  # e.g. memory still charged above the new limit: start afresh
                    self.discard()
            if not self.groups:
                self._create()
                self._set_limits(memory_bytes, max_processes)
            self._oom_kills_before = self._oom_kills_total()
        except BaseException:
            self.discard()
            raise

    def _create(self) -> None:
        name = f"c{next(_counter)}"
        for hierarchy, session, controllers in self.support.sessions:
            group = session / name
            group.mkdir()
            self.groups.append((hierarchy, group, controllers))

    def _set_limits(self, memory_bytes: int, max_processes: int) -> None:
        for hierarchy, group, controllers in self.groups:
            if "memory" in controllers:
                limit_file, swap_file = hierarchy.memory_files()
                if hierarchy.version == 1 and (group / swap_file).exists():
                    (group / swap_file).write_text("-1")  # v1: memory+swap may never be below memory
                (group / limit_file).write_text(str(memory_bytes))
                try:  # no swapping around the limit; absent or refused where swap is not accounted
                    (group / swap_file).write_text("0" if hierarchy.version == 2 else str(memory_bytes))
                except OSError:
                    pass
            if "pids" in controllers:
                (group / "pids.max").write_text(str(max_processes))

    def command_prefix(self) -> list[str]:
        """Prepend to a command: it joins the group(s), then execs the command."""
        return ["/bin/sh", "-c", _JOIN_SCRIPT, "sh", *(str(group / h.join_file()) for h, group, _ in self.groups), "--"]

    def _oom_kills_total(self) -> int:
        return sum(h.oom_kills(group) for h, group, controllers in self.groups if "memory" in controllers)

    def oom_kills(self) -> int:
        """Processes of this candidate killed because the group reached its memory limit."""
        return self._oom_kills_total() - self._oom_kills_before

    def close(self) -> None:
        """Kill every process left in the group; keep the group for a next candidate once it is empty."""
        if not self.groups:
            return
        try:
            for _, group, _ in self.groups:
                _kill_members(group)
        except OSError:
            self.discard()
            return
        self.support.pool.give_back(self.groups)
        self.groups = []

    def discard(self) -> None:
        """Kill what is in the group and remove it."""
        for _, group, _ in self.groups:
            _remove_group(group)
        self.groups = []


def _kill_members(group: Path) -> None:
    """SIGKILL each process in ``group``. Pidfds are opened first and membership read again after, so a
    pid reused by a process outside the group (after its holder exited) is never signalled."""
    pidfds = {}
    try:
        for pid in map(int, _read(group / "cgroup.procs").split()):
            try:
                pidfds[pid] = os.pidfd_open(pid)
            except ProcessLookupError:
                pass
        still_members = set(map(int, _read(group / "cgroup.procs").split()))
        for pid, pidfd in pidfds.items():
            if pid in still_members:
                try:
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    finally:
        for pidfd in pidfds.values():
            os.close(pidfd)


def _remove_group(group: Path, timeout_s: float = 10.0) -> None:
    """Kill what is in ``group`` (and below), then rmdir it; retried while killed processes exit."""
    try:
        children = [Path(entry.path) for entry in os.scandir(group) if entry.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return
    for child in children:
        _remove_group(child, timeout_s)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _kill_members(group)
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _owner_alive(name: str) -> bool:
    try:
        pid = int(name[len(SESSION_PREFIX):].split(".")[0])
    except ValueError:
        return True  # not ours to judge
    return pid == os.getpid() or Path(f"/proc/{pid}").exists()


def sweep_stale_groups(own: Path) -> list[Path]:
    """Remove session groups under ``own`` whose labeller is gone (it was killed before cleaning up)."""
    removed = []
    for session in own.glob(f"{SESSION_PREFIX}*"):
        if session.is_dir() and not _owner_alive(session.name):
            try:
                _remove_group(session, timeout_s=2.0)
                removed.append(session)
            except OSError:
                pass  # still busy: the next sweep tries again
    return removed

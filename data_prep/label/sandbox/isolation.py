"""The isolation modes a candidate can run in, strongest first, and what each leaves open.

Which of them this machine allows is found by running a trivial candidate in each
(:func:`data_prep.label.sandbox.run.detect_isolation`); docs/sandbox.md describes the modes.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from data_prep.label.sandbox.cgroups import CgroupSupport


@dataclass(frozen=True)
class Isolation:
    """What the OS lets the sandbox use, detected once per process."""

    prefix: tuple[str, ...]  # command prefix (``setpriv ... unshare ...``), empty when none works
    network: bool  # no network: fresh network namespace
    pid_namespace: bool  # leftover processes are killed with the harness
    drop_uid: bool  # runs as a random unprivileged uid (root only)
    notes: tuple[str, ...] = ()
    private_mounts: bool = False  # mount namespace: W and /tmp, /var/tmp, /dev/shm are size-bounded tmpfs
    cgroups: CgroupSupport = CgroupSupport(None, note="not detected")
    name: str = "none"  # the mode, as docs/sandbox.md names it
    user_namespace: bool = False  # the harness is root of a user namespace: it drops every capability

    @property
    def candidates_can_forge_labels(self) -> bool:
        """Without a mount namespace a candidate can write the labeller's cache and output files
        (docs/sandbox.md, "What is not hidden")."""
        return not self.private_mounts

    def describe(self) -> str:
        parts = [
            f"mode: {self.name}",
            "network: " + ("isolated (network namespace)" if self.network else "NOT isolated"),
            "processes: " + ("PID namespace" if self.pid_namespace else "process group only"),
            "filesystem: " + ("own root: system folders and Python read-only, private tmpfs /tmp and working "
                              "directory" if self.private_mounts else "the host's, working directory NOT "
                              "size-bounded (per-file limit only)"),
            "user: " + ("an unprivileged uid" if self.drop_uid else "the current user, no capabilities"),
            "memory and process count: " + self.cgroups.describe(),
        ]
        return "; ".join(parts) + "".join(f"\n  note: {note}" for note in self.notes)


def _attempts(unshare: str) -> list[tuple[str, tuple[str, ...], bool, bool, bool, bool]]:
    """(name, unshare command, network, pid namespace, private mounts, drop uid), strongest first;
    every mode but ``root`` runs the harness as root of a user namespace."""
    user = (unshare, "--user", "--map-root-user")
    pid = ("--pid", "--fork", "--kill-child")
    attempts = []
    if os.geteuid() == 0:
        attempts.append(("root", (unshare, "--net", *pid, "--mount"), True, True, True, True))
    attempts += [
        ("userns", (*user, "--net", *pid, "--mount"), True, True, True, False),
        ("userns-nomount", (*user, "--net", *pid), True, True, False, False),
        ("userns-nopid", (*user, "--net", "--mount"), True, False, True, False),
        ("userns-netonly", (*user, "--net"), True, False, False, False),
    ]
    return attempts


def candidate_isolations() -> list[Isolation]:
    """Every namespace setup this machine might allow, strongest first, ending with none (untested)."""
    setpriv = shutil.which("setpriv")
    guard = (setpriv, "--pdeathsig", "KILL") if setpriv else ()  # the sandbox dies with the labeller
    unshare = shutil.which("unshare")
    modes = [Isolation((*guard, *prefix), network, pid_ns, drop_uid, private_mounts=mounts, name=name,
                       user_namespace=name != "root")
             for name, prefix, network, pid_ns, mounts, drop_uid in (_attempts(unshare) if unshare else [])]
    # without namespaces root still drops to an unprivileged uid (never runs a candidate as root)
    return modes + [Isolation(guard, False, False, os.geteuid() == 0)]


def notes_for(isolation: Isolation, failures: list[str]) -> tuple[str, ...]:
    notes = list(failures)
    if shutil.which("unshare") is None:
        notes.append("`unshare` (util-linux) not found: no namespaces")
    if not isolation.network:
        notes.append("no namespaces: candidates can reach the network and write wherever the current user can")
    elif not isolation.pid_namespace and not isolation.cgroups.available:
        notes.append("PID namespace unavailable: a process that leaves the group may outlive its candidate")
    if not isolation.private_mounts:
        notes.append("no mount namespace: candidates see the host's files and can write wherever the "
                     "candidate's user can; the working directory is a host folder bounded per file only")
    if not isolation.cgroups.available:
        notes.append("each process is bounded, the candidate's processes together are not (see docs/sandbox.md)")
    return tuple(notes)

"""Run one untrusted candidate program against its tests, contained.

Each candidate gets a fresh interpreter (``python -I``, the standalone ``_harness.py``) started with
``subprocess`` in a new session, in a private temporary directory removed afterwards, with a scrubbed
environment. Where the OS allows it, the interpreter starts inside fresh namespaces through
``unshare``: network (no interface but a down loopback, so no connection can be made), PID (the
harness is the namespace's init: when it ends, every process the candidate left behind is killed,
even one that escaped the process group) and, as root, mount (private tmpfs over /tmp, /var/tmp and
/dev/shm) together with a drop to a random unprivileged uid. What is available is detected once per
process by :func:`detect_isolation` and reported by the commands.

Limits (set inside the sandbox, never with ``preexec_fn``): CPU seconds and address space per test
(in the forked test child), output file size, number of processes, no core files. A wall-clock
deadline for the whole candidate kills the process group (and so the namespace).

The expected outputs stay in this process: the harness streams each test's output back and this
module compares (:mod:`data_prep.compare`, by the problem's rule), stopping at the first failing
test; for a problem with a checker the outputs go to :mod:`data_prep.checker` instead, which runs
the checker in a sandbox of its own.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from data_prep.compare import OutputRule, outputs_match

HARNESS = Path(__file__).with_name("_harness.py")

#: Verdicts of a labelled candidate; only ``passed`` means correct (``given``: label from the input,
#: ``no_answer``: a math response without a final answer).
VERDICTS = ("passed", "wrong_answer", "runtime_error", "timeout", "memory_limit", "output_limit", "no_code",
            "no_answer", "given")

_SCRUBBED_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
_UID_RANGE = (200_000, 1_200_000)  # random unprivileged uids for root mode (no passwd entry needed)


@dataclass(frozen=True)
class Limits:
    """Per-candidate limits. ``time_limit_s`` and ``memory_limit_mb`` apply to each test."""

    time_limit_s: float = 4.0
    memory_limit_mb: int = 512
    output_limit_mb: int = 32
    max_processes: int = 16
    startup_allowance_s: float = 5.0

    @property
    def per_test_wall_s(self) -> float:
        return 2.0 * self.time_limit_s + 1.0

    def candidate_deadline_s(self, n_tests: int) -> float:
        return self.startup_allowance_s + n_tests * (self.per_test_wall_s + 0.5)


@dataclass(frozen=True)
class Isolation:
    """What the OS lets the sandbox use, detected once per process."""

    prefix: tuple[str, ...]  # command prefix (``unshare ...``), empty when none works
    network: bool  # no network: fresh network namespace
    pid_namespace: bool  # leftover processes are killed with the harness
    drop_uid: bool  # runs as a random unprivileged uid (root only), private /tmp
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [
            "network: " + ("isolated (network namespace)" if self.network else "NOT isolated"),
            "processes: " + ("PID namespace" if self.pid_namespace else "process group only"),
            "filesystem: "
            + ("private /tmp, unprivileged uid" if self.drop_uid else "candidate runs as the current user"),
        ]
        return "; ".join(parts) + "".join(f"\n  note: {note}" for note in self.notes)


@lru_cache(maxsize=1)
def detect_isolation() -> Isolation:
    """Find the strongest namespace setup that works here (tries each with ``true``)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return Isolation((), False, False, False, ("`unshare` (util-linux) not found: no namespaces",))
    is_root = os.geteuid() == 0
    attempts = []
    if is_root:
        attempts.append(((unshare, "--net", "--pid", "--fork", "--kill-child", "--mount"), True, True, True))
    attempts.append(
        ((unshare, "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"), True, True, False)
    )
    attempts.append(((unshare, "--user", "--map-root-user", "--net"), True, False, False))
    notes = []
    for prefix, network, pid_ns, drop_uid in attempts:
        probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, timeout=30)
        if probe.returncode == 0:
            if not pid_ns:
                notes.append("PID namespace unavailable: a process that leaves the group may outlive its candidate")
            if not drop_uid:
                notes.append("not root: candidates can write wherever the current user can (use a container)")
            return Isolation(prefix, network, pid_ns, drop_uid, tuple(notes))
        notes.append(f"`{' '.join(prefix[1:])}` failed: {probe.stderr.strip() or probe.returncode}")
    notes.append("no namespaces: candidates can reach the network and write wherever the current user can")
    return Isolation((), False, False, False, tuple(notes))


class OutputSpool(Protocol):
    """Takes each test's output instead of comparing it (see ``data_prep.checker``)."""

    def add(self, case: dict, output: str) -> tuple[str, str] | None: ...


@dataclass
class SandboxResult:
    """The outcome of one candidate: its verdict, the number of tests run and a short detail."""

    verdict: str
    tests_run: int
    detail: str = ""
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list, repr=False)


def _count_user_processes(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _job(code: str, tests: dict, limits: Limits, isolation: Isolation) -> dict:
    job = {
        "code": code,
        "kind": tests["kind"],
        "cpu_s": max(1, int(limits.time_limit_s + 0.999)),
        "wall_s": limits.per_test_wall_s,
        "memory_bytes": (limits.memory_limit_mb + 64) << 20,
        "output_bytes": limits.output_limit_mb << 20,
        "nproc": limits.max_processes,
        "private_tmp": isolation.drop_uid,
        "uid": None,
        "gid": None,
    }
    if tests["kind"] == "stdio":
        job["inputs"] = [case["input"] for case in tests["cases"]]
        job["input_file"], job["output_file"] = tests.get("input_file"), tests.get("output_file")
    elif tests["kind"] == "function":
        job["prelude"] = tests.get("prelude") or ""
        job["check"] = tests["check"]
    if isolation.drop_uid:
        job["uid"] = job["gid"] = secrets.randbelow(_UID_RANGE[1] - _UID_RANGE[0]) + _UID_RANGE[0]
    elif not isolation.pid_namespace:
        # RLIMIT_NPROC counts all processes of the user: leave room for the ones already running.
        job["nproc"] = _count_user_processes(os.getuid()) + limits.max_processes
    return job


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _output_judge(tests: dict, outputs_to: OutputSpool | None):
    """What the parent does with each test's output: compare it by the problem's rule, hand it to
    ``outputs_to`` (for a checker), or nothing (function and checker jobs report their own verdict)."""
    if tests["kind"] != "stdio":
        return None
    if outputs_to is not None:
        return lambda index, out: outputs_to.add(tests["cases"][index], out)
    rule = OutputRule.from_dict(tests.get("compare"))

    def compare(index: int, out: str) -> tuple[str, str] | None:
        if outputs_match(out, tests["cases"][index]["output"], rule):
            return None
        return "wrong_answer", f"test {index}: output differs"

    return compare


def _n_tests(tests: dict) -> int:
    if tests["kind"] == "stdio":
        return len(tests["cases"])
    return tests["count"] if tests["kind"] == "checker" else 1


def run_candidate(code: str, tests: dict, limits: Limits = Limits(), isolation: Isolation | None = None,
                  outputs_to: OutputSpool | None = None) -> SandboxResult:
    """Run ``code`` against ``tests`` (the problem schema's test object) and judge it.

    With ``outputs_to`` the outputs are not compared but handed over (``data_prep.checker``).
    ``tests`` may also be a checker job: ``{"kind": "checker", "cases_file": path, "count": n}``.
    """
    isolation = isolation or detect_isolation()
    started = time.monotonic()
    n_tests = _n_tests(tests)
    job = _job(code, tests, limits, isolation)
    workdir = tempfile.mkdtemp(prefix="data_prep_sandbox_")
    try:
        with open(os.path.join(workdir, "job.json"), "w", encoding="utf-8") as handle:
            json.dump(job, handle)
        if tests["kind"] == "checker":
            shutil.copyfile(tests["cases_file"], os.path.join(workdir, "cases.jsonl"))
        if job["uid"] is not None:
            os.chown(workdir, job["uid"], job["gid"])
            os.chmod(workdir, 0o700)
        env = dict(_SCRUBBED_ENV, HOME=workdir, TMPDIR=workdir)
        proc = subprocess.Popen(
            [*isolation.prefix, sys.executable, "-I", str(HARNESS)],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        result = _collect(proc, _output_judge(tests, outputs_to), n_tests,
                          started + limits.candidate_deadline_s(n_tests))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


def _collect(proc: subprocess.Popen, judge_output, n_tests: int, deadline: float) -> SandboxResult:
    """Read the harness's per-test reports, judge each output (``judge_output(test, out)`` returns
    ``None`` or ``(verdict, detail)``), stop at the first failure or the deadline."""
    buffer = b""
    tests_run = 0
    fd = proc.stdout.fileno()
    try:
        while True:
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                report = json.loads(line)
                tests_run += 1
                if report["status"] != "ok":
                    return SandboxResult(report["status"], tests_run, report.get("error", "")[-500:])
                failure = judge_output and judge_output(report["test"], report["out"])
                if failure:
                    return SandboxResult(failure[0], tests_run, failure[1])
                if tests_run == n_tests:
                    return SandboxResult("passed", tests_run)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return SandboxResult("timeout", tests_run + 1, "wall-clock deadline of the candidate")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:  # the harness ended without reporting every test
                    return SandboxResult("runtime_error", tests_run + 1, "the sandbox ended early")
                buffer += chunk
    except (json.JSONDecodeError, KeyError, IndexError) as exc:
        return SandboxResult("runtime_error", tests_run + 1, f"garbled sandbox report: {exc}")
    finally:
        _kill_group(proc)
        proc.stdout.close()

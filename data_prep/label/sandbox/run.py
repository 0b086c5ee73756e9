"""Run one untrusted candidate program against its tests, contained.

Each candidate gets a fresh interpreter (``python -I -S``, the standalone ``harness.py``) started with
``subprocess`` in a new session, with a scrubbed environment, in a working directory W of its own
(under this labeller's session folder, :mod:`data_prep.label.sandbox.session`) that is removed afterwards.
Where the OS allows it, the interpreter starts inside fresh namespaces through ``unshare``: network
(no interface but a down loopback, so no connection can be made), PID (the harness is the namespace's
init: when it ends, every process the candidate left behind is killed, even one that escaped the
process group) and mount (the candidate gets a root of its own: the system folders and the Python
installation read-only, :mod:`data_prep.label.sandbox.view`, W and /tmp, /var/tmp, /dev/shm as
private tmpfs of fixed sizes); as root, also a drop to a random unprivileged uid; in a user
namespace, every capability dropped. Where cgroups can be created
(:mod:`data_prep.label.sandbox.cgroups`), each candidate gets one that bounds the memory and the processes of all
its processes together. What is available is detected once per process by :func:`detect_isolation`
and reported by the commands.

Limits (set inside the sandbox, never with ``preexec_fn``): CPU seconds and address space per test
(in the forked test child), output file size, number of processes, no core files; the candidate's
total memory and processes (cgroup) and the size of W (tmpfs). A wall-clock deadline for the whole
candidate kills the process group (and so the namespace). If the labeller itself is killed, its
sandboxes die with it (parent-death signal).

The expected outputs stay in this process: the harness sends each test's output back on a socket
(only the report of the test due next is accepted) and this module compares (:mod:`data_prep.formats.judge_rules`, by the problem's rule), stopping at the first failing
test; for a problem with a checker the outputs go to :mod:`data_prep.label.checker` instead, which runs
the checker in a sandbox of its own.
"""

from __future__ import annotations

import atexit
import marshal
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Callable, Protocol

from data_prep.formats.judge_rules import OutputRule, outputs_match
from data_prep.label.sandbox.cgroups import JOIN_FAILED_EXIT, CandidateCgroup, detect_cgroups
from data_prep.label.sandbox.isolation import Isolation, candidate_isolations, notes_for
from data_prep.label.sandbox.session import session_folder
from data_prep.label.sandbox.view import HARNESS, candidate_import_path, filesystem_view

#: Verdicts of a labelled candidate; only ``passed`` means correct (``given``: label from the input,
#: ``no_answer``: a math response without a final answer; ``checker_error``: the problem's checker could not judge).
VERDICTS = ("passed", "wrong_answer", "runtime_error", "timeout", "memory_limit", "output_limit", "no_code",
            "no_answer", "given", "checker_error")

_SCRUBBED_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
_UID_RANGE = (200_000, 1_200_000)  # random unprivileged uids for root mode (no passwd entry needed)


PRIVATE_TMP_MB = 16  # each of /tmp, /var/tmp, /dev/shm in a mount namespace
INTERPRETER_MB = 64  # a candidate's memory bound allows this much beyond its limit, for the interpreters


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the candidate): labelling cannot go on safely."""


@dataclass(frozen=True)
class Limits:
    """Per-candidate limits. ``time_limit_s`` and ``memory_limit_mb`` apply to each test (per process);
    ``memory_limit_mb`` also bounds all the candidate's processes together (cgroup), with
    ``workdir_mb`` and :data:`INTERPRETER_MB` on top."""

    time_limit_s: float = 4.0
    memory_limit_mb: int = 512
    output_limit_mb: int = 32
    max_processes: int = 16
    startup_allowance_s: float = 5.0
    workdir_mb: int = 64  # size of the private working directory W, beyond the test input placed there

    @property
    def per_test_wall_s(self) -> float:
        return 2.0 * self.time_limit_s + 1.0

    def candidate_deadline_s(self, n_tests: int) -> float:
        return self.startup_allowance_s + n_tests * (self.per_test_wall_s + 0.5)

    def workdir_bytes(self, input_bytes: int) -> int:
        return (self.workdir_mb << 20) + input_bytes

    def candidate_memory_bytes(self, input_bytes: int) -> int:
        """The bound on all the candidate's processes and tmpfs files together."""
        return ((self.memory_limit_mb + INTERPRETER_MB) << 20) + self.workdir_bytes(input_bytes)


def probe(isolation: Isolation) -> str | None:
    """Run a trivial candidate in ``isolation``; None when it works, else why not."""
    tests = {"kind": "stdio", "cases": [{"input": "", "output": "1"}]}
    try:
        result = run_candidate("print(1)", tests, Limits(time_limit_s=5.0), isolation)
    except (OSError, SandboxError) as exc:
        return str(exc)
    return None if result.verdict == "passed" else f"{result.verdict}: {result.detail.strip()[-200:]}"


#: Names the one mode to use (docs/sandbox.md), instead of the strongest that works here.
MODE_VARIABLE = "CORPO_SANDBOX_MODE"


@lru_cache(maxsize=1)
def detect_isolation() -> Isolation:
    """Find the strongest setup that runs a trivial candidate here (or the one ``$CORPO_SANDBOX_MODE``
    names), and this host's cgroup support."""
    cgroups = detect_cgroups()
    if cgroups.available:
        atexit.register(cgroups.close)
    failures = []
    modes = candidate_isolations()
    wanted = os.environ.get(MODE_VARIABLE)
    if wanted:
        named = [mode for mode in modes if mode.name == wanted]
        if not named:
            raise SandboxError(f"{MODE_VARIABLE}={wanted}: not a mode of this machine "
                               f"(here: {', '.join(mode.name for mode in modes)})")
        mode = replace(named[0], cgroups=cgroups)
        why = probe(mode)
        if why is not None:
            raise SandboxError(f"{MODE_VARIABLE}={wanted}: that mode does not run here ({why})")
        return replace(mode, notes=notes_for(mode, []))
    for mode in modes[:-1]:
        mode = replace(mode, cgroups=cgroups)
        why = probe(mode)
        if why is None:
            return replace(mode, notes=notes_for(mode, failures))
        failures.append(f"mode {mode.name} failed: {why}")
    mode = replace(modes[-1], cgroups=cgroups)
    return replace(mode, notes=notes_for(mode, failures))


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


def _job(code: str, tests: dict, limits: Limits, isolation: Isolation, workdir: str, input_bytes: int) -> dict:
    job = {
        "code": code,
        "kind": tests["kind"],
        "cpu_s": max(1, int(limits.time_limit_s + 0.999)),
        "wall_s": limits.per_test_wall_s,
        "memory_bytes": (limits.memory_limit_mb + 64) << 20,
        "output_bytes": limits.output_limit_mb << 20,
        "nproc": limits.max_processes,
        "workdir": workdir,
        "workdir_bytes": limits.workdir_bytes(input_bytes),
        "tmp_bytes": PRIVATE_TMP_MB << 20,
        "sys_path": list(candidate_import_path()),
        "view": filesystem_view().job(proc=isolation.pid_namespace) if isolation.private_mounts else None,
        "userns": isolation.user_namespace,
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


def _input_bytes(tests: dict) -> int:
    """Room the harness needs in W for one test's files: the largest input (``stdin.txt`` or the
    statement's input file), or for a checker job its largest case (input, expected and output)."""
    if tests["kind"] == "checker":
        with open(tests["cases_file"], "rb") as handle:
            return max((len(line) for line in handle), default=0)
    if tests["kind"] != "stdio":
        return 0
    return max(len(case["input"].encode("utf-8", errors="replace")) for case in tests["cases"])


def _exit_status(proc: subprocess.Popen) -> int | None:
    try:
        return proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        return None


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
    workdir = tempfile.mkdtemp(prefix="c", dir=session_folder())
    input_bytes = _input_bytes(tests)
    job = _job(code, tests, limits, isolation, workdir, input_bytes)
    cgroup = None
    try:
        with open(os.path.join(workdir, "job"), "wb") as handle:
            marshal.dump(job, handle)
        if tests["kind"] == "checker":
            shutil.copyfile(tests["cases_file"], os.path.join(workdir, "cases.jsonl"))
        os.chmod(workdir, 0o700)
        if job["uid"] is not None and not isolation.private_mounts:
            os.chown(workdir, job["uid"], job["gid"])
        env = dict(_SCRUBBED_ENV, HOME=workdir, TMPDIR=workdir)
        command = [*isolation.prefix, sys.executable, "-I", "-S", str(HARNESS)]
        if isolation.cgroups.available:
            cgroup = isolation.cgroups.candidate(limits.candidate_memory_bytes(input_bytes),
                                                 limits.max_processes + 1)  # + the unshare process
            command = cgroup.command_prefix() + command
        # reports come back on a socket: unlike a pipe, no process can open it again through /proc
        reports, harness_end = socket.socketpair()
        with reports, harness_end:
            proc = subprocess.Popen(
                command,
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=harness_end,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
            harness_end.close()
            memory_tripped = _memory_tripped(cgroup)
            result = _collect(proc, reports, _output_judge(tests, outputs_to), n_tests,
                              started + limits.candidate_deadline_s(n_tests), memory_tripped)
        if result.verdict != "memory_limit" and memory_tripped():  # e.g. the harness itself was killed
            result = SandboxResult("memory_limit", result.tests_run, _MEMORY_DETAIL)
    finally:
        if cgroup is not None:
            cgroup.close()
        shutil.rmtree(workdir, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


def _memory_tripped(cgroup: CandidateCgroup | None) -> Callable[[], bool]:
    """True once the kernel killed one of the candidate's processes for the group's memory bound."""
    return (lambda: cgroup.oom_kills() > 0) if cgroup is not None else (lambda: False)


_MEMORY_DETAIL = "the candidate's processes together exceeded its memory limit (cgroup)"


_HEADER_MAX = 100  # bytes of a report's header line
_STATUSES = ("ok", "wrong_answer", "runtime_error", "timeout", "memory_limit", "output_limit", "setup_error")


def _collect(proc: subprocess.Popen, reports: socket.socket, judge_output, n_tests: int, deadline: float,
             memory_tripped: Callable[[], bool]) -> SandboxResult:
    """Read the harness's per-test reports, judge each output (``judge_output(test, out)`` returns
    ``None`` or ``(verdict, detail)``), stop at the first failure or the deadline.

    A report is ``b"<test> <status> <len out> <len error>\\n"``, then the output and error bytes.
    Only the next test's report is accepted: anything else ends the candidate as ``runtime_error``.
    A test during which the cgroup's memory bound killed a process is ``memory_limit``, whatever the
    candidate printed after that (checked at each report, so later tests do not run)."""
    buffer = bytearray()
    tests_run = 0
    try:
        while True:
            while True:
                frame = _next_frame(buffer)
                if frame is None:
                    break
                (index, status, out, error), buffer = frame
                if status == "setup_error":
                    raise SandboxError(f"the sandbox could not start: {error}")
                if index != tests_run:
                    return SandboxResult("runtime_error", tests_run + 1,
                                         f"report for test {index} where test {tests_run} was due")
                tests_run += 1
                if memory_tripped():
                    return SandboxResult("memory_limit", tests_run, _MEMORY_DETAIL)
                if status != "ok":
                    return SandboxResult(status, tests_run, error[-500:])
                failure = judge_output and judge_output(index, out)
                if failure:
                    return SandboxResult(failure[0], tests_run, failure[1])
                if tests_run == n_tests:
                    return SandboxResult("passed", tests_run)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return SandboxResult("timeout", tests_run + 1, "wall-clock deadline of the candidate")
            ready, _, _ = select.select([reports], [], [], remaining)
            if ready:
                chunk = reports.recv(1 << 20)
                if not chunk:  # the harness ended without reporting every test
                    if _exit_status(proc) == JOIN_FAILED_EXIT:
                        raise SandboxError("could not move the candidate into its cgroup")
                    return SandboxResult("runtime_error", tests_run + 1, "the sandbox ended early")
                buffer += chunk
    except ValueError as exc:
        return SandboxResult("runtime_error", tests_run + 1, f"garbled sandbox report: {exc}")
    finally:
        _kill_group(proc)


def _next_frame(buffer: bytearray) -> tuple[tuple[int, str, str, str], bytearray] | None:
    """The first complete report in ``buffer`` and what follows it; None until it is complete."""
    end = buffer.find(b"\n", 0, _HEADER_MAX)
    if end < 0:
        if len(buffer) >= _HEADER_MAX:
            raise ValueError(f"header {buffer[:40]!r}...")
        return None
    fields = buffer[:end].split(b" ")
    if len(fields) != 4 or fields[1].decode("ascii", errors="replace") not in _STATUSES:
        raise ValueError(f"header {bytes(buffer[:end])!r}")
    index, out_len, error_len = int(fields[0]), int(fields[2]), int(fields[3])
    body_end = end + 1 + out_len + error_len
    if len(buffer) < body_end:
        return None
    out = buffer[end + 1:end + 1 + out_len].decode("utf-8", errors="replace")
    error = buffer[end + 1 + out_len:body_end].decode("utf-8", errors="replace")
    return (index, fields[1].decode(), out, error), buffer[body_end:]

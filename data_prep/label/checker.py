"""Problems judged by a checker program (open-r1/codeforces' ``generated_checker``).

open-r1's grader (``src/open_r1/utils/competitive_programming/cf_scoring.py`` and the
``open-r1/codeforces`` dataset card, "verifying problems") runs the candidate on each test, then
``checker.py input.txt correct_output.txt solution_output.txt``; the test passes when the checker
prints the score 1. The checker is Python from the dataset: it runs in a sandbox of its own
(``data_prep.label.sandbox.run``, job kind ``checker``), never in the labeller's process and never where the
candidate ran, so the candidate never sees an expected output.

Two sandboxes per candidate: first the candidate on every test (its outputs are spooled to a
temporary file in this labeller's sandbox session folder, bounded in total), then the checker on each
output, in test order, stopping at the first test it rejects.

A checker that scores an output below 1 rejects it (``wrong_answer``). One that crashes or runs out
of time, memory or output has not judged it: the checker is then run once more, on that test's
expected output as the answer. If it judges that one (score 1), the failure was the candidate's
output's doing (a malformed answer that a fragile checker cannot parse): ``wrong_answer``. If not,
the checker is broken and no candidate can be judged on this problem: :data:`CHECKER_ERROR`, a
verdict of its own, which ``pairs`` leaves out and ``audit`` lists (open-r1's grader would fail every
candidate, writing the problem's fault into their labels). Whether a checker judges a test's
expected output is remembered for the rest of the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import replace

from data_prep.formats.judge_rules import CHECKER_ERROR
from data_prep.label.sandbox.isolation import Isolation
from data_prep.label.sandbox.run import Limits, SandboxResult, run_candidate
from data_prep.label.sandbox.session import session_folder

#: The checker's own limits per test (it parses three files; generous, it is not being judged).
CHECKER_TIME_LIMIT_S = 10.0
CHECKER_MEMORY_LIMIT_MB = 1024
#: All of one candidate's outputs together may hold at most this many times the output limit.
TOTAL_OUTPUT_FACTOR = 4


class _Spool:
    """The candidate's outputs, one JSON line per test ``{"input", "expected", "output"}``."""

    def __init__(self, handle, max_bytes: int):
        self.handle, self.max_bytes, self.count, self.size = handle, max_bytes, 0, 0

    def add(self, case: dict, output: str) -> tuple[str, str] | None:
        self.size += len(output)
        if self.size > self.max_bytes:
            return "output_limit", f"outputs over {self.max_bytes >> 20} MB in total"
        self.handle.write(json.dumps({"input": case["input"], "expected": case["output"], "output": output}) + "\n")
        self.count += 1
        return None


@contextmanager
def _spool_file():
    """A temporary JSONL file in the sandbox session's folder (removed with it, even after a SIGKILL
    of the labeller): ``(path, handle)``."""
    fd, path = tempfile.mkstemp(prefix="outputs_", suffix=".jsonl", dir=session_folder())
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield path, handle
    finally:
        os.unlink(path)


def _checker_limits(limits: Limits) -> Limits:
    return replace(limits, time_limit_s=CHECKER_TIME_LIMIT_S, memory_limit_mb=CHECKER_MEMORY_LIMIT_MB,
                   output_limit_mb=TOTAL_OUTPUT_FACTOR * limits.output_limit_mb + 16)


def _run_checker(checker: str, spool_path: str, count: int, limits: Limits,
                 isolation: Isolation | None) -> SandboxResult:
    return run_candidate(checker, {"kind": "checker", "cases_file": spool_path, "count": count},
                         _checker_limits(limits), isolation)


_judges_expected: dict[str, bool] = {}  # digest of (checker, input, expected output) -> judged it
_judges_expected_lock = threading.Lock()


def _judges_expected_output(tests: dict, index: int, limits: Limits, isolation: Isolation | None) -> bool:
    """Whether the checker gives test ``index``'s expected output the score 1."""
    case = tests["cases"][index]
    digest = hashlib.sha256(json.dumps([tests["checker"], case["input"], case["output"]]).encode()).hexdigest()
    with _judges_expected_lock:
        known = _judges_expected.get(digest)
    if known is not None:
        return known
    with _spool_file() as (path, handle):
        handle.write(json.dumps({"input": case["input"], "expected": case["output"], "output": case["output"]}) + "\n")
        handle.close()
        judged = _run_checker(tests["checker"], path, 1, limits, isolation).verdict == "passed"
    with _judges_expected_lock:
        _judges_expected[digest] = judged
    return judged


def run_with_checker(code: str, tests: dict, limits: Limits = Limits(),
                     isolation: Isolation | None = None) -> SandboxResult:
    """Run ``code`` on a stdio test object that has a ``checker``, then the checker on its outputs."""
    with _spool_file() as (spool_path, handle):
        spool = _Spool(handle, TOTAL_OUTPUT_FACTOR * (limits.output_limit_mb << 20))
        candidate = run_candidate(code, tests, limits, isolation, outputs_to=spool)
        handle.close()
        if spool.count == 0:
            return candidate
        checked = _run_checker(tests["checker"], spool_path, spool.count, limits, isolation)
    seconds = candidate.seconds + checked.seconds
    if checked.verdict == "passed":
        candidate.seconds = seconds
        return candidate
    index = checked.tests_run - 1
    detail = f"test {index}: checker {checked.verdict}: {checked.detail}"
    if checked.verdict != "wrong_answer" and not _judges_expected_output(tests, index, limits, isolation):
        return SandboxResult(CHECKER_ERROR, checked.tests_run, f"{detail[:440]} (on the expected output too)", seconds)
    # the first test the checker rejects decides, as in open-r1's grader
    return SandboxResult("wrong_answer", checked.tests_run, detail[:500], seconds)

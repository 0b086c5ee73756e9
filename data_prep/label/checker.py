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
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace

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


def run_with_checker(code: str, tests: dict, limits: Limits = Limits(),
                     isolation: Isolation | None = None) -> SandboxResult:
    """Run ``code`` on a stdio test object that has a ``checker``, then the checker on its outputs."""
    # in the sandbox session's folder: removed with it, even after a SIGKILL of the labeller
    fd, spool_path = tempfile.mkstemp(prefix="outputs_", suffix=".jsonl", dir=session_folder())
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            spool = _Spool(handle, TOTAL_OUTPUT_FACTOR * (limits.output_limit_mb << 20))
            candidate = run_candidate(code, tests, limits, isolation, outputs_to=spool)
        if spool.count == 0:
            return candidate
        checker_limits = replace(limits, time_limit_s=CHECKER_TIME_LIMIT_S, memory_limit_mb=CHECKER_MEMORY_LIMIT_MB,
                                 output_limit_mb=TOTAL_OUTPUT_FACTOR * limits.output_limit_mb + 16)
        checked = run_candidate(tests["checker"], {"kind": "checker", "cases_file": spool_path, "count": spool.count},
                                checker_limits, isolation)
    finally:
        os.unlink(spool_path)
    seconds = candidate.seconds + checked.seconds
    if checked.verdict != "passed":
        # the first test the checker rejects (or could not judge) decides, as in open-r1's grader
        detail = f"test {checked.tests_run - 1}: checker {checked.verdict}: {checked.detail}"
        return SandboxResult("wrong_answer", checked.tests_run, detail[:500], seconds)
    candidate.seconds = seconds
    return candidate

"""Labelling generations: run each candidate's code against its problem's tests (or check a math
answer) and record ``label``, ``verdict`` and ``tests_run``.

Code candidates run in :mod:`data_prep.label.sandbox.run`, several at a time (threads, each waiting on its own
sandboxed process). Results are appended to a JSONL cache keyed by the problem, its tests and the
hash of the code, so an interrupted run resumes where it stopped and identical programs run once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from data_prep.formats.judge_rules import JUDGE_RULES_VERSION
from data_prep.formats.problems import Problem
from data_prep.formats.solver_answers import extract_code, strip_reasoning
from data_prep.label.checker import run_with_checker
from data_prep.label.sandbox.run import Limits, run_candidate

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelSettings:
    """Defaults for problems without their own limits, and a factor for Python's slowness."""

    default_time_limit_s: float = 4.0
    default_memory_limit_mb: int = 512
    time_scale: float = 1.0
    output_limit_mb: int = 32

    def limits_for(self, problem: Problem) -> Limits:
        return Limits(
            time_limit_s=(problem.time_limit_s or self.default_time_limit_s) * self.time_scale,
            memory_limit_mb=int(problem.memory_limit_mb or self.default_memory_limit_mb),
            output_limit_mb=self.output_limit_mb,
        )


def cache_key(problem: Problem, code: str, limits: Limits, rules_version: int = JUDGE_RULES_VERSION) -> str:
    """Stable key of one execution: the judge rules' version (a verdict cached under other rules is
    never reused), problem id, tests, limits and the code's hash."""
    digest = hashlib.sha256()
    for part in (
        f"judge-{rules_version}",
        problem.problem_id,
        json.dumps(problem.tests, sort_keys=True),
        json.dumps([limits.time_limit_s, limits.memory_limit_mb, limits.output_limit_mb]),
        hashlib.sha256(code.encode()).hexdigest(),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


class ResultCache:
    """Append-only JSONL of ``{"key", "verdict", "tests_run", "detail"}``; the last line of a key wins.

    Safe against the labeller being killed at any moment, SIGKILL included: each entry is one line
    appended with a single ``write`` as soon as its candidate finishes, so a finished candidate is
    never run again. A kill in the middle of that write can leave a torn last line; opening the cache
    cuts it off (with a warning; that one candidate runs again), so it is never read as an entry and
    no new entry is glued to it. Other unreadable lines are skipped with a warning naming the line.
    """

    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None
        self._entries: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._fd = None
        if self.path:
            if self.path.exists():
                self._load()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)

    def _load(self) -> None:
        offset = number = 0
        with open(self.path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                entry = _parse_entry(line)
                if entry is not None:
                    self._entries[entry["key"]] = entry
                elif not line.endswith(b"\n"):  # the last line, torn by a kill during its write
                    _log.warning("%s line %d: incomplete (the labeller was interrupted while writing it), removed",
                                 self.path, number)
                    os.truncate(self.path, offset)
                    return
                elif line.strip():
                    _log.warning("%s line %d: not a cache entry, ignored (its candidate runs again)", self.path, number)
                offset += len(line)
        if number and not line.endswith(b"\n"):  # a whole last entry that lost only its newline
            with open(self.path, "ab") as handle:
                handle.write(b"\n")

    def get(self, key: str) -> dict | None:
        return self._entries.get(key)

    def put(self, key: str, result: dict) -> None:
        entry = {"key": key, **result}
        line = (json.dumps(entry) + "\n").encode("utf-8")
        with self._lock:
            self._entries[key] = entry
            while self._fd is not None and line:  # one write, unless the kernel takes only part of it
                line = line[os.write(self._fd, line):]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _parse_entry(line: bytes) -> dict | None:
    try:
        entry = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), t) for k, t in _ENTRY_FIELDS.items()):
        return None
    return entry


_ENTRY_FIELDS = {"key": str, "verdict": str, "tests_run": int}


def label_math(problem: Problem, response: str) -> dict:
    """Check the final answer with math-verify against the reference answer."""
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # it warns that we disabled its timeouts
    answer_text = strip_reasoning(response)
    # No signal-based timeouts: labelling may run outside the main thread.
    predicted = parse(answer_text, parsing_timeout=None)
    if not predicted:
        return {"label": False, "verdict": "no_answer", "tests_run": 0, "detail": "no final answer found"}
    gold = parse(problem.answer if "$" in problem.answer or "\\" in problem.answer else f"${problem.answer}$",
                 parsing_timeout=None)
    correct = bool(verify(gold, predicted, timeout_seconds=None))
    return {"label": correct, "verdict": "passed" if correct else "wrong_answer", "tests_run": 1, "detail": ""}


def label_one(problem: Problem, response: str, settings: LabelSettings, cache: ResultCache) -> dict:
    """Label one response: ``{"label", "verdict", "tests_run", "detail", "cached"}``."""
    if problem.task == "math":
        return {**label_math(problem, response), "cached": False}
    code, why = extract_code(response)
    if code is None:
        return {"label": False, "verdict": "no_code", "tests_run": 0, "detail": why, "cached": False}
    return label_code(problem, code, settings, cache)


def label_code(problem: Problem, code: str, settings: LabelSettings, cache: ResultCache) -> dict:
    """Run one program on its problem's tests (with the problem's checker when it has one)."""
    limits = settings.limits_for(problem)
    key = cache_key(problem, code, limits)
    hit = cache.get(key)
    if hit is not None:
        return {"label": hit["verdict"] == "passed", "verdict": hit["verdict"], "tests_run": hit["tests_run"],
                "detail": hit.get("detail", ""), "cached": True}
    run = run_with_checker if problem.tests.get("checker") else run_candidate
    result = run(code, problem.tests, limits)
    cache.put(key, {"verdict": result.verdict, "tests_run": result.tests_run, "detail": result.detail})
    return {"label": result.verdict == "passed", "verdict": result.verdict, "tests_run": result.tests_run,
            "detail": result.detail, "cached": False}


def label_generations(
    problems: dict[str, Problem],
    generations: Iterable[dict],
    settings: LabelSettings = LabelSettings(),
    cache: ResultCache | None = None,
    workers: int = 1,
    on_done: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Label every generation, in input order. Rows with a given ``label`` are not executed."""
    cache = cache or ResultCache(None)

    def work(generation: dict) -> dict:
        problem = problems[generation["problem_id"]]
        if generation.get("label") is not None:
            result = {"label": generation["label"], "verdict": "given", "tests_run": 0, "detail": "", "cached": False}
        else:
            result = label_one(problem, generation["response"], settings, cache)
        row = {
            "problem_id": problem.problem_id,
            "source": problem.source,
            "task": problem.task,
            "statement": problem.statement,
            "response": generation["response"],
            **result,
        }
        if on_done:
            on_done(row)
        return row

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(work, generations))

"""``python -m data_prep audit``: do the labels agree with the programs a dataset knows the verdict of?

The reference programs a dataset ships (code_contests' Python 3 ``solutions`` and
``incorrect_solutions``, LeetCodeDataset's ``completion``) or a user's own file of known-good and
known-bad programs run through the same labeller as the model's responses
(:func:`data_prep.label.labeller.label_code`, same tests, limits and comparison). Per source the report
gives the share of known-good programs labelled correct and of known-bad programs labelled incorrect,
and lists

- ``failures``: problems whose tests reject one of their own known-good programs (wrong answer,
  runtime error, ...): their labels cannot be trusted; ``pairs --exclude-audit-failures`` drops them;
- ``reference_timeouts``: known-good programs that ran out of time under the limits used: reported
  as such, not counted as wrong programs (Python references are often slower than the limits,
  which were set for C++; try ``--time-scale``); ``--exclude-audit-failures`` drops these problems too;
- ``accepts_known_bad``: problems whose tests accept a known-bad program (weak tests);
- ``checker_errors``: problems whose checker could not judge a program (verdict ``checker_error``:
  it crashed or ran out of time on the expected output too), whether the program was known-good or
  known-bad: no label on such a problem means anything; ``--exclude-audit-failures`` drops them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Iterator

from data_prep.convert.sources import SOURCES, ConvertOptions, Reference
from data_prep.formats.io import DataError, read_records, require_columns
from data_prep.formats.judge_rules import CHECKER_ERROR
from data_prep.formats.problems import Problem, load_problems
from data_prep.label.labeller import LabelSettings, ResultCache, label_code

REFERENCE_COLUMNS = ("problem_id", "code", "correct")


def dataset_jobs(paths: list[Path], fmt: str, options: ConvertOptions, max_per_problem: int,
                 skipped: Counter) -> Iterator[tuple[Problem, Reference]]:
    """(problem, reference) for the first ``max_per_problem`` good and bad programs of each row."""
    from data_prep.convert.converter import problems_from

    module = SOURCES[fmt]
    for record, _, problem in problems_from(paths, fmt, options, skipped):
        taken = Counter()
        for reference in module.references(record):
            if taken[reference.good] < max_per_problem:
                taken[reference.good] += 1
                yield problem, reference


def file_jobs(problems_path: Path, references_path: Path) -> Iterator[tuple[Problem, Reference]]:
    """(problem, reference) for each row ``{problem_id, code, correct}`` of a user's file."""
    problems = load_problems(problems_path)
    require_columns(references_path, REFERENCE_COLUMNS)
    for row, record in read_records(references_path):
        problem = problems.get(record.get("problem_id"))
        if problem is None:
            raise DataError(references_path, row, "problem_id", f"unknown problem {record.get('problem_id')!r}")
        if not isinstance(record.get("code"), str) or not record["code"].strip():
            raise DataError(references_path, row, "code", "missing or empty (a program)")
        if not isinstance(record.get("correct"), bool):
            raise DataError(references_path, row, "correct", f"expected true/false, got {record.get('correct')!r}")
        yield problem, Reference(record["code"], record["correct"], f"{references_path.name} row {row}")


def _bounded_map(fn: Callable, items: Iterable, workers: int) -> Iterator:
    """``map`` in a thread pool, in order, with a bounded number of items in flight."""
    window = max(1, workers) * 4
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending = []
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) >= window:
                item, future = pending.pop(0)
                yield item, future.result()
        for item, future in pending:
            yield item, future.result()


def _entry(problem: Problem, reference: Reference, result: dict, settings: LabelSettings) -> dict:
    return {"problem_id": problem.problem_id, "source": problem.source, "reference": reference.origin,
            "verdict": result["verdict"], "tests_run": result["tests_run"], "detail": result["detail"][:300],
            "time_limit_s": settings.limits_for(problem).time_limit_s}


def audit(jobs: Iterable[tuple[Problem, Reference]], settings: LabelSettings = LabelSettings(), workers: int = 1,
          on_done: Callable[[], None] = lambda: None) -> dict:
    """Label every reference program; return the report (see the module docstring)."""
    cache = ResultCache(None)
    counts: dict[str, Counter] = defaultdict(Counter)
    problems: dict[str, set] = defaultdict(set)
    report = {"failures": [], "reference_timeouts": [], "accepts_known_bad": [], "checker_errors": []}

    def run(job):
        problem, reference = job
        return label_code(problem, reference.code, settings, cache)

    for (problem, reference), result in _bounded_map(run, jobs, workers):
        on_done()
        c = counts[problem.source]
        problems[problem.source].add(problem.problem_id)
        kind = "good" if reference.good else "bad"
        c[kind] += 1
        if result["verdict"] == CHECKER_ERROR:
            c[f"{kind}_checker_error"] += 1
            report["checker_errors"].append(_entry(problem, reference, result, settings))
        elif reference.good and result["label"]:
            c["good_correct"] += 1
        elif reference.good and result["verdict"] == "timeout":
            c["good_timeout"] += 1
            report["reference_timeouts"].append(_entry(problem, reference, result, settings))
        elif reference.good:
            report["failures"].append(_entry(problem, reference, result, settings))
        elif not result["label"]:
            c["bad_incorrect"] += 1
        else:
            report["accepts_known_bad"].append(_entry(problem, reference, result, settings))
    report["sources"] = {source: _source_row(c, problems[source], report) for source, c in sorted(counts.items())}
    return report


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _source_row(c: Counter, problem_ids: set, report: dict) -> dict:
    failing = {e["problem_id"] for e in report["failures"] if e["problem_id"] in problem_ids}
    return {
        "problems": len(problem_ids),
        "good": c["good"], "good_labelled_correct": c["good_correct"], "good_timed_out": c["good_timeout"],
        "good_agreement": _share(c["good_correct"], c["good"] - c["good_timeout"] - c["good_checker_error"]),
        "bad": c["bad"], "bad_labelled_incorrect": c["bad_incorrect"],
        "bad_agreement": _share(c["bad_incorrect"], c["bad"] - c["bad_checker_error"]),
        "checker_errors": c["good_checker_error"] + c["bad_checker_error"],
        "problems_rejecting_own_reference": len(failing),
    }


def agreement_table(report: dict) -> tuple[list[str], list[list]]:
    """Headers and rows of the printed agreement table."""
    def pct(x):
        return "-" if x is None else f"{100 * x:.1f}%"

    headers = ["source", "problems", "known-good", "labelled correct", "timed out", "known-bad",
               "labelled incorrect", "problems rejecting own reference"]
    rows = [[source, r["problems"], r["good"], f"{r['good_labelled_correct']} ({pct(r['good_agreement'])})",
             r["good_timed_out"], r["bad"], f"{r['bad_labelled_incorrect']} ({pct(r['bad_agreement'])})",
             r["problems_rejecting_own_reference"]] for source, r in report["sources"].items()]
    return headers, rows


def excluded_problems(report_path: Path) -> tuple[str, ...]:
    """Problems an audit report says not to train on: tests that reject, or time out, their own
    known-good program, and checkers that cannot judge (for ``pairs --exclude-audit-failures``)."""
    import json

    try:
        report = json.loads(Path(report_path).read_text(encoding="utf-8"))
        entries = report["failures"] + report["reference_timeouts"] + report.get("checker_errors", [])
        return tuple(sorted({str(e["problem_id"]) for e in entries}))
    except FileNotFoundError:
        raise DataError(report_path, None, None, "file not found") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(report_path, None, None, f"not an audit report (python -m data_prep audit): {exc!r}") from None

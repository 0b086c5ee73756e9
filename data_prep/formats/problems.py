"""The problem and generation schemas, validated row by row.

Problems, one row per problem::

    problem_id       unique non-empty string
    source           where it comes from (e.g. "codeforces", "leetcode", "code_contests", "math")
    statement        the problem text shown to the verifier
    tests            code problems: {"kind": "stdio", "cases": [{"input": str, "output": str}, ...]}
                     with optional "compare" (data_prep.formats.judge_rules.OutputRule as a dict),
                     "checker" (Python source run as checker.py input correct_output output),
                     "input_file"/"output_file" (the statement's file names instead of stdin/stdout);
                     or {"kind": "function", "prelude": str (optional), "check": str}
                     (a JSON string holding that object is accepted too)
    answer           math problems, instead of tests: the reference final answer (LaTeX or plain)
    time_limit_s     optional positive number (per test)
    memory_limit_mb  optional positive number
    judge_rules_version  the judge rules the row was converted under (``convert`` writes it):
                     a row of an older version, or a converted row without one, is refused
                     with the command that converts it again (its tests or comparison rule
                     may mean something else today); a user's own rows may leave it out

Generations, one row per model output::

    problem_id       a problem of the problems file
    response         the full model output, reasoning included
    label            optional bool: when present, the row is not executed again
"""

from __future__ import annotations

import json
import numbers
import re
from dataclasses import dataclass

from data_prep.formats.io import DataError, read_records, require_columns, summary_path
from data_prep.formats.judge_rules import JUDGE_RULES_CHANGES, JUDGE_RULES_VERSION, OutputRule

PROBLEM_COLUMNS = ("problem_id", "source", "statement")
#: File names a test may ask for (statement's input/output files): no paths, no dot files.
SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
#: Names the sandbox harness uses in the candidate's directory.
RESERVED_FILE_NAMES = frozenset({"job", "cases.jsonl", "stdin.txt", "stdout.txt", "stderr.txt"})
GENERATION_COLUMNS = ("problem_id", "response")
#: The ``--format`` names of ``convert`` (its problem ids start with ``<source>/``).
CONVERTED_SOURCES = ("code_contests", "codeforces", "leetcode")


@dataclass(frozen=True)
class Problem:
    problem_id: str
    source: str
    statement: str
    tests: dict | None = None
    answer: str | None = None
    time_limit_s: float | None = None
    memory_limit_mb: float | None = None

    @property
    def task(self) -> str:
        """``code`` (has tests) or ``math`` (has an answer)."""
        return "math" if self.tests is None else "code"


def _string(record, name, path, row, *, empty_ok=False) -> str:
    if name not in record or record[name] is None:
        raise DataError(path, row, name, "missing")
    value = record[name]
    if not isinstance(value, str):
        raise DataError(path, row, name, f"expected a string, got {type(value).__name__}")
    if not empty_ok and not value.strip():
        raise DataError(path, row, name, "empty")
    return value


def _positive(record, name, path, row) -> float | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise DataError(path, row, name, f"expected a positive number, got {value!r}")
    return float(value)


def _file_name(value, path, row, field) -> str:
    if not isinstance(value, str) or not SAFE_FILE_NAME.fullmatch(value) or value in RESERVED_FILE_NAMES:
        raise DataError(path, row, field, f"expected a plain file name such as 'input.txt', got {value!r}")
    return value


def _stdio_options(value: dict, path, row) -> dict:
    """The optional judging fields of a stdio test object, validated (absent ones stay absent)."""
    options = {}
    for key in ("input_file", "output_file"):
        if value.get(key) is not None:
            options[key] = _file_name(value[key], path, row, f"tests.{key}")
    if options.get("input_file") is not None and options.get("input_file") == options.get("output_file"):
        raise DataError(path, row, "tests.output_file", "must differ from tests.input_file")
    if value.get("checker") is not None:
        if not isinstance(value["checker"], str) or not value["checker"].strip():
            raise DataError(path, row, "tests.checker",
                            "expected Python source (run as checker.py input correct_output output)")
        options["checker"] = value["checker"]
    if value.get("compare") is not None:
        try:
            options["compare"] = OutputRule.from_dict(value["compare"]).to_dict()
        except (TypeError, ValueError) as exc:
            raise DataError(path, row, "tests.compare", str(exc)) from None
    return options


def parse_tests(value, path, row) -> dict:
    """Validate a test object (or its JSON string) and return it as a plain dict."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise DataError(path, row, "tests", f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise DataError(path, row, "tests", f"expected an object, got {type(value).__name__}")
    kind = value.get("kind")
    if kind == "stdio":
        cases = value.get("cases")
        if not isinstance(cases, list) or not cases:
            raise DataError(path, row, "tests.cases", "expected a non-empty list of {input, output}")
        clean = []
        for number, case in enumerate(cases):
            if not isinstance(case, dict):
                raise DataError(path, row, f"tests.cases[{number}]", "expected an object {input, output}")
            for key in ("input", "output"):
                if not isinstance(case.get(key), str):
                    raise DataError(path, row, f"tests.cases[{number}].{key}", "missing or not a string")
            clean.append({"input": case["input"], "output": case["output"]})
        return {"kind": "stdio", "cases": clean, **_stdio_options(value, path, row)}
    if kind == "function":
        check = value.get("check")
        if not isinstance(check, str) or not check.strip():
            raise DataError(path, row, "tests.check", "missing or empty (code run after the candidate)")
        prelude = value.get("prelude")
        if prelude is not None and not isinstance(prelude, str):
            raise DataError(path, row, "tests.prelude", "expected a string")
        return {"kind": "function", "prelude": prelude or "", "check": check}
    raise DataError(path, row, "tests.kind", f"expected 'stdio' or 'function', got {kind!r}")


def _reconvert_command(path, source: str) -> str:
    """The ``convert`` command that wrote ``path``, from the summary saved next to it when there is one."""
    inputs = "<the dataset's files>"
    try:
        summary = json.loads(summary_path(path).read_text(encoding="utf-8"))
        if summary.get("format") == source and summary.get("inputs"):
            inputs = " ".join(f"'{p}'" for p in summary["inputs"])
    except (OSError, ValueError, AttributeError):
        pass
    return f"python -m data_prep convert --format {source} --input {inputs} --out '{path}'"


def _check_rules_version(record: dict, problem_id: str, source: str, path, row: int) -> None:
    """Refuse a row converted under other judge rules (module docstring, ``judge_rules_version``)."""
    version = record.get("judge_rules_version")
    converted = source in CONVERTED_SOURCES and problem_id.startswith(f"{source}/")
    if version is None and not converted or version == JUDGE_RULES_VERSION:
        return
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise DataError(path, row, "judge_rules_version", f"expected a positive integer, got {version!r}")
    if version is not None and version > JUDGE_RULES_VERSION:
        raise DataError(path, row, "judge_rules_version", f"written under judge rules {version}, newer than this "
                                                          f"data_prep's ({JUDGE_RULES_VERSION}): update it")
    changes = "; ".join(f"{v}: {what}" for v, what in JUDGE_RULES_CHANGES.items() if v > (version or 0))
    was = f"written under judge rules {version}" if version else "converted before judge rules were versioned"
    action = (f"convert it again: {_reconvert_command(path, source)}" if converted else
              f"check its tests against these rules, then set judge_rules_version to {JUDGE_RULES_VERSION}")
    raise DataError(path, row, "judge_rules_version",
                    f"{was}; labels are now judged under rules {JUDGE_RULES_VERSION} ({changes}), so its tests would "
                    f"not be judged as they were converted to be: {action}")


def parse_problem(record: dict, path, row: int) -> Problem:
    """One validated problem row."""
    problem_id = _string(record, "problem_id", path, row)
    source = _string(record, "source", path, row)
    _check_rules_version(record, problem_id, source, path, row)
    statement = _string(record, "statement", path, row)
    has_tests = record.get("tests") is not None
    has_answer = record.get("answer") is not None
    if has_tests == has_answer:
        raise DataError(path, row, "tests", "a problem needs exactly one of 'tests' (code) or 'answer' (math)")
    tests = parse_tests(record["tests"], path, row) if has_tests else None
    answer = None
    if has_answer:
        answer = record["answer"]
        if isinstance(answer, numbers.Real) and not isinstance(answer, bool):
            answer = str(answer)
        answer = _string({"answer": answer}, "answer", path, row)
    return Problem(
        problem_id=problem_id,
        source=source,
        statement=statement,
        tests=tests,
        answer=answer,
        time_limit_s=_positive(record, "time_limit_s", path, row),
        memory_limit_mb=_positive(record, "memory_limit_mb", path, row),
    )


def load_problems(path) -> dict[str, Problem]:
    """All problems of a file by id; duplicate ids are an error naming both rows."""
    require_columns(path, PROBLEM_COLUMNS)
    problems: dict[str, Problem] = {}
    first_row: dict[str, int] = {}
    for row, record in read_records(path):
        problem = parse_problem(record, path, row)
        if problem.problem_id in problems:
            raise DataError(
                path, row, "problem_id", f"duplicate {problem.problem_id!r} (first at row {first_row[problem.problem_id]})"
            )
        problems[problem.problem_id] = problem
        first_row[problem.problem_id] = row
    if not problems:
        raise DataError(path, None, None, "no problems")
    return problems


def parse_generation(record: dict, path, row: int, problems: dict[str, Problem]) -> dict:
    """One validated generation row: ``problem_id``, ``response`` and ``label`` (bool or None)."""
    problem_id = _string(record, "problem_id", path, row)
    if problem_id not in problems:
        raise DataError(path, row, "problem_id", f"unknown problem {problem_id!r} (not in the problems file)")
    response = _string(record, "response", path, row, empty_ok=True)
    label = record.get("label")
    if label is not None and not isinstance(label, bool):
        raise DataError(path, row, "label", f"expected true/false or null, got {label!r}")
    return {"problem_id": problem_id, "response": response, "label": label}


def read_generations(path, problems: dict[str, Problem]):
    """Yield validated generation rows, streaming."""
    require_columns(path, GENERATION_COLUMNS)
    for row, record in read_records(path):
        yield parse_generation(record, path, row, problems)

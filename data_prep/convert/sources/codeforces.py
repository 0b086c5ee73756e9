"""open-r1/codeforces rows -> problems.

Row shape (the dataset card's ``dataset_info``; configs ``default``, ``verifiable`` and
``verifiable-prompts``, the last one with one row per (problem, ``language``) and a ``prompt``):
``id`` (e.g. ``"1000/A"``), ``contest_id``, ``index``, ``title``, ``description``, ``input_format``,
``output_format``, ``interaction_format``, ``note``, ``examples`` and ``official_tests`` (lists of
``{input, output}``), ``official_tests_complete`` (bool), ``input_mode`` (``"stdio"`` or
``"file"``), ``generated_checker`` (Python source or null), ``executable`` (bool),
``generated_tests`` (a count; the tests themselves are in ``generated_tests/test_cases_*.parquet``),
``rating`` (int or null), ``time_limit`` (seconds), ``memory_limit`` (MB).

Judged as open-r1's grader does (``src/open_r1/utils/competitive_programming/cf_scoring.py``): the
tests are ``official_tests`` followed by the generated tests; a problem with a
``generated_checker`` is judged by it (:mod:`data_prep.label.checker`), otherwise by
:data:`data_prep.formats.judge_rules.CODEFORCES`, every word case-insensitive when the statement allows "any
case"; ``input_mode == "file"`` reads ``input.txt`` and writes ``output.txt`` (the grader's
``INPUT_MODE``). Interactive problems are skipped.
"""

from __future__ import annotations

import re

from data_prep.convert.sources import ConvertOptions, Reference, Skip
from data_prep.formats.judge_rules import CODEFORCES, OutputRule

#: How Codeforces statements say that the case of the answer does not matter.
ANY_CASE = re.compile(r"any\s+(?:letter\s+)?case|any\s+register|arbitrary\s+case|case[-\s]insensitive",
                      re.IGNORECASE)
FILE_IO = {"input_file": "input.txt", "output_file": "output.txt"}


def problem_id(record: dict) -> str:
    return f"codeforces/{record['id']}"


def _statement(record: dict) -> str:
    examples = record.get("examples") or []
    parts = [record.get("title"), record.get("description"),
             record.get("input_format") and "Input\n\n" + record["input_format"],
             record.get("output_format") and "Output\n\n" + record["output_format"],
             examples and "Examples\n\n" + "\n\n".join(f"Input:\n{t['input']}\nOutput:\n{t['output']}"
                                                          for t in examples),
             record.get("note") and "Note\n\n" + record["note"]]
    return "\n\n".join(p for p in parts if p)


def _check_filters(record: dict, options: ConvertOptions) -> str:
    """Raise :class:`Skip` for a row the options leave out; return its input mode."""
    if record.get("interaction_format"):
        raise Skip("interactive problem")
    language = record.get("language")
    if options.language and language is not None and language != options.language:
        raise Skip(f"language {language!r} (kept: --language {options.language})")
    if options.require_executable and record.get("executable") is False:
        raise Skip("executable is false")
    if options.require_complete_tests and record.get("official_tests_complete") is False:
        raise Skip("official_tests_complete is false")
    mode = record.get("input_mode") or "stdio"
    if mode not in ("stdio", "file"):
        raise Skip(f"unknown input_mode {mode!r}")
    if options.input_mode and mode != options.input_mode:
        raise Skip(f"input_mode {mode} (kept: --input-mode {options.input_mode})")
    if options.min_rating is not None or options.max_rating is not None:
        rating = record.get("rating")
        if rating is None:
            raise Skip("no rating (a rating filter is set)")
        too_low = options.min_rating is not None and rating < options.min_rating
        too_high = options.max_rating is not None and rating > options.max_rating
        if too_low or too_high:
            raise Skip(f"rating outside [{options.min_rating}, {options.max_rating}]")
    return mode


def convert(record: dict, options: ConvertOptions = ConvertOptions()) -> dict:
    """One open-r1/codeforces row -> problem (official tests, then the generated ones)."""
    mode = _check_filters(record, options)
    cases = [{"input": t["input"], "output": t["output"]} for t in record.get("official_tests") or []
             if t and t.get("output") is not None]
    if options.generated_tests is not None:
        cases += options.generated_tests.cases(str(record["id"]))
    if not cases:
        raise Skip("no tests")
    tests = {"kind": "stdio", "cases": cases, **(FILE_IO if mode == "file" else {})}
    if record.get("generated_checker"):
        tests["checker"] = record["generated_checker"]
    else:
        statement_text = " ".join(record.get(k) or "" for k in ("description", "output_format", "note"))
        rule = OutputRule(case="any") if ANY_CASE.search(statement_text) else CODEFORCES
        tests["compare"] = rule.to_dict()
    return {
        "problem_id": problem_id(record),
        "source": "codeforces",
        "statement": _statement(record),
        "tests": tests,
        "time_limit_s": record.get("time_limit") or None,
        "memory_limit_mb": record.get("memory_limit") or None,
    }


def references(record: dict) -> list[Reference]:
    """open-r1/codeforces ships no solutions: audit it with your own (``audit --references``)."""
    return []

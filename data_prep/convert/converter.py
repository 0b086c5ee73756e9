"""``python -m data_prep convert``: dataset rows -> problems file, streaming.

Rows are read one at a time from every input file (parquet shards are read batch by batch), each
converted and written before the next is read: memory holds one parquet batch and one output batch,
plus the set of problem ids written so far (a few bytes per problem), never the dataset. Every row
that does not become a problem is counted by reason; each problem is validated against the schema
before it is written, so ``label`` never meets a problem it rejects. Every problem carries the
``judge_rules_version`` it was converted under (``data_prep.formats.judge_rules``): a file converted
under other rules is refused where it is read, with the command that converts it again.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Callable

import pyarrow as pa

from data_prep.convert.sources import SOURCES, ConvertOptions, Skip
from data_prep.formats.io import DataError, read_records, table_writer
from data_prep.formats.judge_rules import JUDGE_RULES_VERSION
from data_prep.formats.problems import parse_problem

#: Problems as parquet: ``tests`` is the JSON string of the test object (the schema accepts both).
PROBLEM_SCHEMA = pa.schema([
    ("problem_id", pa.string()), ("source", pa.string()), ("statement", pa.string()), ("tests", pa.string()),
    ("time_limit_s", pa.float64()), ("memory_limit_mb", pa.float64()), ("judge_rules_version", pa.int64()),
])


def problems_from(paths: list[Path], fmt: str, options: ConvertOptions, skipped: Counter,
                  on_row: Callable[[], None] = lambda: None):
    """Yield ``(record, problem, parsed)`` for every row that becomes a new problem (``parsed``:
    the validated :class:`data_prep.formats.problems.Problem`)."""
    module = SOURCES[fmt]
    seen: set[str] = set()
    for path in paths:
        for row, record in read_records(path, batch_size=64):
            on_row()
            try:
                problem = {**module.convert(record, options), "judge_rules_version": JUDGE_RULES_VERSION}
            except Skip as why:
                skipped[str(why)] += 1
                continue
            except (KeyError, TypeError, AttributeError) as exc:
                field = exc.args[0] if isinstance(exc, KeyError) and exc.args else None
                raise DataError(path, row, field, f"not a {fmt} row: {exc!r}") from None
            try:
                parsed = parse_problem(problem, path, row)
            except DataError as exc:  # e.g. a file name the sandbox will not use
                skipped[f"invalid problem: field {exc.field!r}"] += 1
                continue
            if problem["problem_id"] in seen:
                skipped["duplicate problem id"] += 1
                continue
            seen.add(problem["problem_id"])
            yield record, problem, parsed


def _as_parquet_row(problem: dict) -> dict:
    return {**{k: problem.get(k) for k in PROBLEM_SCHEMA.names}, "tests": json.dumps(problem["tests"])}


def convert(paths: list[Path], fmt: str, out: Path, options: ConvertOptions = ConvertOptions(),
            on_row: Callable[[], None] = lambda: None) -> dict:
    """Convert every row of ``paths`` into ``out``; return the summary (counts, skips by reason)."""
    skipped: Counter = Counter()
    parquet = out.name.lower().endswith((".parquet", ".pq"))
    with table_writer(out, PROBLEM_SCHEMA if parquet else None) as writer:
        for _, problem, _ in problems_from(paths, fmt, options, skipped, on_row):
            writer.write(_as_parquet_row(problem) if parquet else problem)
        written = writer.rows
    summary = {"inputs": [str(p) for p in paths], "format": fmt, "problems": written,
               "skipped": dict(sorted(skipped.items())), "options": _options_summary(options)}
    return summary


def _options_summary(options: ConvertOptions) -> dict:
    summary = {k: v for k, v in vars(options).items() if k != "generated_tests"}
    if options.generated_tests is not None:
        summary["generated_tests"] = {"files": len(options.generated_tests.paths),
                                      "problems": options.generated_tests.problems}
    return summary

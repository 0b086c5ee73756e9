"""deepmind/code_contests rows -> problems.

Row shape (``contest_problem.proto``, as the hub's parquet shards store it): ``name``,
``description``, ``public_tests``/``private_tests``/``generated_tests`` (each
``{"input": [...], "output": [...]}``), ``source`` (enum: 1 CodeChef, 2 Codeforces, 3 HackerEarth,
4 Code Jam, 6 AtCoder, 7 Aizu; names may agree between sources), ``solutions`` and
``incorrect_solutions`` (each ``{"language": [...], "solution": [...]}``, language 1 = Python 2,
3 = Python 3), ``cf_contest_id``, ``cf_index``, ``cf_rating``, ``time_limit`` (``{"seconds",
"nanos"}`` or null), ``memory_limit_bytes`` (0 when unknown), ``input_file``/``output_file``
(empty for stdin/stdout).

Judged as its tester (``execution/tester_sandboxer.cc``) compares outputs:
:data:`data_prep.formats.judge_rules.CODE_CONTESTS`. Tests: public, private, then generated. The id is
``code_contests/<source>/<name>``, so equal names from different sources never collide.
"""

from __future__ import annotations

from data_prep.convert.sources import ConvertOptions, Reference, Skip
from data_prep.formats.judge_rules import CODE_CONTESTS

SOURCE_NAMES = {0: "unknown", 1: "codechef", 2: "codeforces", 3: "hackerearth", 4: "codejam", 6: "atcoder", 7: "aizu"}
PYTHON3 = 3


def _source_name(value) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, str):  # a JSON export may spell the enum
        return value.strip().lower() or "unknown"
    if value not in SOURCE_NAMES:
        raise TypeError(f"source: unknown enum value {value!r}")
    return SOURCE_NAMES[value]


def _cases(group) -> list[dict]:
    group = group or {}
    inputs, outputs = group.get("input") or [], group.get("output") or []
    if len(inputs) != len(outputs):
        raise TypeError(f"{len(inputs)} inputs but {len(outputs)} outputs")
    return [{"input": i, "output": o} for i, o in zip(inputs, outputs)]


def convert(record: dict, options: ConvertOptions = ConvertOptions()) -> dict:
    """One code_contests row -> problem."""
    cases = []
    for key in ("public_tests", "private_tests", "generated_tests"):
        cases += _cases(record.get(key))
    if not cases:
        raise Skip("no tests")
    limit = record.get("time_limit") or {}
    seconds = (limit.get("seconds") or 0) + (limit.get("nanos") or 0) / 1e9
    memory = record.get("memory_limit_bytes")
    tests = {"kind": "stdio", "cases": cases, "compare": CODE_CONTESTS.to_dict()}
    for key in ("input_file", "output_file"):
        if record.get(key):
            tests[key] = record[key]
    return {
        "problem_id": f"code_contests/{_source_name(record.get('source'))}/{record['name']}",
        "source": "code_contests",
        "statement": record["description"],
        "tests": tests,
        "time_limit_s": seconds or None,
        "memory_limit_mb": memory / 2**20 if memory else None,
    }


def references(record: dict) -> list[Reference]:
    """The Python 3 programs of ``solutions`` (good) and ``incorrect_solutions`` (bad)."""
    found = []
    for key, good in (("solutions", True), ("incorrect_solutions", False)):
        group = record.get(key) or {}
        for index, (language, code) in enumerate(zip(group.get("language") or [], group.get("solution") or [])):
            if language == PYTHON3 and code:
                found.append(Reference(code, good, f"{key}[{index}]"))
    return found

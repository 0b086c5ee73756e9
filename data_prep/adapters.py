"""Converters from the layouts people download (saved locally: no hub access) to the problem schema.

- ``codeforces``: open-r1/codeforces rows (``id``, ``title``, ``description``, ``input_format``,
  ``output_format``, ``note``, ``examples``, ``official_tests``, ``time_limit`` in seconds,
  ``memory_limit`` in MB, ``interaction_format``, ``generated_checker``).
- ``leetcode``: LeetCodeDataset rows (``task_id``, ``problem_description``, ``starter_code``,
  ``prompt`` (the import prelude), ``entry_point`` such as ``Solution().twoSum``, ``test``
  (``def check(candidate): ...``)).
- ``code_contests``: deepmind/code_contests rows (``name``, ``description``, ``public_tests``,
  ``private_tests``, ``generated_tests`` each ``{"input": [...], "output": [...]}``, ``time_limit``
  ``{"seconds", "nanos"}``, ``memory_limit_bytes``).

Each converter returns a problem dict, or raises :class:`Skip` with the reason (interactive
problems, special checkers, no tests), counted in the summary.
"""

from __future__ import annotations

from typing import Callable


class Skip(Exception):
    """This row cannot become a problem (the message says why)."""


def _cases(inputs, outputs) -> list[dict]:
    return [{"input": i, "output": o} for i, o in zip(inputs or [], outputs or [])]


def from_codeforces(record: dict) -> dict:
    """open-r1/codeforces -> problem (examples first, then the official tests)."""
    if record.get("interaction_format"):
        raise Skip("interactive problem")
    if record.get("generated_checker"):
        raise Skip("needs a special checker")
    tests = list(record.get("examples") or []) + list(record.get("official_tests") or [])
    cases = [{"input": t["input"], "output": t["output"]} for t in tests if t and t.get("output") is not None]
    if not cases:
        raise Skip("no tests")
    parts = [record.get("title"), record.get("description"),
             record.get("input_format") and "Input\n\n" + record["input_format"],
             record.get("output_format") and "Output\n\n" + record["output_format"],
             record.get("examples") and "Examples\n\n" + "\n\n".join(
                 f"Input:\n{t['input']}\nOutput:\n{t['output']}" for t in record["examples"]),
             record.get("note") and "Note\n\n" + record["note"]]
    return {
        "problem_id": f"codeforces/{record['id']}",
        "source": "codeforces",
        "statement": "\n\n".join(p for p in parts if p),
        "tests": {"kind": "stdio", "cases": cases},
        "time_limit_s": record.get("time_limit"),
        "memory_limit_mb": record.get("memory_limit"),
    }


def from_leetcode(record: dict) -> dict:
    """LeetCodeDataset -> problem with a function test: prelude, candidate, then ``check(entry)``."""
    if not record.get("test") or not record.get("entry_point"):
        raise Skip("no test or entry point")
    statement = record["problem_description"]
    if record.get("starter_code"):
        statement += "\n\nStarter code:\n```python\n" + record["starter_code"].rstrip() + "\n```"
    return {
        "problem_id": f"leetcode/{record['task_id']}",
        "source": "leetcode",
        "statement": statement,
        "tests": {"kind": "function", "prelude": record.get("prompt") or "",
                  "check": record["test"] + f"\n\ncheck({record['entry_point']})\n"},
    }


def from_code_contests(record: dict) -> dict:
    """deepmind/code_contests -> problem (public, private then generated tests)."""
    cases = []
    for key in ("public_tests", "private_tests", "generated_tests"):
        group = record.get(key) or {}
        cases += _cases(group.get("input"), group.get("output"))
    if not cases:
        raise Skip("no tests")
    limit = record.get("time_limit") or {}
    seconds = (limit.get("seconds") or 0) + (limit.get("nanos") or 0) / 1e9
    memory = record.get("memory_limit_bytes")
    return {
        "problem_id": f"code_contests/{record['name']}",
        "source": "code_contests",
        "statement": record["description"],
        "tests": {"kind": "stdio", "cases": cases},
        "time_limit_s": seconds or None,
        "memory_limit_mb": memory / 2**20 if memory else None,
    }


ADAPTERS: dict[str, Callable[[dict], dict]] = {
    "codeforces": from_codeforces,
    "leetcode": from_leetcode,
    "code_contests": from_code_contests,
}

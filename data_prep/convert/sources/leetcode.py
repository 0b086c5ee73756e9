"""newfacade/LeetCodeDataset rows -> problems.

Row shape (v0.3.1 release, ``LeetCodeDataset-v0.3.1-{train,test}.jsonl.gz``): ``task_id`` (the
title slug, e.g. ``"two-sum"``), ``question_id`` (int), ``difficulty``, ``tags``,
``problem_description``, ``starter_code``, ``estimated_date``, ``prompt`` (the ~80-line prelude:
imports, ``inf``, ``ListNode``/``TreeNode`` and their helpers), ``completion`` (a reference
solution), ``entry_point`` (e.g. ``"Solution().twoSum"``), ``test`` (``def check(candidate): ...``),
``input_output``, ``query``, ``response``.

Judged as the dataset's evaluator (``eval_lcd/execution.py``, human-eval style) judges: one program
``prompt + completion + test + check(entry_point)`` executed in a fresh namespace (not as
``__main__``), stdin unreadable, 3 seconds (its default ``timeout``); passing = no exception. A
prelude may import third-party modules its judge provides (``sortedcontainers`` in v0.3.1): they
are installed with this project, and a row whose prelude imports a module this interpreter cannot
find is skipped with the module's name, not labelled wrong.
"""

from __future__ import annotations

import ast
import importlib.util
from functools import lru_cache

from data_prep.convert.sources import ConvertOptions, Reference, Skip

#: eval_lcd's evaluate_functional_correctness(timeout=3.0), for the whole check program.
TIME_LIMIT_S = 3.0


@lru_cache(maxsize=None)
def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def prelude_modules(prelude: str) -> list[str]:
    """Top-level modules a prelude imports (absolute imports only)."""
    try:
        tree = ast.parse(prelude)
    except SyntaxError as exc:
        raise Skip(f"prelude is not valid Python ({exc.msg})") from None
    modules = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.append(node.module.split(".")[0])
    return sorted(set(modules))


def convert(record: dict, options: ConvertOptions = ConvertOptions()) -> dict:
    """One LeetCodeDataset row -> a function-test problem."""
    if not record.get("test") or not record.get("entry_point"):
        raise Skip("no test or entry point")
    prelude = record.get("prompt") or ""
    for module in prelude_modules(prelude):
        if not _importable(module):
            raise Skip(f"prelude imports {module!r}, which is not installed")
    statement = record["problem_description"]
    if record.get("starter_code"):
        statement += "\n\nStarter code:\n```python\n" + record["starter_code"].rstrip() + "\n```"
    return {
        "problem_id": f"leetcode/{record['task_id']}",
        "source": "leetcode",
        "statement": statement,
        "tests": {"kind": "function", "prelude": prelude,
                  "check": record["test"] + f"\n\ncheck({record['entry_point']})\n"},
        "time_limit_s": TIME_LIMIT_S,
    }


def references(record: dict) -> list[Reference]:
    """The row's ``completion``: the dataset's cross-verified solution."""
    return [Reference(record["completion"], True, "completion")] if record.get("completion") else []

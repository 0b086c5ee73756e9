"""Which problem ids are one problem (spec section 4: a problem is in one split only).

Two problem ids are one problem when their statements are equal after normalisation
(:func:`statement_key`), so CodeForces Div. 1/Div. 2 twins and code_contests' copies of CodeForces
problems land in the same split, whatever their ids, spacing or markup.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from data_prep.formats.io import DataError


def statement_key(statement: str) -> str:
    """A statement's identity: NFKC, case folded, letters and digits only, hashed."""
    letters = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", statement).casefold())
    return hashlib.blake2b(letters.encode(), digest_size=16).hexdigest()


class ProblemIdentity:
    """Which problem ids are one problem: union-find over ids and statement keys, across both files."""

    def __init__(self):
        self._parent: dict[tuple, tuple] = {}
        self._task: dict[tuple, str] = {}  # root -> the task of its problem
        self._first_seen: dict[str, tuple[str, object, int]] = {}  # problem id -> (task, file, row)

    def _root(self, node: tuple) -> tuple:
        path = []
        while self._parent.setdefault(node, node) != node:
            path.append(node)
            node = self._parent[node]
        for item in path:
            self._parent[item] = node
        return node

    def add(self, problem_id: str, statement: str, task: str, path, row: int) -> None:
        """Record that ``problem_id`` (a ``task`` problem) has this statement.

        Raises ``DataError`` when that makes one problem both a code and a math problem.
        """
        self._first_seen.setdefault(problem_id, (task, path, row))
        a, b = self._root(("id", problem_id)), self._root(("statement", statement_key(statement)))
        for root in (a, b):
            known = self._task.get(root, task)
            if known != task:
                other = next(pid for pid, (t, _, _) in self._first_seen.items()
                             if t == known and self._root(("id", pid)) == root)
                _, other_path, other_row = self._first_seen[other]
                raise DataError(path, row, "problem_id" if other == problem_id else "statement",
                                f"problem {problem_id!r} is also the {known} problem {other!r} ({other_path}, row "
                                f"{other_row}): one problem (same id or statement) cannot be in --labelled and --math")
        if a != b:
            self._parent[a] = b
        self._task[b] = task

    def units(self, problem_ids) -> list[tuple[str, ...]]:
        """The problems among ``problem_ids``: tuples of the ids that are one problem, sorted."""
        groups: dict[tuple, list[str]] = {}
        for problem_id in problem_ids:
            groups.setdefault(self._root(("id", problem_id)), []).append(problem_id)
        return sorted(tuple(sorted(ids)) for ids in groups.values())

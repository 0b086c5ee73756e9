"""Which problem ids are one problem (spec section 4: a problem is in one split only).

Two problem ids are one problem when

- their statements are equal once their markup is reduced to what a reader sees and only letters
  and digits are kept (:func:`statement_keys`): open-r1/codeforces stores Codeforces' LaTeX
  (``$$$1 \\le n \\le 10^9$$$``) under a title line, deepmind/code_contests the rendered text
  (``1 ≤ n ≤ 10^9``, ``a_1, a_2, ..., a_n``, some TeX left such as ``\\frac``) without one, and
  Codeforces prints "Example" above one example where the converter writes "Examples"; so Div. 1/Div. 2
  twins and code_contests' copies of Codeforces problems land in the same split, whatever their ids,
  spacing or markup; or
- their ids name the same Codeforces problem as the converters write them (:func:`codeforces_problem`:
  ``codeforces/1/A`` and ``code_contests/codeforces/1_A. Theatre Square``), whatever their statements
  (code_contests shows some formulas as ``<image>``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

from data_prep.formats.io import DataError

#: LaTeX commands that print their name (``\max`` is "max" in a statement rendered as text).
_OPERATOR_NAMES = frozenset(
    "arccos arcsin arctan arg cos cosh cot deg det dim exp gcd hom inf ker lcm lg lim ln log max min mod "
    "sec sin sinh sup tan tanh".split())
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+)|\\(.)", re.DOTALL)
#: A first line that is a title: short, and not a sentence.
_TITLE = re.compile(r"[^\n]{1,100}(?<![.:;,])")
_EXAMPLES = re.compile(r"\bexamples\b", re.IGNORECASE)
_CODEFORCES_ID = re.compile(r"codeforces/(\d+)/([A-Z]\d*)")
_CODE_CONTESTS_CODEFORCES_ID = re.compile(r"code_contests/codeforces/(\d+)_([A-Z]\d*)\. .*", re.DOTALL)


@lru_cache(maxsize=None)
def _command_text(name: str) -> str:
    """What a LaTeX command reads as in plain text: a Greek letter, an operator's name, or nothing
    (a symbol such as ``\\le`` or ``\\times``, which the plain-text statement writes as ``≤`` or ``×``,
    or formatting such as ``\\texttt``, whose argument stays)."""
    if name in ("bmod", "pmod"):
        return " mod "
    if name in _OPERATOR_NAMES:
        return f" {name} "
    base = name[3:] if name.startswith("var") else name
    try:
        return unicodedata.lookup(f"GREEK {'CAPITAL' if base[:1].isupper() else 'SMALL'} LETTER {base.upper()}")
    except KeyError:
        return " "


def plain_text(statement: str) -> str:
    """A statement with its markup reduced to what a reader sees: Codeforces' ``$$$...$$$`` LaTeX
    (open-r1/codeforces) and code_contests' mix of Unicode and TeX read the same once commands become
    their text, and NFKC folds the Unicode forms (``…``, ``ℤ``)."""
    text = _LATEX_COMMAND.sub(lambda m: _command_text(m.group(1)) if m.group(1) else m.group(2), statement)
    return _EXAMPLES.sub("example", unicodedata.normalize("NFKC", text))


def _key(text: str) -> str:
    letters = re.sub(r"[\W_]+", "", text.casefold())
    return hashlib.blake2b(letters.encode(), digest_size=16).hexdigest()


def statement_keys(statement: str) -> tuple[str, ...]:
    """A statement's identities: its letters and digits, markup reduced (``plain_text``), case
    folded, hashed; and, when its first line is a title (open-r1/codeforces' statements start with
    the problem's title, code_contests' do not), the same without that line."""
    text = plain_text(statement).strip()
    keys = [_key(text)]
    first, separator, rest = text.partition("\n")
    if separator and rest.strip() and _TITLE.fullmatch(first.strip()):
        keys.append(_key(rest))
    return tuple(keys)


def codeforces_problem(problem_id: str) -> str | None:
    """``contest/index`` when ``problem_id`` names a Codeforces problem as the converters write it
    (``codeforces/1/A`` from open-r1/codeforces, ``code_contests/codeforces/1_A. Title`` from
    code_contests), else None."""
    match = _CODEFORCES_ID.fullmatch(problem_id) or _CODE_CONTESTS_CODEFORCES_ID.fullmatch(problem_id)
    return f"{match.group(1)}/{match.group(2)}" if match else None


class ProblemIdentity:
    """Which problem ids are one problem: union-find over ids, statement keys and Codeforces problems,
    across both files."""

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
        nodes = [("id", problem_id)] + [("statement", key) for key in statement_keys(statement)]
        if codeforces_problem(problem_id):
            nodes.append(("codeforces", codeforces_problem(problem_id)))
        roots = list(dict.fromkeys(self._root(node) for node in nodes))
        for root in roots:
            known = self._task.get(root, task)
            if known != task:
                other = next(pid for pid, (t, _, _) in self._first_seen.items()
                             if t == known and self._root(("id", pid)) == root)
                _, other_path, other_row = self._first_seen[other]
                raise DataError(path, row, "problem_id" if other == problem_id else "statement",
                                f"problem {problem_id!r} is also the {known} problem {other!r} ({other_path}, row "
                                f"{other_row}): one problem (same id or statement) cannot be in --labelled and --math")
        for root in roots[:-1]:
            self._parent[root] = roots[-1]
        self._task[roots[-1]] = task

    def units(self, problem_ids) -> list[tuple[str, ...]]:
        """The problems among ``problem_ids``: tuples of the ids that are one problem, sorted."""
        groups: dict[tuple, list[str]] = {}
        for problem_id in problem_ids:
            groups.setdefault(self._root(("id", problem_id)), []).append(problem_id)
        return sorted(tuple(sorted(ids)) for ids in groups.values())

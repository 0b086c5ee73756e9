"""Judging a program's output against the expected one, the way the datasets' judges do.

Both outputs are split on whitespace (spaces, tabs, line breaks: layout never matters) and must
have the same number of tokens. Two tokens match when

1. they are the same string; or
2. the expected token is an integer (``[+-]?digits``) and the rule reads integers by value
   (``integers="value"``): the answer is an integer of the same value, exactly, however large (an
   answer mod 998244353 that is off by one is wrong), ``+5``, ``05`` and ``-0`` included; under
   ``integers="string"`` an expected integer is answered by that string only; or
3. both are numbers and at least one is a real number (has a ``.`` or an exponent): they agree
   within ``abs_tol`` or within ``rel_tol`` of the expected value, except that a real number never
   answers an expected integer unless ``reals_match_integers`` (``3.0`` for ``3``); or
4. neither is a number and they are equal ignoring ASCII case, when ``case == "any"``, or when
   both are the words yes/no (``case == "yes_no"``, the default).

Where the rules come from:

- Codeforces (open-r1/codeforces problems without a ``generated_checker``; the ``codeforces`` rule,
  also the default) judges with testlib's standard checkers (MikeMirzayanov/testlib):
  ``checkers/wcmp.cpp`` and ``lcmp.cpp`` read words and compare them as strings; ``ncmp.cpp``
  reads each token with ``readLong``, whose ``stringToLongLong`` (``testlib.h``) rejects a ``+``
  sign, leading zeros and ``-0`` ("Expected integer") and returns the value, so the integers it
  accepts are equal exactly when their strings are: ``0110`` does not answer ``110``, nor ``+5``
  ``5``, nor ``-0`` ``0``, nor ``3.0`` ``3`` (``integers="string"``). ``checkers/yesno.cpp``
  upper-cases YES/NO before comparing (``case="yes_no"``); a statement that allows "any case"
  makes every word case-insensitive (the converter sets ``case="any"``). Real answers:
  ``rcmp6.cpp``/``rcmp9.cpp`` read doubles with ``readDouble`` (``stringToDouble`` accepts a
  sign, leading zeros and exponents) and accept an absolute or relative error of ``EPS``
  (``doubleCompare``): 1e-6 here, Codeforces' usual "absolute or relative error at most 1e-6".
- deepmind/code_contests, ``execution/tester_sandboxer.cc`` (``OutputsMatch``/``ValuesMatch``):
  tokens split on whitespace and lower-cased (ASCII), numbers read as values: integers compared
  exactly (``+5``, ``05``, ``-0`` by value too), any other numbers (``3.0`` for ``3`` too) with an
  absolute precision of 1e-5 (``code_contests`` rule below: ``case="any"``,
  ``integers="value"``, ``abs_tol=1e-5``, ``rel_tol=0``, ``reals_match_integers=True``). One
  deliberate difference: the tester parses integers as 32-bit and compares larger ones as doubles,
  so ``10**18`` and ``10**18 + 1`` agree there; here integers are always exact.

``inf``, ``nan``, hexadecimal or ``1_000`` are not numbers here: they compare as words.

:data:`JUDGE_RULES_VERSION` numbers the judging rules as a whole (this comparison, the sandbox's
verdicts, checker and LeetCode semantics): it is part of every label cache key and of every problem
``convert`` writes, so a change of rules never reuses an old verdict nor reinterprets an old file.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

#: Bumped whenever the same program on the same problem could get another verdict. What each
#: version changed (shown when an older problems file is refused):
JUDGE_RULES_CHANGES = {
    2: "integers compared exactly, yes/no words, file I/O, checkers, LeetCode's namespace",
    3: "Codeforces integers compared as strings (testlib: no '+', leading zeros or '-0'); a LeetCode "
       "program that exits before check() finishes fails; a checker that cannot judge gives checker_error; "
       "a program's non-daemon threads and atexit handlers run before its output is judged (as python3 runs it)",
}
JUDGE_RULES_VERSION = max(JUDGE_RULES_CHANGES)
#: The verdict of a candidate whose problem's checker could not judge it (``data_prep.label.checker``):
#: neither correct nor incorrect, so ``pairs`` leaves it out and ``audit`` lists the problem.
CHECKER_ERROR = "checker_error"

_INTEGER = re.compile(r"[+-]?\d+")
_REAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_YES_NO = frozenset({"yes", "no"})
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
CASES = ("yes_no", "any", "exact")
INTEGER_RULES = ("string", "value")


@dataclass(frozen=True)
class OutputRule:
    """How one problem's outputs are compared (stored in the problem's ``tests.compare``).

    ``case``: ``"yes_no"`` (only the words yes/no ignore case), ``"any"`` (every word ignores
    ASCII case) or ``"exact"``. ``integers``: ``"string"`` (an expected integer is answered by the
    same string only, as testlib reads integers) or ``"value"`` (by any integer of that value).
    ``abs_tol``/``rel_tol``: tolerance for real numbers only. ``reals_match_integers``: whether a
    real number may answer an expected integer (needs ``integers="value"``).
    """

    case: str = "yes_no"
    abs_tol: float = 1e-6
    rel_tol: float = 1e-6
    reals_match_integers: bool = False
    integers: str = "string"

    def __post_init__(self):
        if self.case not in CASES:
            raise ValueError(f"case must be one of {CASES}, got {self.case!r}")
        if self.integers not in INTEGER_RULES:
            raise ValueError(f"integers must be one of {INTEGER_RULES}, got {self.integers!r}")
        if not isinstance(self.reals_match_integers, bool):
            raise ValueError(f"reals_match_integers must be true or false, got {self.reals_match_integers!r}")
        if self.reals_match_integers and self.integers != "value":
            raise ValueError("reals_match_integers needs integers='value' (a judge that reads integers as strings "
                             "never takes a real number for one)")
        for name in ("abs_tol", "rel_tol"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict | None) -> "OutputRule":
        if value is None:
            return cls()
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)} (expected {', '.join(cls.__dataclass_fields__)})")
        return cls(**value)


#: Codeforces (open-r1/codeforces without a checker), the default.
CODEFORCES = OutputRule()
#: deepmind/code_contests' tester: every token case-insensitive, numbers by value, absolute precision 1e-5.
CODE_CONTESTS = OutputRule(case="any", abs_tol=1e-5, rel_tol=0.0, reals_match_integers=True, integers="value")


def _is_integer(token: str) -> bool:
    return _INTEGER.fullmatch(token) is not None


def _real(token: str) -> float | None:
    if _REAL.fullmatch(token) is None:
        return None
    value = float(token)
    return value if math.isfinite(value) else None


def _words_match(got: str, expected: str, case: str) -> bool:
    if case == "exact":
        return False
    got_lower, expected_lower = got.translate(_ASCII_LOWER), expected.translate(_ASCII_LOWER)
    if case == "any":
        return got_lower == expected_lower
    return got_lower == expected_lower and got_lower in _YES_NO


def tokens_match(got: str, expected: str, rule: OutputRule = CODEFORCES) -> bool:
    """Whether two whitespace-free tokens are the same answer under ``rule``."""
    if got == expected:
        return True
    if _is_integer(expected):
        if rule.integers == "string":
            return False
        if _is_integer(got):
            return int(got) == int(expected)
        if not rule.reals_match_integers:
            return False
    a, b = _real(got), _real(expected)
    if a is not None and b is not None:
        difference = abs(a - b)
        return difference <= rule.abs_tol or difference <= rule.rel_tol * abs(b)
    if a is not None or b is not None:
        return False  # a number against a word
    return _words_match(got, expected, rule.case)


def outputs_match(got: str, expected: str, rule: OutputRule = CODEFORCES) -> bool:
    """Whether ``got`` is ``expected`` token by token (see the module docstring)."""
    got_tokens, expected_tokens = got.split(), expected.split()
    if len(got_tokens) != len(expected_tokens):
        return False
    return all(tokens_match(g, e, rule) for g, e in zip(got_tokens, expected_tokens))

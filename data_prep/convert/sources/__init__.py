"""Converters from the datasets' own rows (saved locally: nothing is downloaded) to the problem schema.

One module per dataset, each with ``convert(record, options) -> problem`` (or :class:`Skip` with
the reason, counted in the summary) and ``references(record) -> [Reference]`` (the programs the
dataset ships as known correct or known wrong, for ``python -m data_prep audit``):

- :mod:`data_prep.convert.sources.codeforces`: open-r1/codeforces (configs ``default``, ``verifiable``,
  ``verifiable-prompts``) and its generated tests;
- :mod:`data_prep.convert.sources.leetcode`: newfacade/LeetCodeDataset (v0.3.1 ``.jsonl``/``.jsonl.gz``);
- :mod:`data_prep.convert.sources.code_contests`: deepmind/code_contests (the hub's parquet shards).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType


class Skip(Exception):
    """This row cannot become a problem (the message says why; it is the summary's count key)."""


@dataclass(frozen=True)
class ConvertOptions:
    """Filters and extras of ``convert`` (and ``audit``); the defaults keep only what can be judged."""

    language: str | None = "python"  # verifiable-prompts: keep the rows of this language (None: all)
    require_executable: bool = True  # open-r1: drop rows with executable == False
    require_complete_tests: bool = True  # open-r1: drop rows with official_tests_complete == False
    input_mode: str | None = None  # open-r1: keep only "stdio" or only "file" problems (None: both)
    min_rating: int | None = None
    max_rating: int | None = None
    generated_tests: object | None = None  # data_prep.convert.sources.generated_tests.GeneratedTests


@dataclass(frozen=True)
class Reference:
    """A program the dataset ships with its verdict: ``good`` (a solution) or not (an incorrect one)."""

    code: str
    good: bool
    origin: str  # where it comes from in the row, e.g. "solutions[2]"


# the converters import the classes above
from data_prep.convert.sources import code_contests, codeforces, leetcode  # noqa: E402

#: ``--format`` name -> converter module
SOURCES: dict[str, ModuleType] = {"codeforces": codeforces, "leetcode": leetcode, "code_contests": code_contests}
FORMATS = tuple(sorted(SOURCES))

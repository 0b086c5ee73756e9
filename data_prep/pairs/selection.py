"""Choosing the pairs of one task: streaming the labelled file into per-problem pools of usable
responses, then picking pairs within each problem (the rules are in :mod:`data_prep.pairs.planning`).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from data_prep.formats.io import DataError, columns_of, read_records, require_columns
from data_prep.formats.judge_rules import CHECKER_ERROR
from data_prep.formats.problems import _string
from data_prep.formats.solver_answers import reasoning_finished, strip_reasoning
from data_prep.pairs.identity import ProblemIdentity

LABELLED_COLUMNS = ("problem_id", "source", "task", "statement", "response", "label")

#: Rows per batch when streaming the labelled file (50 KB responses: ~3 MB of text per batch).
READ_BATCH_ROWS = 64


@dataclass(frozen=True)
class PairSettings:
    train_size: int = 4890
    val_code_id_size: int = 196
    val_code_ood_size: int = 98
    val_math_ood_size: int = 157
    max_pairs_per_problem: int = 8
    max_val_pairs_per_problem: int = 2
    seed: int = 0
    keep_reasoning: bool = False
    max_prompt_tokens: int | None = None  # needs a tokenizer
    exclude_problems: tuple[str, ...] = ()  # problem ids to leave out (audit failures)

    def size_of(self, split: str) -> int:
        return getattr(self, f"{split}_size")


@dataclass
class Pool:
    """One problem id's usable responses: ``(row, tokens)`` lists, deduplicated."""

    source: str
    statement_tokens: int = 0
    correct: list = field(default_factory=list)
    incorrect: list = field(default_factory=list)

    @property
    def mixed(self) -> bool:
        return bool(self.correct and self.incorrect)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _validated(record: dict, path, row: int, task: str) -> dict:
    """The fields ``pairs`` reads, checked: strings, a boolean label, the file's task."""
    values = {name: _string(record, name, path, row) for name in ("problem_id", "source", "task", "statement")}
    values["response"] = _string(record, "response", path, row, empty_ok=True)
    if values["task"] != task:
        flag = "--labelled" if task == "code" else "--math"
        raise DataError(path, row, "task", f"expected {task!r} in the {flag} file, got {values['task']!r} "
                                           "(code responses go to --labelled, math responses to --math)")
    if not isinstance(record.get("label"), bool):
        raise DataError(path, row, "label", f"expected true/false, got {record.get('label')!r}")
    values["label"] = record["label"]
    return values


def _shown_text(response: str, keep_reasoning: bool) -> str:
    return response.strip() if keep_reasoning else strip_reasoning(response)


def scan(path, task: str, settings: PairSettings, count_tokens: Callable[[str], int] | None, dropped: Counter,
         identity: ProblemIdentity) -> dict[str, Pool]:
    """First pass: per problem id, the rows of its distinct correct and incorrect responses."""
    require_columns(path, LABELLED_COLUMNS)
    pools: dict[str, Pool] = {}
    statements: dict[str, bytes] = {}
    seen: set[tuple[str, bytes]] = set()
    excluded = set(settings.exclude_problems)
    names = columns_of(path)
    columns = list(LABELLED_COLUMNS) + (["verdict"] if names is None or "verdict" in names else [])
    for row, record in read_records(path, columns=columns, batch_size=READ_BATCH_ROWS):
        values = _validated(record, path, row, task)
        problem_id, statement = values["problem_id"], values["statement"]
        if problem_id in excluded:
            dropped["audit_failure"] += 1
            continue
        pool = pools.get(problem_id)
        if pool is None:
            pool = pools[problem_id] = Pool(source=values["source"])
            statements[problem_id] = _digest(statement)
            identity.add(problem_id, statement, task, path, row)
            if count_tokens:
                pool.statement_tokens = count_tokens(statement)
        elif _digest(statement) != statements[problem_id]:
            identity.add(problem_id, statement, task, path, row)
        if record.get("verdict") == CHECKER_ERROR:  # the checker could not judge it: neither label is known
            dropped[CHECKER_ERROR] += 1
            continue
        if not reasoning_finished(values["response"]):
            dropped["unfinished_reasoning"] += 1
            continue
        text = _shown_text(values["response"], settings.keep_reasoning)
        if not text:
            dropped["empty_after_reasoning"] += 1
            continue
        digest = _digest(text)
        if (problem_id, digest) in seen:
            dropped["duplicate_response"] += 1
            continue
        seen.add((problem_id, digest))
        tokens = count_tokens(text) if count_tokens else 0
        (pool.correct if values["label"] else pool.incorrect).append((row, tokens))
    return pools


def _candidate_pairs(first: list, second: list | None, rng: random.Random):
    """Distinct index pairs, spreading the responses: mixed pairs when ``second`` is given, else
    unordered pairs within ``first``."""
    first = first[:]
    rng.shuffle(first)
    if second is not None:
        second = second[:]
        rng.shuffle(second)
        for offset in range(len(second)):
            for i, item in enumerate(first):
                yield item, second[(i + offset) % len(second)]
    else:
        n = len(first)
        for gap in range(1, n // 2 + 1):
            for i in range(n if 2 * gap < n else n // 2):
                yield first[i], first[(i + gap) % n]


def pair_key(a_row: int, b_row: int) -> tuple[int, int]:
    return (a_row, b_row) if a_row < b_row else (b_row, a_row)


class Selector:
    """Picks pairs for the splits, problem by problem, honouring caps, the estimated prompt budget
    and the pairs whose exact prompt was found too long (``rejected``)."""

    def __init__(self, settings: PairSettings, overhead_tokens: int, rng: random.Random, rejected: set):
        self.settings, self.overhead, self.rng, self.rejected = settings, overhead_tokens, rng, rejected
        self.over_budget = 0

    def _fits(self, pool: Pool, a, b) -> bool:
        if pair_key(a[0], b[0]) in self.rejected:
            return False
        if self.settings.max_prompt_tokens is None:
            return True
        if self.overhead + pool.statement_tokens + a[1] + b[1] <= self.settings.max_prompt_tokens:
            return True
        self.over_budget += 1
        return False

    def pairs(self, pool: Pool, pair_type: str, cap: int) -> list[tuple]:
        """Up to ``cap`` pairs ``(a_row, b_row, labels)`` of one type from one problem; for
        one_correct the correct response comes first (positions are balanced later)."""
        if pair_type == "one_correct":
            if not pool.mixed:
                return []
            candidates, labels = _candidate_pairs(pool.correct, pool.incorrect, self.rng), (1, 0)
        elif pair_type == "both_correct":
            candidates, labels = _candidate_pairs(pool.correct, None, self.rng), (1, 1)
        else:
            candidates, labels = _candidate_pairs(pool.incorrect, None, self.rng), (0, 0)
        chosen = []
        for a, b in candidates:
            if len(chosen) >= cap:
                break
            if self._fits(pool, a, b):
                chosen.append((a[0], b[0], labels))
        return chosen


def _round_robin(per_problem: list[tuple[str, list]], size: int) -> list[tuple]:
    """Take pairs across problems in turns (first pair of every problem, then the second...)."""
    taken = []
    depth = 0
    while len(taken) < size and any(depth < len(pairs) for _, pairs in per_problem):
        for problem_id, pairs in per_problem:
            if depth < len(pairs) and len(taken) < size:
                taken.append((problem_id, *pairs[depth]))
        depth += 1
    return taken


def fill_pairs(selector: Selector, pools: dict[str, Pool], order: list[tuple], used: set, pair_type: str, size: int,
          cap: int) -> list[tuple]:
    """Give problems (in ``order``, unused ones; each a tuple of the ids that are one problem) to a
    split until it holds ``size`` pairs."""
    per_problem, taken = [], 0
    for unit in order:
        if taken >= size:
            break
        if unit in used:
            continue
        found = [(problem_id, pairs) for problem_id in unit
                 if (pairs := selector.pairs(pools[problem_id], pair_type, cap))]
        if found:
            used.add(unit)
            per_problem += found
            taken += sum(len(pairs) for _, pairs in found)
    return _round_robin(per_problem, size)


def select_code_pairs(pools: dict[str, Pool], units: list[tuple], settings: PairSettings, selector: Selector) -> dict:
    """Problem-disjoint code splits: the OOD split first (it needs same-label problems, and those
    that cannot give a one-correct pair go there first), then in-domain validation, then train."""
    used: set[tuple] = set()
    mixed = [unit for unit in units if any(pools[p].mixed for p in unit)]
    same_label_only = [unit for unit in units if not any(pools[p].mixed for p in unit)]
    ood = []
    n_both_correct = (settings.val_code_ood_size + 1) // 2
    for pair_type, size in (("both_correct", n_both_correct),
                            ("both_incorrect", settings.val_code_ood_size - n_both_correct)):
        ood += fill_pairs(selector, pools, same_label_only + mixed, used, pair_type, size,
                     settings.max_val_pairs_per_problem)
    val_id = fill_pairs(selector, pools, mixed, used, "one_correct", settings.val_code_id_size,
                   settings.max_val_pairs_per_problem)
    train = fill_pairs(selector, pools, mixed, used, "one_correct", settings.train_size, settings.max_pairs_per_problem)
    return {"train": train, "val_code_id": val_id, "val_code_ood": ood}


def balance_positions(pairs: list[tuple], rng: random.Random) -> list[tuple]:
    """Shuffle; put the correct response of half the one-correct pairs in position B (the other
    half stays in A); same-label pairs get a random order."""
    pairs = pairs[:]
    rng.shuffle(pairs)
    mixed = [i for i, pair in enumerate(pairs) if sum(pair[3]) == 1]
    flip = set(mixed[len(mixed) // 2:]) | {i for i, pair in enumerate(pairs) if sum(pair[3]) != 1 and rng.random() < 0.5}
    out = []
    for i, (problem_id, a, b, labels) in enumerate(pairs):
        out.append((problem_id, b, a, labels[::-1]) if i in flip else (problem_id, a, b, labels))
    rng.shuffle(out)
    return out


def read_selected(path, rows: set[int], problem_ids: set[str], keep_reasoning: bool, texts: dict,
                  statements: dict) -> None:
    """Second pass: add the shown text of the selected rows and the statements of their problems
    (those not read yet) to ``texts`` and ``statements``."""
    rows = rows - texts.keys()
    problem_ids = problem_ids - statements.keys()
    if not rows and not problem_ids:
        return
    for row, record in read_records(path, columns=["problem_id", "statement", "response"], batch_size=READ_BATCH_ROWS):
        if row in rows:
            texts[row] = _shown_text(record["response"], keep_reasoning)
        if record["problem_id"] in problem_ids and record["problem_id"] not in statements:
            statements[record["problem_id"]] = record["statement"]

"""From labelled responses to the four verl parquet splits (spec section 4).

Splits: ``train`` and ``val_code_id`` pair one correct with one incorrect response,
``val_code_ood`` pairs two correct or two incorrect responses (half each), ``val_math_ood`` pairs one
correct with one incorrect math response. Rules:

- A problem belongs to one split only. Problem identity: two problem ids are one problem when
  their statements are equal after normalisation (``statement_key``: Unicode NFKC, case folded,
  everything but letters and digits removed), so CodeForces Div. 1/Div. 2 twins and
  code_contests' copies of CodeForces problems land in the same split, whatever their ids,
  spacing or markup (``$$$n$$$`` vs ``n``). Pairs are still made within one problem id.
- Tasks are kept apart: ``--labelled`` holds code rows (``task`` = ``code``), ``--math`` math rows;
  a row of the other task, or a problem (by id or statement) in both files, is an error.
- Pairs never cross problem ids; identical responses (after stripping the reasoning, unless it is
  kept) are never paired; responses whose reasoning never ends (a ``<think>`` never closed, or
  reopened after the last ``</think>``) are dropped, whether the reasoning is kept or not.
- At most ``max_pairs_per_problem`` pairs per problem id (``max_val_pairs_per_problem`` in the
  validation splits); the correct response is in A for half the one-correct pairs and in B for the
  other half; everything is decided by ``seed``.
- With a tokenizer, a pair is chosen only if its estimated prompt fits ``max_prompt_tokens``; the
  exact templated length of the chosen pairs is then checked, and pairs over it are replaced by
  selecting again without them (``REFILL_ROUNDS`` at most; what is still missing is reported).

Memory does not grow with the input: the labelled file is streamed (``data_prep.io.read_records``
reads one parquet page at a time). The first pass keeps, per response, its row number, label and
(with a tokenizer) token count, hashing the text to find duplicates; the second pass reads back the
text of the selected responses only, and output rows are built as they are written.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterator

from data_prep.io import DataError, read_records, require_columns
from data_prep.responses import reasoning_finished, strip_reasoning
from data_prep.rows import build_verifier_prompt, make_row
from data_prep.schema import _string

LABELLED_COLUMNS = ("problem_id", "source", "task", "statement", "response", "label")
CODE_SPLITS = ("train", "val_code_id", "val_code_ood")
MATH_SPLIT = "val_math_ood"
SPLITS = CODE_SPLITS + (MATH_SPLIT,)

#: How many times a selection is redone without the pairs whose exact prompt is too long.
REFILL_ROUNDS = 5

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


def statement_key(statement: str) -> str:
    """A statement's identity: NFKC, case folded, letters and digits only, hashed."""
    letters = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", statement).casefold())
    return hashlib.blake2b(letters.encode(), digest_size=16).hexdigest()


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


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
    for row, record in read_records(path, columns=list(LABELLED_COLUMNS), batch_size=READ_BATCH_ROWS):
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


def _pair_key(a_row: int, b_row: int) -> tuple[int, int]:
    return (a_row, b_row) if a_row < b_row else (b_row, a_row)


class Selector:
    """Picks pairs for the splits, problem by problem, honouring caps, the estimated prompt budget
    and the pairs whose exact prompt was found too long (``rejected``)."""

    def __init__(self, settings: PairSettings, overhead_tokens: int, rng: random.Random, rejected: set):
        self.settings, self.overhead, self.rng, self.rejected = settings, overhead_tokens, rng, rejected
        self.over_budget = 0

    def _fits(self, pool: Pool, a, b) -> bool:
        if _pair_key(a[0], b[0]) in self.rejected:
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


def _fill(selector: Selector, pools: dict[str, Pool], order: list[tuple], used: set, pair_type: str, size: int,
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
        ood += _fill(selector, pools, same_label_only + mixed, used, pair_type, size,
                     settings.max_val_pairs_per_problem)
    val_id = _fill(selector, pools, mixed, used, "one_correct", settings.val_code_id_size,
                   settings.max_val_pairs_per_problem)
    train = _fill(selector, pools, mixed, used, "one_correct", settings.train_size, settings.max_pairs_per_problem)
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


@dataclass
class TaskPlan:
    """The chosen pairs of one input file (one task), with what it takes to build their rows."""

    task: str
    path: object
    pools: dict[str, Pool]
    pairs: dict[str, list[tuple]]  # split -> (problem_id, a_row, b_row, labels), positions balanced
    texts: dict = field(default_factory=dict)
    statements: dict = field(default_factory=dict)

    def rows(self, split: str) -> Iterator[dict]:
        """verl rows (``data_prep.rows.make_row``) of a split, built one at a time."""
        for index, (problem_id, a, b, labels) in enumerate(self.pairs[split]):
            yield make_row(split=split, index=index, problem_id=problem_id, source=self.pools[problem_id].source,
                           statement=self.statements[problem_id], response_a=self.texts[a], response_b=self.texts[b],
                           labels=list(labels), task=self.task)


def _select(task: str, pools: dict[str, Pool], units: list[tuple], settings: PairSettings, overhead: int,
            rejected: set) -> tuple[dict[str, list[tuple]], int]:
    """One selection of a task's splits, positions balanced; the same for the same inputs and seed."""
    rng = random.Random(f"{settings.seed}/{task}")
    selector = Selector(settings, overhead, rng, rejected)
    order = units[:]
    rng.shuffle(order)
    if task == "code":
        chosen = select_code_pairs(pools, order, settings, selector)
    else:
        chosen = {MATH_SPLIT: _fill(selector, pools, order, set(), "one_correct", settings.val_math_ood_size,
                                    settings.max_val_pairs_per_problem)}
    return {name: balance_positions(pairs, rng) for name, pairs in chosen.items()}, selector.over_budget


def plan_task(task: str, path, pools: dict[str, Pool], units: list[tuple], settings: PairSettings, overhead: int,
              exact_length: Callable[[list], int] | None, dropped: Counter,
              progress: Callable[[str], None]) -> TaskPlan:
    """Select the task's pairs; with ``exact_length``, select again without the pairs whose exact
    templated prompt is over ``max_prompt_tokens`` until none is (``REFILL_ROUNDS`` at most)."""
    rejected: set[tuple[int, int]] = set()
    plan = TaskPlan(task, path, pools, {})
    for _ in range(REFILL_ROUNDS):
        plan.pairs, over_budget = _select(task, pools, units, settings, overhead, rejected)
        rows_needed = {row for pairs in plan.pairs.values() for _, a, b, _ in pairs for row in (a, b)}
        problems_needed = {pair[0] for pairs in plan.pairs.values() for pair in pairs}
        progress(f"reading the {len(rows_needed)} selected responses of {path}")
        read_selected(path, rows_needed, problems_needed, settings.keep_reasoning, plan.texts, plan.statements)
        if exact_length is None or settings.max_prompt_tokens is None:
            break
        too_long = {_pair_key(a, b) for pairs in plan.pairs.values() for problem_id, a, b, _ in pairs
                    if exact_length(build_verifier_prompt(plan.statements[problem_id], plan.texts[a], plan.texts[b],
                                                          task)) > settings.max_prompt_tokens}
        if not too_long:
            break
        rejected |= too_long
        progress(f"{len(too_long)} chosen pairs are over --max-prompt-tokens once templated: choosing again")
    else:  # still over after the last round: leave them out, the shortfall is reported
        plan.pairs = {name: [pair for pair in pairs if _pair_key(pair[1], pair[2]) not in too_long]
                      for name, pairs in plan.pairs.items()}
    if over_budget or rejected:
        dropped["prompt_too_long"] += over_budget + len(rejected)
    return plan


def split_summary(requested: int, pairs: list[tuple]) -> dict:
    """Counts of one split: pair types, where the correct response sits, label balance, problems."""
    labels = [tuple(pair[3]) for pair in pairs]
    types = Counter({1: "one_correct", 2: "both_correct", 0: "both_incorrect"}[sum(pair)] for pair in labels)
    positives = sum(sum(pair) for pair in labels)
    return {
        "requested": requested,
        "written": len(pairs),
        "shortfall": max(0, requested - len(pairs)),
        "problems": len({pair[0] for pair in pairs}),
        "pair_types": dict(types),
        "one_correct_with_correct_in_A": labels.count((1, 0)),
        "one_correct_with_correct_in_B": labels.count((0, 1)),
        "positive_label_fraction": round(positives / (2 * len(pairs)), 4) if pairs else None,
    }


def plan_splits(code_path, math_path=None, settings: PairSettings = PairSettings(), tokenizer=None,
                progress: Callable[[str], None] = lambda _: None) -> tuple[dict[str, TaskPlan], dict]:
    """The chosen pairs of every split (``{split: TaskPlan}``; ``plan.rows(split)`` builds its
    rows), and the summary (dict) of what was kept, dropped and missing."""
    if settings.max_prompt_tokens is not None and tokenizer is None:
        raise ValueError("max_prompt_tokens needs a tokenizer")
    count_tokens = exact_length = None
    overhead = 0
    if tokenizer is not None:
        count_tokens = lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
        exact_length = lambda messages: len(  # noqa: E731
            tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)[
                "input_ids"])
        overhead = exact_length(build_verifier_prompt("", "", "", "code"))
    dropped: Counter = Counter()
    identity = ProblemIdentity()
    inputs = [("code", code_path)] + ([("math", math_path)] if math_path else [])
    scanned = {}
    for task, path in inputs:
        progress(f"scanning {path}")
        scanned[task] = (path, scan(path, task, settings, count_tokens, dropped, identity))

    plans, summary = {}, {"inputs": {}, "splits": {}}
    for task, (path, pools) in scanned.items():
        units = identity.units(pools)
        plan = plan_task(task, path, pools, units, settings, overhead, exact_length, dropped, progress)
        for name, pairs in plan.pairs.items():
            plans[name] = plan
            summary["splits"][name] = split_summary(settings.size_of(name), pairs)
        summary["inputs"][task] = {
            "file": str(path),
            "problem_ids": len(pools),
            "problems": len(units),
            "usable_correct": sum(len(p.correct) for p in pools.values()),
            "usable_incorrect": sum(len(p.incorrect) for p in pools.values()),
        }
    summary["missing_splits"] = [name for name in SPLITS if not summary["splits"].get(name, {}).get("written")]
    summary["dropped"] = dict(dropped)
    summary["settings"] = {k: v for k, v in vars(settings).items()}
    return plans, summary


def make_splits(code_path, math_path=None, settings: PairSettings = PairSettings(), tokenizer=None,
                progress: Callable[[str], None] = lambda _: None) -> tuple[dict[str, list[dict]], dict]:
    """All splits as lists of verl rows, plus the summary (``plan_splits``, rows built in memory)."""
    plans, summary = plan_splits(code_path, math_path, settings, tokenizer, progress)
    return {name: list(plan.rows(name)) for name, plan in plans.items()}, summary

"""From labelled responses to the four verl parquet splits (spec section 4).

Splits: ``train`` and ``val_code_id`` pair one correct with one incorrect response,
``val_code_ood`` pairs two correct or two incorrect responses (half each), ``val_math_ood`` pairs one
correct with one incorrect math response. Rules:

- A problem belongs to one split only. Problem identity (:mod:`data_prep.pairs.identity`): two
  problem ids are one problem when their statements are equal once markup is reduced to text and
  only letters and digits are kept (a leading title line may be missing from one), or when their
  ids name the same Codeforces problem, so CodeForces Div. 1/Div. 2 twins and code_contests' copies
  of open-r1/codeforces problems land in the same split, whatever their ids, titles, spacing or
  markup (``$$$1 \\le n$$$`` vs ``1 ≤ n``). Pairs are still made within one problem id.
- Tasks are kept apart: ``--labelled`` holds code rows (``task`` = ``code``), ``--math`` math rows;
  a row of the other task, or a problem (by id or statement) in both files, is an error.
- Rows whose ``verdict`` is ``checker_error`` (the problem's checker could not judge them) are left
  out, counted as ``checker_error``.
- Pairs never cross problem ids; identical responses (after stripping the reasoning, unless it is
  kept) are never paired; responses whose reasoning never ends (a ``<think>`` never closed, or
  reopened after the last ``</think>``) are dropped, whether the reasoning is kept or not.
- At most ``max_pairs_per_problem`` pairs per problem id (``max_val_pairs_per_problem`` in the
  validation splits); the correct response is in A for half the one-correct pairs and in B for the
  other half; everything is decided by ``seed``.
- With a tokenizer, a pair is chosen only if its estimated prompt fits ``max_prompt_tokens``; the
  exact templated length of the chosen pairs is then checked, and pairs over it are replaced by
  selecting again without them (``REFILL_ROUNDS`` at most; what is still missing is reported).

Memory does not grow with the input: the labelled file is streamed (``data_prep.formats.io.read_records``
reads one parquet page at a time). The first pass keeps, per response, its row number, label and
(with a tokenizer) token count, hashing the text to find duplicates; the second pass reads back the
text of the selected responses only, and output rows are built as they are written.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterator

from data_prep.formats.split_set import MATH_SPLIT, SPLITS
from data_prep.formats.verl_rows import build_verifier_prompt, make_row
from data_prep.pairs.identity import ProblemIdentity
from data_prep.pairs.selection import (
    PairSettings,
    Pool,
    Selector,
    balance_positions,
    fill_pairs,
    pair_key,
    read_selected,
    scan,
    select_code_pairs,
)

#: How many times a selection is redone without the pairs whose exact prompt is too long.
REFILL_ROUNDS = 5


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
        """verl rows (``data_prep.formats.verl_rows.make_row``) of a split, built one at a time."""
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
        chosen = {MATH_SPLIT: fill_pairs(selector, pools, order, set(), "one_correct", settings.val_math_ood_size,
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
        too_long = {pair_key(a, b) for pairs in plan.pairs.values() for problem_id, a, b, _ in pairs
                    if exact_length(build_verifier_prompt(plan.statements[problem_id], plan.texts[a], plan.texts[b],
                                                          task)) > settings.max_prompt_tokens}
        if not too_long:
            break
        rejected |= too_long
        progress(f"{len(too_long)} chosen pairs are over --max-prompt-tokens once templated: choosing again")
    else:  # still over after the last round: leave them out, the shortfall is reported
        plan.pairs = {name: [pair for pair in pairs if pair_key(pair[1], pair[2]) not in too_long]
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

"""From labelled responses to the four verl parquet splits (spec section 4).

Splits: ``train`` and ``val_code_id`` pair one correct with one incorrect response,
``val_code_ood`` pairs two correct or two incorrect responses (half each), ``val_math_ood`` pairs one
correct with one incorrect math response. Rules: a problem belongs to one split only; pairs never
cross problems; identical responses (after stripping the reasoning, unless it is kept) are never
paired; at most ``max_pairs_per_problem`` pairs per problem (``max_val_pairs_per_problem`` in the
validation splits); the correct response's position is balanced (A for half the pairs, B for the
other half); everything is decided by ``seed``.

Memory does not grow with the input: the labelled file is streamed twice. The first pass keeps, per
response, only its row number, label and (with a tokenizer) token count, hashing the text to find
duplicates; the second pass reads back the text of the selected responses only.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from data_prep.io import DataError, read_records, require_columns
from data_prep.responses import strip_reasoning
from data_prep.rows import build_verifier_prompt, make_row

LABELLED_COLUMNS = ("problem_id", "source", "statement", "response", "label")
CODE_SPLITS = ("train", "val_code_id", "val_code_ood")
MATH_SPLIT = "val_math_ood"


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


@dataclass
class Pool:
    """One problem's usable responses: ``(row, tokens)`` lists, deduplicated."""

    source: str
    statement_tokens: int = 0
    correct: list = field(default_factory=list)
    incorrect: list = field(default_factory=list)


def _shown_text(response: str, keep_reasoning: bool) -> str:
    return response.strip() if keep_reasoning else strip_reasoning(response)


def scan(path, settings: PairSettings, count_tokens: Callable[[str], int] | None, dropped: Counter) -> dict[str, Pool]:
    """First pass: per problem, the rows of its distinct correct and incorrect responses."""
    require_columns(path, LABELLED_COLUMNS)
    pools: dict[str, Pool] = {}
    seen: set[tuple[str, bytes]] = set()
    excluded = set(settings.exclude_problems)
    for row, record in read_records(path, columns=list(LABELLED_COLUMNS)):
        for name in LABELLED_COLUMNS:
            if record.get(name) is None:
                raise DataError(path, row, name, "missing")
        if not isinstance(record["label"], bool):
            raise DataError(path, row, "label", f"expected true/false, got {record['label']!r}")
        problem_id = str(record["problem_id"])
        if problem_id in excluded:
            dropped["audit_failure"] += 1
            continue
        pool = pools.get(problem_id)
        if pool is None:
            pool = pools[problem_id] = Pool(source=str(record["source"]))
            if count_tokens:
                pool.statement_tokens = count_tokens(record["statement"])
        text = _shown_text(record["response"], settings.keep_reasoning)
        if not text:
            dropped["empty_after_reasoning"] += 1
            continue
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        if (problem_id, digest) in seen:
            dropped["duplicate_response"] += 1
            continue
        seen.add((problem_id, digest))
        tokens = count_tokens(text) if count_tokens else 0
        (pool.correct if record["label"] else pool.incorrect).append((row, tokens))
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


class Selector:
    """Picks pairs for the splits, problem by problem, honouring caps and the prompt budget."""

    def __init__(self, settings: PairSettings, overhead_tokens: int, rng: random.Random, dropped: Counter):
        self.settings, self.overhead, self.rng, self.dropped = settings, overhead_tokens, rng, dropped

    def _fits(self, pool: Pool, a, b) -> bool:
        if self.settings.max_prompt_tokens is None:
            return True
        if self.overhead + pool.statement_tokens + a[1] + b[1] <= self.settings.max_prompt_tokens:
            return True
        self.dropped["prompt_too_long"] += 1
        return False

    def pairs(self, pool: Pool, pair_type: str, cap: int) -> list[tuple]:
        """Up to ``cap`` pairs ``(a_row, b_row, labels)`` of one type from one problem; for
        one_correct the correct response comes first (positions are balanced later)."""
        if pair_type == "one_correct":
            if not pool.correct or not pool.incorrect:
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


def _fill(selector: Selector, pools: dict[str, Pool], order: list[str], used: set, pair_type: str, size: int,
          cap: int) -> list[tuple]:
    """Give problems (in ``order``, unused ones) to a split until it holds ``size`` pairs."""
    per_problem, total = [], 0
    for problem_id in order:
        if total >= size:
            break
        if problem_id in used:
            continue
        pairs = selector.pairs(pools[problem_id], pair_type, cap)
        if pairs:
            used.add(problem_id)
            per_problem.append((problem_id, pairs))
            total += len(pairs)
    return _round_robin(per_problem, size)


def select_code_pairs(pools: dict[str, Pool], settings: PairSettings, selector: Selector, order: list[str]) -> dict:
    """Problem-disjoint code splits: the OOD split first (it needs same-label problems, and those
    that cannot give a one-correct pair go there first), then in-domain validation, then train."""
    used: set[str] = set()
    same_label_only = [p for p in order if not (pools[p].correct and pools[p].incorrect)]
    mixed = [p for p in order if pools[p].correct and pools[p].incorrect]
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


def read_selected(path, rows: set[int], problem_ids: set[str], keep_reasoning: bool) -> tuple[dict, dict]:
    """Second pass: the shown text of the selected rows and the statements of their problems."""
    texts, statements = {}, {}
    for row, record in read_records(path, columns=list(LABELLED_COLUMNS)):
        if row in rows:
            texts[row] = _shown_text(record["response"], keep_reasoning)
        if record["problem_id"] in problem_ids and record["problem_id"] not in statements:
            statements[record["problem_id"]] = record["statement"]
    return texts, statements


def build_rows(split: str, pairs: list[tuple], pools: dict[str, Pool], texts: dict, statements: dict, task: str,
               exact_length: Callable[[list], int] | None, max_tokens: int | None, dropped: Counter) -> list[dict]:
    """verl rows (``data_prep.rows.make_row``), dropping any whose exact prompt is over budget."""
    rows = []
    for problem_id, a, b, labels in pairs:
        if exact_length and max_tokens is not None:
            prompt = build_verifier_prompt(statements[problem_id], texts[a], texts[b], task)
            if exact_length(prompt) > max_tokens:
                dropped["prompt_too_long"] += 1
                continue
        rows.append(make_row(split=split, index=len(rows), problem_id=problem_id, source=pools[problem_id].source,
                             statement=statements[problem_id], response_a=texts[a], response_b=texts[b],
                             labels=list(labels), task=task))
    return rows


def split_summary(requested: int, rows: list[dict]) -> dict:
    """Counts of one split: pair types, where the correct response sits, label balance, problems."""
    types = Counter(row["extra_info"]["pair_type"] for row in rows)
    labels = [json.loads(row["reward_model"]["ground_truth"])["labels"] for row in rows]
    correct_in_a = sum(pair == [1, 0] for pair in labels)
    correct_in_b = sum(pair == [0, 1] for pair in labels)
    positives = sum(sum(pair) for pair in labels)
    return {
        "requested": requested,
        "written": len(rows),
        "shortfall": max(0, requested - len(rows)),
        "problems": len({row["extra_info"]["problem_id"] for row in rows}),
        "pair_types": dict(types),
        "one_correct_with_correct_in_A": correct_in_a,
        "one_correct_with_correct_in_B": correct_in_b,
        "positive_label_fraction": round(positives / (2 * len(rows)), 4) if rows else None,
    }


def make_splits(code_path, math_path=None, settings: PairSettings = PairSettings(), tokenizer=None,
                progress: Callable[[str], None] = lambda _: None) -> tuple[dict[str, list[dict]], dict]:
    """All splits as lists of verl rows, plus the summary (dict) of what was kept and dropped."""
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
    rng = random.Random(settings.seed)
    dropped: Counter = Counter()
    selector = Selector(settings, overhead, rng, dropped)
    sizes = {"train": settings.train_size, "val_code_id": settings.val_code_id_size,
             "val_code_ood": settings.val_code_ood_size, MATH_SPLIT: settings.val_math_ood_size}
    jobs = [("code", code_path, CODE_SPLITS)] + ([("math", math_path, (MATH_SPLIT,))] if math_path else [])
    splits, summary = {}, {"inputs": {}, "splits": {}}
    for task, path, names in jobs:
        progress(f"scanning {path}")
        pools = scan(path, settings, count_tokens, dropped)
        order = sorted(pools)
        rng.shuffle(order)
        if task == "code":
            chosen = select_code_pairs(pools, settings, selector, order)
        else:
            chosen = {MATH_SPLIT: _fill(selector, pools, order, set(), "one_correct", sizes[MATH_SPLIT],
                                        settings.max_val_pairs_per_problem)}
        chosen = {name: balance_positions(pairs, rng) for name, pairs in chosen.items()}
        rows_needed = {row for pairs in chosen.values() for _, a, b, _ in pairs for row in (a, b)}
        problems_needed = {pair[0] for pairs in chosen.values() for pair in pairs}
        progress(f"reading the {len(rows_needed)} selected responses of {path}")
        texts, statements = read_selected(path, rows_needed, problems_needed, settings.keep_reasoning)
        for name in names:
            splits[name] = build_rows(name, chosen[name], pools, texts, statements, task, exact_length,
                                      settings.max_prompt_tokens, dropped)
            summary["splits"][name] = split_summary(sizes[name], splits[name])
        summary["inputs"][task] = {
            "file": str(path),
            "problems": len(pools),
            "usable_correct": sum(len(p.correct) for p in pools.values()),
            "usable_incorrect": sum(len(p.incorrect) for p in pools.values()),
        }
    summary["dropped"] = dict(dropped)
    summary["settings"] = {k: v for k, v in vars(settings).items()}
    return splits, summary

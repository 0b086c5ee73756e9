"""A verifier task a small model can learn on a CPU, in the real data format (``data_prep.formats.verl_rows``).

Every problem asks for one function of two integers, ``f(a, b)``, given as a formula with two
operations and one constant, e.g. ``(a + 3) * b`` or ``a - (a * 17)``: three leaves (``a`` and
``b``, ``a`` twice or ``b`` twice, and a constant 2..19) in any order, operators ``+``, ``-``,
``*``, two shapes (``(x o y) o z`` and ``x o (y o z)``): 3,888 formulas of 959 functions, 850 of
them problems (see ``problems``). A problem is one *function* (formulas with the same values, e.g.
``(a + b) + 3`` and ``a + (3 + b)``, are one problem), so validation problems are functions never
trained on.

A pair shows one formula of the problem and two candidate responses, short programs (code) or
final formulas (math), each drawn on its own (``FunctionTask.candidate``):

- its program: the statement's own (with probability ``SAME_PROGRAM_SHARE``, one half) or another
  program of the function (``a + (3 + b)`` or ``(b + a) + 3`` for ``(a + b) + 3``);
- correct: that program; incorrect: an edit of it, of one of ``ERROR_KINDS``: a wrong answer
  (another constant, another operator, two leaves swapped; not the same function) or a crash (a
  variable replaced by an undefined name, ``c``), drawn by ``KIND_WEIGHTS`` (crashes are half the
  errors). Each row logs its candidates' kinds (``extra_info.candidate_kinds``).

So judging a pair means reading the problem and each candidate: a candidate's text, length or
position says nothing about its label (every formula is seven pieces, the edit relation is
symmetric, the correct response is in A for half the one-correct pairs);
``tests/test_learn_task.py`` checks it. A crash shows in the candidate's own text (an undefined
name); a wrong answer only against the problem. The warm start (``warm_start``) catches crashes
and cannot tell a wrong answer from a correct program (a model of this size did not learn that
comparison in 3,000 supervised steps, docs/learn_cpu.md): a judge right about some errors and
unsure about the rest, as verifiers are.
Labels are by execution: a candidate is correct when its formula gives the problem's values on
``TEST_POINTS`` (the code problems carry those tests in the ``data_prep`` schema, so the sandbox
can rerun them; math-verify agrees on the math ones).

Splits (problems disjoint between splits, as in the paper):

- ``train``, ``val_code_id``: one-correct code pairs (training never sees another configuration);
- ``val_code_ood``: code pairs with both correct or both incorrect responses (half each): out of
  domain by *pair configuration*;
- ``val_math_ood``: one-correct pairs of a math problem whose answer is a formula in LaTeX
  (``The answer is $b \\cdot (3 + a)$.``), not a program: out of domain by *kind of answer*.

Validation splits hold every pair in both orders, (A, B) then (B, A) (``extra_info``: ``pair``,
``order``).

    python -m recipe.corpo.cpu_tasks.learn.task --out DIR        # DIR/{train,val_code_id,val_code_ood,val_math_ood}.parquet
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from data_prep.formats.io import write_json_atomic
from data_prep.formats.verl_rows import make_row
from data_prep.formats.split_set import write_split_set

OPERATORS = ("+", "-", "*")
CONSTANTS = tuple(str(c) for c in range(2, 20))
VARIABLE_PAIRS = (("a", "b"), ("a", "a"), ("b", "b"))
#: the values a candidate must reproduce (a polynomial of degree <= 2 is fixed by far fewer)
TEST_POINTS = ((2, 7), (5, 3), (11, 4), (-3, 8), (6, -9), (13, 10), (1, 1), (-7, -2))
SOURCE = "learn_cpu"

# A formula is a tree: a leaf ("a", "b", "3") or (operator, left, right).
Formula = "str | tuple"


def all_formulas() -> list:
    """Every formula of the grammar: leaves (3 variable pairs x 18 constants, in every order) x 3^2 operators x 2 shapes."""
    formulas = []
    for constant, variables in itertools.product(CONSTANTS, VARIABLE_PAIRS):
        for x, y, z in sorted(set(itertools.permutations((*variables, constant)))):
            for inner, outer in itertools.product(OPERATORS, repeat=2):
                formulas.append((outer, (inner, x, y), z))
                formulas.append((outer, x, (inner, y, z)))
    return formulas


def evaluate(formula, a: int, b: int) -> int:
    """The formula's value (NameError for ``UNDEFINED``, as Python raises)."""
    if formula == UNDEFINED:
        raise NameError(f"name {UNDEFINED!r} is not defined")
    if isinstance(formula, str):
        return a if formula == "a" else b if formula == "b" else int(formula)
    operator, left, right = formula
    x, y = evaluate(left, a, b), evaluate(right, a, b)
    return x + y if operator == "+" else x - y if operator == "-" else x * y


def signature(formula) -> tuple[int, ...]:
    """The function's values on ``TEST_POINTS``: equal signatures = the same problem."""
    return tuple(evaluate(formula, a, b) for a, b in TEST_POINTS)


def _leaves(formula) -> list[str]:
    return [formula] if isinstance(formula, str) else _leaves(formula[1]) + _leaves(formula[2])


def _with_leaves(formula, leaves: list[str]):
    if isinstance(formula, str):
        return leaves.pop(0)
    return (formula[0], _with_leaves(formula[1], leaves), _with_leaves(formula[2], leaves))


def _operator_paths(formula, path=()) -> list[tuple]:
    if isinstance(formula, str):
        return []
    return [path] + _operator_paths(formula[1], path + (1,)) + _operator_paths(formula[2], path + (2,))


def _with_operator(formula, path: tuple, operator: str):
    if not path:
        return (operator, formula[1], formula[2])
    children = list(formula)
    children[path[0]] = _with_operator(formula[path[0]], path[1:], operator)
    return tuple(children)


#: the kinds of error an incorrect candidate has (one edit of a correct program): a wrong answer
#: (another constant, another operator, two leaves swapped) or a crash (``name``: a variable
#: replaced by ``UNDEFINED``, a name the function does not have: NameError on the first test)
ERROR_KINDS = ("constant", "operator", "swap", "name")
#: how often each kind is drawn (among those a program has): crashes are half the errors. A crash
#: shows in the candidate's own text; a wrong answer only against the problem.
KIND_WEIGHTS = {"constant": 1, "operator": 1, "swap": 1, "name": 3}
UNDEFINED = "c"


def edits_by_kind(formula) -> list[tuple]:
    """(formula, kind) one edit away: another constant, another operator, two leaves swapped, or a
    variable replaced by ``UNDEFINED``."""
    leaves = _leaves(formula)
    out = [(_with_leaves(formula, leaves[:i] + [UNDEFINED] + leaves[i + 1:]), "name")
           for i, leaf in enumerate(leaves) if leaf in ("a", "b")]
    for i, leaf in enumerate(leaves):
        if leaf in CONSTANTS:
            out += [(_with_leaves(formula, leaves[:i] + [c] + leaves[i + 1:]), "constant") for c in CONSTANTS if c != leaf]
    for path in _operator_paths(formula):
        current = formula if not path else _subtree(formula, path)
        out += [(_with_operator(formula, path, op), "operator") for op in OPERATORS if op != current[0]]
    for i, j in itertools.combinations(range(len(leaves)), 2):
        swapped = list(leaves)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        out.append((_with_leaves(formula, swapped), "swap"))
    return out


def _subtree(formula, path: tuple):
    for step in path:
        formula = formula[step]
    return formula


def render(formula, style: str = "code") -> str:
    """Text of a formula, exactly as its tree is written: ``code``: Python (``b * (3 + a)``); ``math``:
    LaTeX (``b \\cdot (3 + a)``). The inner operation is always in parentheses, so every formula is
    seven pieces (leaf, operator, bracket) long, and two formulas have the same text only if they
    are the same tree (``b * (3 + a)`` and ``(a + 3) * b`` are two programs of one function)."""
    if isinstance(formula, str):
        return formula
    operator, left, right = formula
    parts = []
    for child in (left, right):
        text = render(child, style)
        parts.append(text if isinstance(child, str) else f"({text})")
    symbol = "\\cdot" if style == "math" and operator == "*" else operator
    return f"{parts[0]} {symbol} {parts[1]}"


#: the share of candidates that are the statement's own program (correct) or one edit of it
#: (incorrect); the others are another program of the function, or an edit of another program
SAME_PROGRAM_SHARE = 0.5


@dataclass(frozen=True)
class FunctionTask:
    """One function f(a, b): its formulas (all of the same values) and, per formula, its neighbours."""

    problem_id: str
    formulas: tuple
    neighbours: dict  # formula -> (formula, kind) one edit away, of other (kept) functions

    def candidate(self, rng: random.Random, label: int, shown) -> tuple[object, str]:
        """(formula, kind) of one candidate, drawn on its own. Its program is, with probability
        ``SAME_PROGRAM_SHARE``, the statement's (``shown``), else another program of the function
        (``formulas``: ``(a + b) + 3``, ``a + (3 + b)``...); a correct candidate is that program, an
        incorrect one an edit of it, its kind (``ERROR_KINDS``) drawn first, by ``KIND_WEIGHTS`` among
        those it has."""
        others = [f for f in self.formulas if f != shown]
        base = shown if rng.random() < SAME_PROGRAM_SHARE or not others else rng.choice(others)
        if label:
            return base, "correct"
        by_kind: dict[str, list] = defaultdict(list)
        for neighbour, kind in self.neighbours[base]:
            by_kind[kind].append(neighbour)
        kinds = sorted(by_kind)
        kind = rng.choices(kinds, weights=[KIND_WEIGHTS[k] for k in kinds])[0]
        return rng.choice(by_kind[kind]), kind

    def pair(self, rng: random.Random, task: str, labels: tuple[int, int]) -> tuple[str, str, str, tuple[str, str]]:
        """(statement, response A, response B, (kind A, kind B)) for the labels: a formula of the
        problem is shown; each candidate is drawn on its own (``candidate``). The two responses
        always differ (a pair drawn the same is drawn again)."""
        formula = rng.choice(self.formulas)
        statement = render(formula, task)
        while True:
            drawn = [self.candidate(rng, label, formula) for label in labels]
            responses = [render(f, task) for f, _ in drawn]
            if responses[0] != responses[1]:
                break
        kinds = (drawn[0][1], drawn[1][1])
        if task == "math":
            return (f"Rewrite ${statement}$ as an equivalent expression in $a$ and $b$.",
                    *(f"The answer is ${r}$." for r in responses), kinds)
        return (f"Write a Python function f(a, b) that returns {statement} for integers a and b.",
                *(f"```python\ndef f(a, b):\n    return {r}\n```" for r in responses), kinds)

    def tests(self) -> dict:
        """The problem's tests in the ``data_prep`` schema (function kind), for the sandbox."""
        values = signature(self.formulas[0])
        check = "\n".join(f"assert f({a}, {b}) == {v}" for (a, b), v in zip(TEST_POINTS, values))
        return {"kind": "function", "prelude": "", "check": check}


def problems() -> list[FunctionTask]:
    """Every problem of the grammar, in a fixed order.

    One problem per function, except constant functions (``(4 + a) - a``) and functions with a
    single program in the grammar (no both-correct pair). Neighbours are formulas of the kept
    functions only, so a formula can be both a correct and an incorrect candidate.
    """
    by_signature: dict[tuple, list] = defaultdict(list)
    for formula in all_formulas():
        by_signature[signature(formula)].append(formula)
    kept = {
        values: formulas for values, formulas in by_signature.items()
        if len(set(values)) > 1 and len(formulas) > 1
    }

    def wrong(edited, kind: str, values: tuple) -> bool:  # a crash, or another kept function
        if kind == "name":
            return True
        edited_values = signature(edited)
        return edited_values != values and edited_values in kept

    out = []
    for values, formulas in kept.items():
        neighbours = {
            formula: tuple(sorted({(e, kind) for e, kind in edits_by_kind(formula) if wrong(e, kind, values)}, key=repr))
            for formula in formulas
        }
        problem_id = "learn-" + hashlib.sha1(json.dumps(values).encode()).hexdigest()[:10]
        out.append(FunctionTask(problem_id, tuple(formulas), neighbours))
    return sorted(out, key=lambda p: p.problem_id)


def formula_of(candidate: str) -> str:
    """The formula a candidate response returns / states (inverse of ``FunctionTask.candidate``)."""
    if candidate.startswith("```python"):
        return candidate.split("return ", 1)[1].split("\n", 1)[0]
    return candidate.split("$", 2)[1].replace("\\cdot", "*")


def label_by_execution(problem: FunctionTask, candidate: str) -> int:
    """1 when the candidate's formula gives the problem's values on every test point."""
    expected = signature(problem.formulas[0])
    formula = formula_of(candidate)
    try:
        got = tuple(eval(formula, {"__builtins__": {}}, {"a": a, "b": b}) for a, b in TEST_POINTS)  # noqa: S307 (our own formulas)
    except NameError:  # an UNDEFINED name: the program crashes
        return 0
    return int(got == expected)


#: split -> (task, pair labels, problem share)
SPLITS = {
    "train": ("code", ((1, 0), (0, 1)), 0.58),
    "val_code_id": ("code", ((1, 0), (0, 1)), 0.14),
    "val_code_ood": ("code", ((1, 1), (0, 0)), 0.14),
    "val_math_ood": ("math", ((1, 0), (0, 1)), 0.14),
}
DEFAULT_SIZES = {"train": 4000, "val_code_id": 200, "val_code_ood": 200, "val_math_ood": 200}


def split_problems(seed: int) -> dict[str, list[FunctionTask]]:
    """Problems shuffled by ``seed`` and cut by ``SPLITS`` shares: no problem in two splits."""
    pool = problems()
    random.Random(seed).shuffle(pool)
    out, start = {}, 0
    for index, (split, (_, _, share)) in enumerate(SPLITS.items()):
        end = len(pool) if index == len(SPLITS) - 1 else start + round(share * len(pool))
        out[split] = pool[start:end]
        start = end
    return out


def make_rows(split: str, pool: list[FunctionTask], size: int, rng: random.Random) -> list[dict]:
    """``size`` rows (``data_prep.formats.verl_rows.make_row``): problems round robin, each problem's pairs
    alternating between the split's two configurations (so neither a problem nor a position tells
    the label). The two responses of a pair are never the same text; validation splits take two
    pairs per problem (one of each configuration), so they need ``size / 2`` problems.
    """
    task, configurations, _ = SPLITS[split]
    if split != "train" and (size > 2 * len(pool) or size % 2):
        raise ValueError(f"{split}: {size} pairs: need an even number, at most 2 x {len(pool)} (its problems)")
    rows = []
    order = list(pool)
    rng.shuffle(order)
    for index in range(size):
        if split == "train":  # the configuration alternates per visit of a problem, not per row
            problem = order[index % len(order)]
            labels = configurations[(index % len(order) + index // len(order)) % len(configurations)]
        else:
            problem, labels = order[index // 2], configurations[index % 2]
        statement, response_a, response_b, kinds = problem.pair(rng, task, labels)
        shown = [(response_a, response_b, labels, kinds, "original")]
        if split != "train":  # evaluation sees every pair in both orders
            shown.append((response_b, response_a, labels[::-1], kinds[::-1], "swapped"))
        for first, second, shown_labels, shown_kinds, order_name in shown:
            row = make_row(
                split=split, index=len(rows), problem_id=problem.problem_id, source=SOURCE,
                statement=statement, response_a=first, response_b=second, labels=list(shown_labels), task=task,
            )
            # "correct" or the error kind, A then B; the pair and its order
            row["extra_info"].update(candidate_kinds=list(shown_kinds), pair=index, order=order_name)
            rows.append(row)
    return rows


def build(out: Path, seed: int = 0, sizes: dict[str, int] | None = None) -> dict:
    """Write the four splits as verl parquet under ``out``, one split set as ``data_prep pairs`` writes
    it (``data_prep.formats.split_set``: ``splits.json`` last, so the trainer and ``evaluate`` accept the
    files); returns the summary (also ``task.json``)."""
    sizes = {**DEFAULT_SIZES, **(sizes or {})}
    pools = split_problems(seed)
    rows = {split: make_rows(split, pool, sizes[split], random.Random(f"{seed}-{split}")) for split, pool in pools.items()}
    write_split_set(out, rows)  # all rows made first: a bad size writes nothing
    summary = {"seed": seed, "problems": {s: len(p) for s, p in pools.items()}, "rows": {s: len(r) for s, r in rows.items()}}
    write_json_atomic(Path(out) / "task.json", summary)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    for split, size in DEFAULT_SIZES.items():
        parser.add_argument(f"--{split.replace('_', '-')}-size", type=int, default=size, dest=split)
    args = parser.parse_args()
    print(json.dumps(build(args.out, args.seed, {s: getattr(args, s) for s in DEFAULT_SIZES}), indent=2))


if __name__ == "__main__":
    main()

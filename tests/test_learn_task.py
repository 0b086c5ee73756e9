"""The CPU learning task (recipe/corpo/cpu_tasks/learn/task.py): labels right by execution, splits disjoint, no shortcut.

"No shortcut": a judge that does not read the problem cannot beat chance. Checked with the
positions, the candidates' lengths, and naive Bayes classifiers over the candidates' tokens (each
candidate alone, and the pair) trained on the training split and scored on the in-domain
validation split; and per problem, neither configuration dominates.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter, defaultdict

import pandas as pd
import pytest

from data_prep.formats.problems import Problem as DataProblem
from data_prep.formats.split_set import check_split_set
from data_prep.formats.verl_rows import DATA_SOURCES
from data_prep.label.labeller import label_math
from data_prep.label.sandbox.run import run_candidate
from recipe.corpo.cpu_tasks.learn import task

SIZES = {"train": 2000, "val_code_id": 200, "val_code_ood": 200, "val_math_ood": 200}


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    out = tmp_path_factory.mktemp("learn_task")
    summary = task.build(out, seed=0, sizes=SIZES)
    rows = {split: size if split == "train" else 2 * size for split, size in SIZES.items()}  # both orders
    assert summary["rows"] == rows
    # one split set, as `data_prep pairs` writes it: the trainer and `evaluate` accept the files
    assert {name: entry["rows"] for name, entry in check_split_set(out)["splits"].items()} == rows
    frames = {split: pd.read_parquet(out / f"{split}.parquet") for split in task.SPLITS}
    return {split: [_pair(row) for row in frame.to_dict("records")] for split, frame in frames.items()}


def _pair(row: dict) -> dict:
    text = row["prompt"][0]["content"]
    problem = text.split("## Problem\n\n", 1)[1].split("\n\n## Response A", 1)[0]
    response_a = text.split("## Response A\n\n", 1)[1].split("\n\n## Response B", 1)[0]
    response_b = text.split("## Response B\n\n", 1)[1].strip()
    labels = json.loads(row["reward_model"]["ground_truth"])["labels"]
    return {"row": row, "problem": problem, "a": response_a, "b": response_b, "labels": labels,
            "problem_id": row["extra_info"]["problem_id"]}


def _problems() -> dict[str, task.FunctionTask]:
    return {problem.problem_id: problem for problem in task.problems()}


def test_rows_are_in_the_real_format_with_the_papers_split_structure(splits):
    for split, pairs in splits.items():
        configurations = Counter(tuple(p["labels"]) for p in pairs)
        half = len(pairs) // 2
        expected = {"val_code_ood": {(1, 1): half, (0, 0): half}}.get(split, {(1, 0): half, (0, 1): half})
        assert configurations == expected, split
        for pair in pairs:
            row = pair["row"]
            assert row["data_source"] == DATA_SOURCES[split]
            assert row["ability"] == ("math_verification" if split == "val_math_ood" else "code_verification")
            assert row["extra_info"]["split"] == split and row["extra_info"]["source"] == task.SOURCE
            assert pair["a"] != pair["b"]


def test_splits_share_no_problem_and_there_are_enough_problems(splits):
    ids = {split: {p["problem_id"] for p in pairs} for split, pairs in splits.items()}
    for first, second in [(a, b) for a in ids for b in ids if a < b]:
        assert not ids[first] & ids[second], (first, second)
    assert len(ids["train"]) >= 450
    for split in ("val_code_id", "val_code_ood", "val_math_ood"):
        assert len(ids[split]) == 100  # two pairs per problem, one of each configuration
    # no function is in two problems: the problems are distinct functions
    signatures = [task.signature(problem.formulas[0]) for problem in task.problems()]
    assert len(set(signatures)) == len(signatures)
    most = Counter(p["problem_id"] for p in splits["train"]).most_common(1)[0][1]
    assert most <= 5  # 2000 rows over >= 450 problems: memorising one problem is worth little


def test_labels_are_right_by_execution(splits):
    problems = _problems()
    for split, pairs in splits.items():
        for pair in pairs:
            problem = problems[pair["problem_id"]]
            assert [task.label_by_execution(problem, pair["a"]), task.label_by_execution(problem, pair["b"])] == pair["labels"]
    # and through the project's own labellers: the sandbox for the code, math-verify for the math
    rng = random.Random(0)
    for pair in rng.sample(splits["val_code_id"], 6) + rng.sample(splits["val_code_ood"], 6):
        tests = problems[pair["problem_id"]].tests()
        for response, label in zip((pair["a"], pair["b"]), pair["labels"]):
            code = response.split("```python\n", 1)[1].rsplit("```", 1)[0]
            assert (run_candidate(code, tests).verdict == "passed") == bool(label), (pair["problem"], response)
    for pair in rng.sample(splits["val_math_ood"], 6):
        gold = " ".join(task.render(problems[pair["problem_id"]].formulas[0]).split())
        math_problem = DataProblem(pair["problem_id"], task.SOURCE, pair["problem"], answer=gold)
        for response, label in zip((pair["a"], pair["b"]), pair["labels"]):
            assert label_math(math_problem, response)["label"] == bool(label), (pair["problem"], response)


def test_the_position_and_each_problem_tell_nothing(splits):
    for split in ("train", "val_code_id", "val_math_ood"):
        per_problem = defaultdict(Counter)
        for pair in splits[split]:
            per_problem[pair["problem_id"]][tuple(pair["labels"])] += 1
        for problem_id, counts in per_problem.items():
            assert abs(counts[(1, 0)] - counts[(0, 1)]) <= 1, (split, problem_id, counts)


def _candidates(pairs, with_kinds: bool = False):
    for pair in pairs:
        kinds = pair["row"]["extra_info"]["candidate_kinds"]
        for text, label, kind in zip((pair["a"], pair["b"]), pair["labels"], kinds):
            yield (text, label, kind) if with_kinds else (text, label)


def test_the_length_of_a_candidate_tells_nothing(splits):
    for split in ("train", "val_code_id"):
        lengths = defaultdict(list)
        for text, label in _candidates(splits[split]):
            lengths[label].append(len(text))
        assert abs(sum(lengths[1]) / len(lengths[1]) - sum(lengths[0]) / len(lengths[0])) < 0.3
    longer_is_correct = [
        (len(p["a"]) > len(p["b"])) == (p["labels"] == [1, 0])
        for p in splits["val_code_id"] if len(p["a"]) != len(p["b"])
    ]
    if longer_is_correct:
        assert abs(sum(longer_is_correct) / len(longer_is_correct) - 0.5) < 0.15


def _tokens(text: str) -> list[str]:
    formula = task.formula_of(text)
    pieces = re.findall(r"\d+|[abc]|[-+*()]", formula)
    return pieces + [f"{x}{y}" for x, y in zip(pieces, pieces[1:])]  # unigrams and bigrams


class NaiveBayes:
    """Multinomial naive Bayes over token counts, add-one smoothing."""

    def __init__(self, examples: list[tuple[list[str], int]]):
        self.counts = {0: Counter(), 1: Counter()}
        self.priors = Counter(label for _, label in examples)
        for tokens, label in examples:
            self.counts[label].update(tokens)
        self.vocabulary = set(self.counts[0]) | set(self.counts[1])

    def predict(self, tokens: list[str]) -> int:
        def log_likelihood(label):
            total = sum(self.counts[label].values()) + len(self.vocabulary)
            return math.log(self.priors[label]) + sum(math.log((self.counts[label][t] + 1) / total) for t in tokens)
        return int(log_likelihood(1) > log_likelihood(0))


def test_a_judge_that_reads_only_the_candidates_catches_crashes_and_nothing_else(splits):
    # each candidate alone: is it correct? A crash (an undefined name) shows in its own text; a wrong
    # answer does not
    alone = NaiveBayes([(_tokens(text), label) for text, label in _candidates(splits["train"])])
    held_out = list(_candidates(splits["val_code_id"], with_kinds=True))
    crashes = [(text, label) for text, label, kind in held_out if kind == "name"]
    others = [(text, label) for text, label, kind in held_out if kind != "name"]
    assert sum(alone.predict(_tokens(text)) == label for text, label in crashes) / len(crashes) > 0.95
    accuracy = sum(alone.predict(_tokens(text)) == label for text, label in others) / len(others)
    share_correct = sum(label for _, label in others) / len(others)  # 2/3: a crash is half the errors
    assert accuracy < max(share_correct, 1 - share_correct) + 0.05, (accuracy, share_correct)  # the prior, no more
    # the pair without the problem, its incorrect candidate not a crash: is A the correct one?
    def pair_tokens(pair):
        return [f"A{t}" for t in _tokens(pair["a"])] + [f"B{t}" for t in _tokens(pair["b"])]
    def no_crash(pairs):
        return [p for p in pairs if "name" not in p["row"]["extra_info"]["candidate_kinds"]]
    both = NaiveBayes([(pair_tokens(p), p["labels"][0]) for p in no_crash(splits["train"])])
    held = no_crash(splits["val_code_id"])
    accuracy = sum(both.predict(pair_tokens(p)) == p["labels"][0] for p in held) / len(held)
    assert abs(accuracy - 0.5) < 0.1, accuracy
    # the same classifier does learn when the problem is in its input: the check has teeth
    def with_problem(pair):
        shown = task.formula_of(f"The answer is ${pair['problem'].split('returns ', 1)[1].split(' for ', 1)[0]}$.")
        problem = set(re.findall(r"\d+|[ab]|[-+*]", shown))
        return [f"A{t in problem}{t}" for t in _tokens(pair["a"])] + [f"B{t in problem}{t}" for t in _tokens(pair["b"])]
    informed = NaiveBayes([(with_problem(p), p["labels"][0]) for p in splits["train"]])
    accuracy = sum(informed.predict(with_problem(p)) == p["labels"][0] for p in splits["val_code_id"]) / len(splits["val_code_id"])
    assert accuracy > 0.6, accuracy


def test_every_formula_is_sometimes_correct_and_sometimes_incorrect():
    problems = task.problems()
    correct = {formula for problem in problems for formula in problem.formulas}
    incorrect = {neighbour for problem in problems for neighbours in problem.neighbours.values()
                 for neighbour, kind in neighbours if kind != "name"}  # a crash is never correct, by design
    assert incorrect <= correct  # a wrong answer is always some other problem's formula
    assert len(correct - incorrect) / len(correct) < 0.02  # so a formula's text alone does not give its label


def test_out_of_domain_sets_differ_from_training_as_documented(splits):
    assert all(p["a"].startswith("```python") for split in ("train", "val_code_id", "val_code_ood") for p in splits[split])
    assert all(p["a"].startswith("The answer is $") and "```" not in p["row"]["prompt"][0]["content"] for p in splits["val_math_ood"])
    assert {tuple(p["labels"]) for p in splits["train"]} == {(1, 0), (0, 1)}
    assert {tuple(p["labels"]) for p in splits["val_code_ood"]} == {(1, 1), (0, 0)}


def test_each_candidate_is_drawn_on_its_own_and_its_kind_is_logged(splits):
    problems = _problems()
    kinds = Counter()
    same_program = Counter()
    for pair in splits["train"]:
        logged = pair["row"]["extra_info"]["candidate_kinds"]
        shown = pair["problem"].split("returns ", 1)[1].split(" for ", 1)[0]
        assert shown in {task.render(f) for f in problems[pair["problem_id"]].formulas}
        for response, label, kind in zip((pair["a"], pair["b"]), pair["labels"], logged):
            assert (kind == "correct") == bool(label)
            kinds[kind] += 1
            formula = task.formula_of(response)
            if label:
                same_program[formula == shown] += 1
            else:  # an edit of the statement's program differs from it in one or two pieces
                same_program["edit", _pieces_off(formula, shown) <= 2] += 1
    # every error kind is common; about half the correct candidates are another program than the one
    # shown, and about half the incorrect ones are an edit of the one shown
    assert set(kinds) == {"correct", *task.ERROR_KINDS} and min(kinds.values()) > 0.05 * sum(kinds.values()), kinds
    assert 0.4 < kinds["name"] / sum(kinds[k] for k in task.ERROR_KINDS) < 0.6, kinds  # KIND_WEIGHTS: half the errors
    assert 0.4 < same_program[True] / kinds["correct"] < 0.6, same_program
    incorrect = sum(kinds[k] for k in task.ERROR_KINDS)
    assert 0.45 < same_program["edit", True] / incorrect < 0.75, same_program


def _pieces_off(formula: str, shown: str) -> int:
    a, b = formula.split(), shown.split()
    return len(a) != len(b) or sum(x != y for x, y in zip(a, b))


def test_validation_pairs_come_in_both_orders(splits):
    for split in ("val_code_id", "val_code_ood"):
        rows = splits[split]
        for original, swapped in zip(rows[::2], rows[1::2]):
            assert original["row"]["extra_info"]["order"] == "original" and swapped["row"]["extra_info"]["order"] == "swapped"
            assert (swapped["a"], swapped["b"], swapped["labels"]) == (original["b"], original["a"], original["labels"][::-1])
            assert swapped["problem"] == original["problem"]


def test_validation_sizes_that_the_split_cannot_hold_are_refused(tmp_path):
    with pytest.raises(ValueError, match="val_code_id: 1000 pairs"):
        task.build(tmp_path, sizes={"val_code_id": 1000})
    assert not list(tmp_path.iterdir())

"""Pairing guarantees, as properties over random labelled tables (real parquet, streamed twice)."""

import json
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_prep.pairs.planning import make_splits
from data_prep.pairs.selection import PairSettings

# per problem: a list of (response text id, label); text ids repeat, so duplicates occur
problem_strategy = st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=1, max_size=12)


def consistent(problems):
    """Identical responses get identical labels (the label of the first occurrence)."""
    out = []
    for responses in problems:
        first = {}
        out.append([(text, first.setdefault(text, label)) for text, label in responses])
    return out


def write_labelled(path, problems):
    rows = [{"problem_id": f"p{i}", "source": "cf", "task": "code", "statement": f"statement {i}",
             "response": f"<think>r{j}</think>answer {text} of p{i}", "label": label}
            for i, responses in enumerate(problems) for j, (text, label) in enumerate(responses)]
    pq.write_table(pa.Table.from_pylist(rows), path)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(problem_strategy, min_size=1, max_size=25), st.integers(1, 3), st.integers(0, 2**16))
def test_pairing_rules(tmp_path, problems, cap, seed):
    path = tmp_path / "labelled.parquet"
    problems = consistent(problems)
    write_labelled(path, problems)
    config = PairSettings(train_size=20, val_code_id_size=6, val_code_ood_size=4, max_pairs_per_problem=cap,
                          max_val_pairs_per_problem=1, seed=seed)
    splits, summary = make_splits(path, settings=config)
    again, _ = make_splits(path, settings=config)
    assert splits == again, "not deterministic for a seed"
    owner = {}
    for name, rows in splits.items():
        assert len(rows) <= summary["splits"][name]["requested"]
        per_problem = Counter()
        positions = Counter()
        for row in rows:
            problem_id = row["extra_info"]["problem_id"]
            assert owner.setdefault(problem_id, name) == name, "problem in two splits"
            per_problem[problem_id] += 1
            content = row["prompt"][0]["content"]
            a, b = content.split("## Response A")[1].split("## Response B")
            assert a.strip() != b.strip(), "identical responses paired"
            assert "<think>" not in content
            labels = json.loads(row["reward_model"]["ground_truth"])["labels"]
            positions[tuple(labels)] += 1
            truth = {f"answer {t} of {problem_id}": y for t, y in problems[int(problem_id[1:])]}
            assert [truth[a.strip()], truth[b.strip()]] == [bool(y) for y in labels], "labels do not follow responses"
        assert max(per_problem.values(), default=0) <= (cap if name == "train" else 1)
        if name == "val_code_ood":
            assert positions[(1, 0)] == positions[(0, 1)] == 0
        else:
            assert abs(positions[(1, 0)] - positions[(0, 1)]) <= 1, "correct position not balanced"
            assert positions[(1, 1)] == positions[(0, 0)] == 0


def test_sizes_are_met_when_data_allows_and_reasoning_can_be_kept(tmp_path):
    path = tmp_path / "labelled.parquet"
    write_labelled(path, [[(t, t < 3) for t in range(6)] for _ in range(30)] + [[(t, True) for t in range(4)]] * 2)
    config = PairSettings(train_size=40, val_code_id_size=10, val_code_ood_size=2, max_pairs_per_problem=4,
                          max_val_pairs_per_problem=2, keep_reasoning=True)
    splits, summary = make_splits(path, settings=config)
    assert {name: len(rows) for name, rows in splits.items()} == {"train": 40, "val_code_id": 10, "val_code_ood": 2}
    assert summary["dropped"] == {}
    assert "<think>r" in splits["train"][0]["prompt"][0]["content"]

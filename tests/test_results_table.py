"""The paper's table from scored samples: values, formats, clear errors, unmatched samples, and
the same table whichever way the samples are split across files."""

import json
import math
import os
import warnings

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_prep.formats.io import DataError
from recipe.corpo.reports.results_table import (
    UnmatchedSamplesWarning,
    build_table,
    read_samples,
    summarize,
    write_results_table,
)


def _samples(run, source, labels, prompt, accs, order="original", scores=None):
    rows = []
    for index, acc in enumerate(accs):
        row = {"run": run, "data_source": source, "prompt_index": prompt, "sample_index": index, "labels": labels,
               "acc": acc, "order": order}
        if scores is not None:
            row["score_a"], row["score_b"] = scores[index]
        rows.append(row)
    return rows


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_table_rows_columns_and_values(tmp_path):
    run_a = _write(tmp_path / "a.jsonl", (
        _samples("A", "corpo_val_code_id", [1, 0], "p1", [0, 0, 1, 0])  # pass@2 = 1 - C(3,2)/C(4,2) = 0.5
        + _samples("A", "corpo_val_code_id", [1, 0], "p2", [0, 0, 0, 0])
        + _samples("A", "corpo_val_code_ood", [1, 1], "p3", [1, 1, 1, 1])
        + _samples("A", "corpo_val_math_ood", [0, 1], "p4", [0, 1, 0, 1])  # pass@2 = 1 - C(2,2)/C(4,2) = 5/6
    ))
    run_b = _write(tmp_path / "b.jsonl", _samples("B", "corpo_val_code_id", [1, 0], "p1", [1, 1, 0, 0]))
    results = summarize(read_samples([run_a, run_b]), k=2)
    table = results.frame()
    assert list(zip(table["task"], table["configuration"])) == [
        ("in-domain", "first correct"), ("in-domain", "second correct"), ("OOD coding", "both incorrect"),
        ("OOD coding", "both correct"), ("OOD math", "first correct"), ("OOD math", "second correct"),
    ]
    first = table.iloc[0]
    assert first["A pass@2"] == pytest.approx(25.0) and first["A pass@1"] == pytest.approx(12.5)
    assert first["B pass@2"] == pytest.approx(100 * 5 / 6) and first["A prompts"] == 2
    assert table.iloc[3]["A pass@2"] == pytest.approx(100.0)
    assert table.iloc[5]["A pass@2"] == pytest.approx(100 * 5 / 6) and table.iloc[5]["A pass@1"] == pytest.approx(50.0)
    assert math.isnan(table.iloc[1]["A pass@2"]) and table.iloc[1]["A prompts"] == 0  # no such prompts

    markdown, csv, js = write_results_table(results, tmp_path / "out")
    text = markdown.read_text()
    assert text.startswith("pass@2 and pass@1") and "| OOD coding | both incorrect |" in " ".join(text.split())
    assert "paper CoRPO pass@16" in text and "95.8" in text and "A order consistency" in text
    written = pd.read_csv(csv)
    assert list(written.columns) == ["task", "configuration"] + [
        f"{run} {m}" for run in "AB" for m in ("pass@2", "pass@1", "prompts", "order consistency", "Brier", "answered")]
    assert written.loc[0, "B pass@2"] == pytest.approx(100 * 5 / 6)
    machine = json.loads(js.read_text())
    assert machine["k"] == 2 and [r["key"] for r in machine["rows"]][:2] == ["in_domain_first_correct", "in_domain_second_correct"]
    assert machine["runs"]["A"]["in_domain_first_correct"]["pass_at_k"] == pytest.approx(0.25)
    assert machine["runs"]["A"]["in_domain_second_correct"]["pass_at_k"] is None  # NaN -> null
    assert oct(os.stat(csv).st_mode & 0o777) == oct(0o644)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temp files left


def test_judge_metrics_in_the_table():
    # one pair (1, 0): original answers (9, 1) and (6, 6); swapped answers (1, 9) [same verdict] and nothing parsed
    samples = (_samples("A", "corpo_val_code_id", [1, 0], "p", [1, 0], scores=[(9, 1), (6, 6)])
               + _samples("A", "corpo_val_code_id", [0, 1], "p", [1, 0], order="swapped", scores=[(1, 9), (-1, -1)]))
    metrics = summarize(samples, k=1).runs["A"]["in_domain_first_correct"]
    assert metrics["prompts"] == 1 and metrics["samples"] == 2 and metrics["order_pairs"] == 1
    assert metrics["pass_at_1"] == pytest.approx(0.5)  # swapped samples do not count in pass@k
    assert metrics["order_consistency"] == pytest.approx(1 / 4)  # (correct, incorrect) in 1 of 2 x 1 of 2
    assert metrics["brier"] == pytest.approx((((0.9 - 1) ** 2 + 0.1 ** 2) / 2 + ((0.6 - 1) ** 2 + 0.6 ** 2) / 2) / 2)
    assert metrics["answered"] == pytest.approx(1.0)


def test_bad_samples_are_clear_errors(tmp_path):
    missing = _write(tmp_path / "bad.jsonl", [{"run": "A", "data_source": "x", "prompt_index": 0, "sample_index": 0,
                                                "acc": 1.0}])
    with pytest.raises(DataError, match=r"bad.jsonl, row 1, field 'labels': missing"):
        read_samples([missing])
    bad_labels = _write(tmp_path / "labels.jsonl", _samples("A", "corpo_val_code_id", [True, 0], "p", [1]))
    with pytest.raises(DataError, match=r"labels.jsonl, row 1, field 'labels'"):
        read_samples([bad_labels])
    first = _write(tmp_path / "one.jsonl", _samples("A", "corpo_val_code_id", [1, 0], "p", [1]))
    again = _write(tmp_path / "two.jsonl", _samples("A", "corpo_val_code_id", [1, 0], "p", [0]))
    with pytest.raises(DataError, match=r"two.jsonl, row 1, field 'sample_index': the same sample .* is already in .*one.jsonl, row 1"):
        read_samples([first, again])
    with pytest.raises(ValueError, match=r"pass@2 needs >= 2 samples per prompt, some prompts have 1"):
        build_table(read_samples([first]), k=2)


def test_samples_that_fit_no_row_are_reported_with_counts():
    samples = (_samples("A", "corpo_val_code_id", [1, 0], "p1", [1, 0])
               + _samples("A", "my_val_set", [1, 0], "p2", [1, 1]) + _samples("A", "my_val_set", [1, 0], "p3", [1, 0]))
    with pytest.warns(UserWarning, match=r"run 'A': 4 samples of 2 prompts with data_source 'my_val_set'"):
        build_table(samples, k=1)
    with pytest.warns(UnmatchedSamplesWarning):
        results = summarize(samples, k=1)
    assert results.unmatched == {"A": [{"data_source": "my_val_set", "labels": [1, 0], "samples": 4, "prompts": 2}]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything fits: no warning
        summarize(samples[:2], k=1)


_PROMPTS = [("corpo_val_code_id", [1, 0]), ("corpo_val_code_id", [0, 1]), ("corpo_val_code_ood", [0, 0]),
            ("corpo_val_math_ood", [0, 1]), ("elsewhere", [1, 1])]


@st.composite
def _runs_of_samples(draw):
    """Scored samples of 1-2 runs (original and swapped orders, one prompt outside the table),
    each prompt with 2-4 samples per order."""
    samples = []
    for run in draw(st.lists(st.sampled_from(["GRPO", "CoRPO"]), min_size=1, max_size=2, unique=True)):
        for prompt in range(draw(st.integers(1, 5))):
            source, labels = _PROMPTS[prompt]
            for order in ("original", "swapped"):
                n = draw(st.integers(2, 4))
                scores = draw(st.lists(st.tuples(st.sampled_from([-1, 0, 2.5, 5, 7.5, 10]),
                                                 st.sampled_from([-1, 0, 5, 10])), min_size=n, max_size=n))
                shown = labels if order == "original" else labels[::-1]
                samples += _samples(run, source, shown, f"/data/{run}/val.parquet:{prompt}", draw(
                    st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n)), order=order, scores=scores)
    return samples


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(samples=_runs_of_samples(), data=st.data())
def test_table_is_the_same_however_the_samples_are_split_across_files(tmp_path_factory, samples, data):
    folder = tmp_path_factory.mktemp("split")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedSamplesWarning)
        whole = build_table(read_samples([_write(folder / "all.jsonl", samples)]), k=2)
        parts = data.draw(st.integers(1, 5))
        assignment = data.draw(st.lists(st.integers(0, parts - 1), min_size=len(samples), max_size=len(samples)))
        shuffled = data.draw(st.permutations(range(len(samples))))
        files = [_write(folder / f"part{p}.jsonl", [samples[i] for i in shuffled if assignment[i] == p]) for p in range(parts)]
        split = build_table(read_samples(files), k=2)
    pd.testing.assert_frame_equal(split[whole.columns], whole, check_exact=True)

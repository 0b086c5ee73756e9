"""The paper's table from scored samples, and the evaluation command on a tiny model."""

import json
import math
import os
import subprocess
import sys

import pandas as pd
import pytest

from corpo_advantage.reward import compute_score
from data_prep.io import DataError
from recipe.corpo.evaluate import resolve_model
from recipe.corpo.results_table import build_table, read_samples, write_table


def _samples(run, source, labels, prompt, accs):
    return [{"run": run, "data_source": source, "prompt_index": prompt, "labels": labels, "acc": a} for a in accs]


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
    table = build_table(read_samples([run_a, run_b]), k=2)
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

    markdown, csv = write_table(table, tmp_path / "out", k=2)
    text = markdown.read_text()
    assert text.startswith("| task") and "| OOD coding | both incorrect" in text.replace("  ", " ").replace("  ", " ")
    assert "paper CoRPO pass@16" in text and "95.8" in text
    written = pd.read_csv(csv)
    assert list(written.columns) == ["task", "configuration", "A pass@2", "A pass@1", "A prompts",
                                     "B pass@2", "B pass@1", "B prompts"]
    assert written.loc[0, "B pass@2"] == pytest.approx(100 * 5 / 6)
    assert oct(os.stat(csv).st_mode & 0o777) == oct(0o644)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temp files left


def test_bad_samples_are_clear_errors(tmp_path):
    missing = _write(tmp_path / "bad.jsonl", [{"run": "A", "data_source": "x", "prompt_index": 0, "acc": 1.0}])
    with pytest.raises(DataError, match=r"bad.jsonl, row 1, field 'labels': missing"):
        read_samples([missing])
    first = _write(tmp_path / "one.jsonl", _samples("A", "corpo_val_code_id", [1, 0], "p", [1]))
    second = _write(tmp_path / "two.jsonl", _samples("A", "corpo_val_code_id", [1, 0], "q", [1]))
    with pytest.raises(DataError, match=r"two.jsonl, row 1, field 'run': run 'A' is already in .*one.jsonl"):
        read_samples([first, second])
    with pytest.raises(ValueError, match=r"pass@2 needs >= 2 samples per prompt, some prompts have 1"):
        build_table(read_samples([first]), k=2)


def test_a_folder_that_is_no_model_is_a_clear_error(tmp_path):
    (tmp_path / "ckpt").mkdir()
    with pytest.raises(ValueError, match="neither a Hugging Face model .* nor a verl FSDP checkpoint"):
        resolve_model(tmp_path / "ckpt", tmp_path / "merged")
    with pytest.raises(FileNotFoundError, match="no such model or checkpoint"):
        resolve_model(tmp_path / "nope", tmp_path / "merged")


def test_evaluate_command_samples_scores_and_tabulates(tmp_path):
    from recipe.corpo.tiny_default import build

    tiny = build(tmp_path / "tiny", warm_start_steps=0)  # untrained: sampling, not skill, is under test
    val = [str(tiny / "data" / f"{s}.parquet") for s in ("val_code_id", "val_code_ood", "val_math_ood")]
    result = subprocess.run(
        [sys.executable, "-m", "recipe.corpo.evaluate", "--model", str(tiny / "model"), "--val-files", *val,
         "--run", "tiny", "--k", "2", "--samples-per-prompt", "3", "--max-new-tokens", "8",
         "--temperature", "1.0", "--backend", "transformers", "--out", str(tmp_path / "eval")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    samples = [json.loads(line) for line in (tmp_path / "eval" / "tiny.samples.jsonl").read_text().splitlines()]
    assert len(samples) == 12 * 3
    truth = {  # prompt_index is "<file>:<row>", rows numbered from 1
        f"{os.path.basename(path)}:{number}": row.reward_model["ground_truth"]
        for path in val for number, row in enumerate(pd.read_parquet(path).itertuples(), start=1)
    }
    for sample in samples:  # scored by the project's reward against its own row's labels
        ground_truth = truth[sample["prompt_index"]]
        expected = compute_score(sample["data_source"], sample["response"], ground_truth)
        assert (sample["acc"], sample["score"]) == (expected["acc"], expected["score"])
        assert sample["labels"] == json.loads(ground_truth)["labels"]
    assert len({s["response"] for s in samples}) > 1  # sampled, not greedy
    table = pd.read_csv(tmp_path / "eval" / "pass_at_2.csv")
    assert list(table["tiny prompts"]) == [2, 2, 2, 2, 2, 2]
    assert table["tiny pass@2"].between(0, 100).all() and (table["tiny pass@2"] >= table["tiny pass@1"]).all()

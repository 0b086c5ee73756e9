"""The paper's table from scored samples, and the evaluation command on the tiny default."""

import json
import math
import subprocess
import sys

import pandas as pd
import pytest

from recipe.corpo.results_table import build_table, read_samples, write_table


def _samples(run, source, labels, prompt, accs):
    return [{"run": run, "data_source": source, "prompt_index": prompt, "labels": labels, "acc": a} for a in accs]


def test_table_rows_columns_and_values(tmp_path):
    rows = (
        _samples("A", "corpo_val_code_id", [1, 0], "p1", [0, 0, 1, 0])  # pass@2 = 1 - C(3,2)/C(4,2) = 0.5
        + _samples("A", "corpo_val_code_id", [1, 0], "p2", [0, 0, 0, 0])
        + _samples("A", "corpo_val_code_ood", [1, 1], "p3", [1, 1, 1, 1])
        + _samples("B", "corpo_val_code_id", [1, 0], "p1", [1, 1, 0, 0])  # 1 - C(2,2)/C(4,2) = 5/6
    )
    path = tmp_path / "scored.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = build_table(read_samples([path]), k=2)
    assert list(table["configuration"]) == [
        "first correct", "second correct", "both incorrect", "both correct", "first correct", "second correct"
    ]
    first = table.iloc[0]
    assert first["A pass@2"] == pytest.approx(25.0) and first["A pass@1"] == pytest.approx(12.5)
    assert first["B pass@2"] == pytest.approx(100 * 5 / 6) and first["A prompts"] == 2
    assert table.iloc[3]["A pass@2"] == pytest.approx(100.0)
    assert math.isnan(table.iloc[1]["A pass@2"])  # no prompts of that configuration
    markdown, csv = write_table(table, tmp_path / "out", k=2)
    assert "paper CoRPO pass@16" in markdown.read_text() and "| in-domain" in markdown.read_text()
    assert pd.read_csv(csv).shape == (6, 2 + 3 * 2)


def test_missing_field_names_file_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"run": "A", "data_source": "x", "prompt_index": 0, "acc": 1.0}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl, line 1, field 'labels': missing"):
        read_samples([path])


def test_evaluate_command_on_the_tiny_default(tmp_path):
    from recipe.corpo.tiny_default import ensure

    tiny = ensure(tmp_path / "tiny")
    val = [str(tiny / "data" / f"{s}.parquet") for s in ("val_code_id", "val_code_ood", "val_math_ood")]
    result = subprocess.run(
        [sys.executable, "-m", "recipe.corpo.evaluate", "--model", str(tiny / "model"), "--val-files", *val,
         "--run", "tiny", "--k", "2", "--samples-per-prompt", "3", "--max-new-tokens", "16",
         "--temperature", "1.0", "--backend", "transformers", "--out", str(tmp_path / "eval")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    samples = [json.loads(line) for line in (tmp_path / "eval" / "tiny.samples.jsonl").read_text().splitlines()]
    assert len(samples) == 12 * 3
    assert {s["data_source"] for s in samples} == {"corpo_val_code_id", "corpo_val_code_ood", "corpo_val_math_ood"}
    table = pd.read_csv(tmp_path / "eval" / "pass_at_2.csv")
    assert list(table["tiny prompts"]) == [2, 2, 2, 2, 2, 2]
    assert table["tiny pass@2"].between(0, 100).all()

"""The report of scripts/learn_cpu.sh (recipe/corpo/cpu_tasks/learn/report.py) on hand-made samples and logs.

The samples are in the format ``recipe.corpo.evaluation.evaluate`` writes; the logs are written by verl
0.9.1's own tracker (tensorboard backend), as a training run does.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from verl.utils.tracking import Tracking

from recipe.corpo.reports.results_table import TABLE_ROWS

K = 2
SEEDS = (0, 1)
#: per run, per table row: the share of correct samples (2 prompts x 2 samples: multiples of 0.25)
ACC = {
    "warm_start": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
    "grpo": [0.75, 0.75, 0.75, 0.25, 0.5, 0.5],
    "corpo": [1.0, 1.0, 0.25, 0.5, 0.5, 0.5],
}


def _samples(run: str, accuracy: list[float]) -> list[dict]:
    """Right samples answer (9, 1)-style scores matching the labels, wrong ones the opposite; every
    pair is also judged swapped, always \\boxed{5, 5} (undecided: no verdict)."""
    rows = []
    for row, share in zip(TABLE_ROWS, accuracy):
        correct = round(share * 2 * K)
        for prompt in range(2):
            for sample in range(K):
                right = prompt * K + sample < correct
                scores = [9 if (label == 1) == right else 1 for label in row.labels]
                common = {"run": run, "data_source": row.data_source, "prompt_index": f"{row.key}:{prompt}",
                          "sample_index": sample, "score": 0.0}
                rows.append({**common, "order": "original", "labels": list(row.labels), "acc": float(right),
                             "score_a": scores[0], "score_b": scores[1], "format_ok": 1.0,
                             "response": f"\\boxed{{{scores[0]}, {scores[1]}}}"})
                rows.append({**common, "order": "swapped", "labels": list(row.labels[::-1]), "acc": 0.0,
                             "score_a": 5.0, "score_b": 5.0, "format_ok": 1.0, "response": "\\boxed{5, 5}"})
    return rows


def _log(monkeypatch, path, failed_pos: float, reward_slope: float) -> None:
    monkeypatch.setenv("TENSORBOARD_DIR", str(path))
    tracker = Tracking("verl_corpo", path.name, default_backend=["tensorboard"])
    tracker.log({"val-core/corpo_val_code_id/acc/mean@1": 0.5}, step=0)
    for step in range(1, 11):
        tracker.log({
            "critic/score/mean": -0.4 + reward_slope * step,
            "corpo/failed_pos_adv_frac": failed_pos,
            "corpo/grpo_failed_pos_adv_frac": 0.2,
            "corpo/correctness_mode_frac": 1.0 - 0.08 * step,
            "corpo/r_count": 0.5, "corpo/r_loss": 0.4,
            "corpo/equal_reward_group_frac": 0.25, "corpo/all_failed_group_frac": 0.125,
            **({"val-core/corpo_val_code_id/acc/mean@1": 0.5 + 0.04 * step} if step % 5 == 0 else {}),
        }, step=step)
    tracker.finish()


@pytest.fixture
def report(tmp_path, monkeypatch):
    out = tmp_path / "learn"

    runs = {"warm_start": ACC["warm_start"]}
    runs.update({f"{e}-s{s}": ACC[e] for e in ("grpo", "corpo") for s in SEEDS})
    for run, accuracy in runs.items():
        (out / "eval" / run).mkdir(parents=True)
        (out / "eval" / run / f"{run}.samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _samples(run, accuracy)))
    for estimator, failed_pos in (("grpo", 0.15), ("corpo", 0.0)):
        for seed in SEEDS:
            _log(monkeypatch, out / "runs" / f"{estimator}-s{seed}" / "tensorboard", failed_pos, 0.03 + 0.01 * seed)
    result = subprocess.run(
        [sys.executable, "-m", "recipe.corpo.cpu_tasks.learn.report", "--out", str(out), "--warm-start", str(tmp_path / "ws"),
         "--k", str(K), "--steps", "10", "--max-new-tokens", "16", "--seeds", *map(str, SEEDS),
         "--estimators", "grpo", "corpo", "--wall-s", "123.4"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_results_json_has_the_issues_shape(report, tmp_path):
    results = json.loads((report / "results.json").read_text())
    assert list(results) == ["wall_s", "warm_start", "max_new_tokens", "val_files", "runs"]
    assert results["wall_s"] == 123.4 and results["max_new_tokens"] == 16
    assert results["warm_start"] == str(tmp_path / "ws" / "model")
    assert results["val_files"]["in_domain"] == str(tmp_path / "ws" / "data" / "val_code_id.parquet")
    assert [(r["estimator"], r["seed"]) for r in results["runs"]] == [("grpo", 0), ("grpo", 1), ("corpo", 0), ("corpo", 1)]
    corpo = results["runs"][2]
    assert corpo["checkpoint"] == str(report / "runs" / "corpo-s0" / "checkpoints" / "global_step_10" / "actor" / "huggingface")
    assert corpo["start"]["in_domain_pass1"] == pytest.approx(0.5)
    assert corpo["end"]["in_domain_pass1"] == pytest.approx(1.0)
    assert corpo["end"]["ood_code_both_incorrect_pass1"] == pytest.approx(0.25)
    assert corpo["end"]["ood_code_pass1"] == pytest.approx(0.375)  # pooled over the two rows' prompts
    # pass@2 of a prompt with 1 of 2 samples right is 1: both GRPO prompts of that row have one
    assert results["runs"][0]["end"][f"ood_code_both_incorrect_pass{K}"] == pytest.approx(1.0)
    # Brier of (9, 1) on labels (1, 0): ((0.9-1)^2 + (0.1-0)^2) / 2 = 0.01; of a wrong (1, 9): 0.81
    assert corpo["end"]["in_domain_first_correct_brier"] == pytest.approx(0.01)
    assert corpo["start"]["in_domain_brier"] == pytest.approx((0.01 + 0.81) / 2)
    json.loads((report / "results.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in results.json"))


def test_the_report_states_what_the_numbers_show(report):
    text = (report / "report.md").read_text()
    assert "| in-domain | first correct | 50.0 | 75.0 ± 0.0 | 100.0 ± 0.0 |" in text
    assert "paper CoRPO pass@16" in text
    assert "CoRPO (2 seeds): in-domain pass@1 50.0% -> 100.0%, a change of +50.0 ± 0.0 points" in text
    assert "Target (CoRPO's in-domain pass@1 up by >= 15 points, mean over seeds): met (+50.0)" in text
    assert "OOD coding, both incorrect, pass@1: highest GRPO 75.0, next CoRPO 25.0" in text  # GRPO wins a row: said
    assert "(up)" in text  # the training reward rose in the logs
    assert "GRPO: failed rows with a positive advantage, mean over steps and seeds 0.150" in text
    assert "CoRPO: share of groups in correctness-seeking mode 0.76 over the first 5 steps, 0.36 over the last 5" in text
    assert "GRPO: groups with all rewards equal (no learning signal under GRPO) 0.250, groups where every sample failed 0.125" in text
    assert "| in-domain | " in text.split("Judge quality", 1)[1]
    for plot in ("learning", "val_accuracy", "mean_reward", "failed_pos_adv_frac", "r_count", "r_loss", "correctness_mode_frac",
                 "equal_reward_group_frac", "all_failed_group_frac"):
        assert (report / "plots" / f"{plot}.png").read_bytes()[:4] == b"\x89PNG"
        assert f"(plots/{plot}.png)" in text
    assert not (report / "plots" / "val_pass_at_n.png").exists()  # logged by no run: no empty plot

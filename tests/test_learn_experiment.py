"""The experiment's command end to end, small (``SMOKE=1 bash scripts/learn_cpu.sh``): the same code path
as the full run (warm start, direct runs of every estimator and reward, evaluation, report), checked
against the results.json contract of issue 18."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM

REPO = Path(__file__).resolve().parents[1]
CORPO_KEYS = ("failed_frac", "failed_count", "failed_pos_adv_frac", "grpo_failed_pos_adv_frac", "pos_adv_frac",
              "neg_adv_frac", "r_count", "r_loss", "correctness_mode_frac", "equal_reward_group_frac",
              "all_failed_group_frac")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("learn_smoke")
    env = {**os.environ, "SMOKE": "1", "OUT_DIR": str(out)}
    run = subprocess.run(["bash", str(REPO / "scripts" / "learn_cpu.sh")], env=env, cwd=REPO, capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text())


@pytest.mark.e2e
def test_results_follow_the_contract(smoke):
    out, results = smoke
    assert results["trainer"] == "direct" and results["wall_s"] > 0
    assert (results["temperature"], results["top_p"]) == (0.6, 0.95) and results["max_new_tokens"] == 16
    assert {"in_domain/first_correct", "in_domain/second_correct", "ood_code/both_correct",
            "ood_code/both_incorrect"} <= set(results["rows"])
    assert Path(results["val_files"]["in_domain"]).exists()
    assert set(results["warm_start"]["pass1"]) == set(results["rows"])
    runs = results["runs"]
    assert {(r["estimator"], r["reward"], r["seed"]) for r in runs} == {
        (e, w, s) for e in ("grpo", "corpo_static", "corpo") for w in ("ordinal", "binary") for s in (0, 1)}
    for run in runs:
        assert set(run["pass1"]) == set(results["rows"])
        assert all(0 <= v <= 1 for v in run["pass1"].values())
        assert [s["step"] for s in run["steps"]] == [1, 2, 3, 4]
        for step in run["steps"]:
            assert 0 <= step["train_success"] <= 1
            assert all(f"corpo/{key}" in step for key in CORPO_KEYS)
            if run["estimator"] != "grpo" or run["reward"] == "binary":
                assert not step["corpo/failed_pos_adv_frac"] > 0
        model = AutoModelForCausalLM.from_pretrained(run["checkpoint"])
        assert model.config.num_hidden_layers >= 1
    assert len(results["differences"]) == 2 * len(results["rows"]) * 3
    for d in results["differences"]:
        assert {d["a"], d["b"]} <= {"grpo", "corpo_static", "corpo"}
        assert d["ci_low"] <= d["mean"] + 1e-9 or math.isclose(d["ci_low"], d["mean"])
        assert d["p"] <= d["p_holm"] <= 1
    assert [p["verdict"] in ("confirmed", "refuted", "inconclusive") for p in results["predictions"]] == [True] * 3
    report = (out / "report.md").read_text()
    assert "Pre-registered predictions" in report and "### Verdicts" in report
    assert all((out / p).exists() for p in ("plots/validation.png", "plots/failed_pos_adv_frac.png"))

"""The verdicts of the pre-registered predictions (recipe/corpo/cpu_tasks/learn/report.py) on hand-made runs."""

from __future__ import annotations

import math

import pytest

from recipe.corpo.cpu_tasks.learn import report

SEEDS = [0, 1, 2, 3, 4]


def _steps(success, failed_positive, r_count, count=50.0):
    return [{"step": i + 1, "train_success": success, "corpo/failed_count": count,
             "corpo/failed_pos_adv_frac": failed_positive, "corpo/r_count": r_count} for i in range(20)]


def _runs(grpo_share, static_r, corpo_r, success=0.3):
    return {("ordinal", "grpo"): {s: {"steps": _steps(success, grpo_share + 0.01 * s, 1.0)} for s in SEEDS},
            ("ordinal", "corpo_static"): {s: {"steps": _steps(success, 0.0, static_r * (0.8 + 0.1 * s))} for s in SEEDS},
            ("ordinal", "corpo"): {s: {"steps": _steps(success, 0.0, corpo_r)} for s in SEEDS}}


def _diffs(ood_static, ood_corpo, within):
    def d(row, a, b, mean, half):
        return {"reward": "ordinal", "row": row, "a": a, "b": b, "mean": mean, "ci_low": mean - half,
                "ci_high": mean + half, "p_holm": 0.5}
    return [d("ood_code", "corpo_static", "grpo", ood_static, 0.01), d("ood_code", "corpo", "grpo", ood_corpo, 0.01),
            d("in_domain", "corpo", "corpo_static", within, 0.01)]


def _verdicts(runs, diffs):
    return [p["verdict"] for p in report.predictions(runs, diffs, SEEDS)]


def test_claims_that_hold_are_confirmed():
    assert _verdicts(_runs(0.3, 10.0, 1.0), _diffs(0.05, 0.03, 0.0)) == ["confirmed"] * 3


def test_claims_that_fail_are_refuted():
    assert _verdicts(_runs(0.02, 1.0, 1.0), _diffs(-0.05, 0.03, 0.0)) == ["refuted"] * 3


def test_claims_the_data_cannot_decide_are_inconclusive():
    # (a) no step with success below 50%; (c) the ratio straddles 3; (d) intervals too wide for the margin
    runs = _runs(0.3, 3.0, 1.0, success=0.8)
    diffs = _diffs(-0.015, 0.0, 0.0)
    for d in diffs:
        d["ci_low"], d["ci_high"] = d["mean"] - 0.03, d["mean"] + 0.03
    verdicts = report.predictions(runs, diffs, SEEDS)
    assert [p["verdict"] for p in verdicts] == ["inconclusive"] * 3
    assert verdicts[0]["evidence"]["seeds_with_such_steps"] == 0


def test_the_failed_positive_share_weighs_steps_by_their_failures():
    steps = [{"train_success": 0.2, "corpo/failed_count": 90.0, "corpo/failed_pos_adv_frac": 0.1},
             {"train_success": 0.4, "corpo/failed_count": 10.0, "corpo/failed_pos_adv_frac": 0.5},
             {"train_success": 0.6, "corpo/failed_count": 10.0, "corpo/failed_pos_adv_frac": 0.9}]
    assert report.failed_positive_while_failing(steps) == pytest.approx((9 + 5) / 100)
    assert math.isnan(report.failed_positive_while_failing(steps[2:]))


def test_accuracy_per_candidate_kind_counts_each_judgment_once():
    from recipe.corpo.cpu_tasks.learn.evaluation import kind_accuracy
    n = 4  # samples per prompt; kind_right: right judgments of that kind's candidates over the n samples
    samples = [{"row": "in_domain/first_correct", "kind_right": {"correct": 4, "name": 1}},
               {"row": "ood_code/both_correct", "kind_right": {"correct": 6}},  # two correct candidates: 2n judgments
               {"row": "ood_code/both_incorrect", "kind_right": {"name": 2, "swap": 0}}]
    assert kind_accuracy(samples, n) == {"correct": pytest.approx(10 / 12), "name": pytest.approx(3 / 8), "swap": 0.0}
    assert kind_accuracy(samples, n, "in_domain") == {"correct": 1.0, "name": 0.25}
    assert kind_accuracy(samples, n, "ood_code") == {"correct": pytest.approx(6 / 8), "name": 0.5, "swap": 0.0}


def test_a_run_settles_at_the_end_of_its_first_window_of_right_judgments():
    steps = [{"step": i, "kind_acc/correct": 1.0 if i >= 8 else 0.6, "kind_acc/name": 0.97 if i >= 6 else 0.5}
             for i in range(1, 31)]
    assert report.settle_step(steps) == 12  # steps 8-12: both kinds above 95% on average
    steps[13]["kind_acc/name"] = math.nan  # a batch without a crash: skipped, not counted as wrong
    assert report.settle_step(steps) == 12
    assert math.isnan(report.settle_step([{**s, "kind_acc/name": 0.9} for s in steps]))

"""The paper's training diagnostics (spec section 7) on advantages from verl's real dispatch."""

import math

import pytest
import torch

from corpo_advantage.diagnostics import corpo_diagnostics
from tests.helpers.batches import advantages_via_verl, make_batch


def _diagnose(estimator, rewards, uids, lengths, r_min=0.0):
    batch = make_batch(rewards, uids, lengths)
    adv = advantages_via_verl(estimator, batch, r_min_correct=r_min)
    scores = batch.batch["token_level_rewards"].sum(-1)
    return corpo_diagnostics(scores, adv, batch.batch["response_mask"], batch.non_tensor_batch["uid"], r_min,
                             estimator=estimator)


# group g1 mostly fails (one "less bad" failure above the mean); g2 is in preference mode;
# a padding row that would count as a failure if it were not excluded.
REWARDS = [-0.2, -0.9, -0.9, -0.9, 1.0, 0.5, 0.25, -0.75, -1.0]
UIDS = ["g1"] * 4 + ["g2"] * 4 + ["pad"]
LENGTHS = [2, 4, 4, 4, 3, 3, 3, 3, 0]


def test_grpo_shows_its_failure_mode_and_corpo_does_not():
    grpo = _diagnose("grpo_vectorized", REWARDS, UIDS, LENGTHS)
    corpo = _diagnose("corpo", REWARDS, UIDS, LENGTHS)
    static = _diagnose("corpo_static", REWARDS, UIDS, LENGTHS)
    # failed rows: the 4 of g1 and -0.75 of g2 (the padding row excluded)
    for metrics in (grpo, corpo, static):
        assert metrics["corpo/failed_frac"] == pytest.approx(5 / 8)
        # counterfactual: only -0.2 lies above its group mean (-0.725) among failures
        assert metrics["corpo/grpo_failed_pos_adv_frac"] == pytest.approx(1 / 5)
        assert metrics["corpo/correctness_mode_frac"] == pytest.approx(1 / 2)
    assert grpo["corpo/failed_pos_adv_frac"] == pytest.approx(1 / 5)
    assert corpo["corpo/failed_pos_adv_frac"] == 0.0
    assert static["corpo/failed_pos_adv_frac"] == 0.0


def test_r_count_and_r_loss_for_corpo():
    metrics = _diagnose("corpo", REWARDS, UIDS, LENGTHS)
    # g1 baseline 0: all four negative; g2 baseline mean 0.25: A = 0.75, 0.25, 0.0, -1.0
    assert metrics["corpo/pos_adv_frac"] == pytest.approx(2 / 8)
    assert metrics["corpo/neg_adv_frac"] == pytest.approx(5 / 8)
    assert metrics["corpo/r_count"] == pytest.approx(2 / 5)
    positive_weight = 0.75 * 3 + 0.25 * 3
    negative_weight = 0.2 * 2 + 0.9 * 4 * 3 + 1.0 * 3
    assert metrics["corpo/r_loss"] == pytest.approx(positive_weight / negative_weight, rel=1e-5)


def test_ratios_are_nan_without_negative_advantages():
    metrics = _diagnose("corpo", [0.5, 0.5], ["g", "g"], [2, 2])
    assert math.isnan(metrics["corpo/r_count"]) and math.isnan(metrics["corpo/r_loss"])
    assert metrics["corpo/failed_frac"] == 0.0 and metrics["corpo/failed_count"] == 0.0


@pytest.mark.parametrize("estimator", ["grpo", "corpo_static", "corpo"])
def test_a_batch_without_failures_has_undefined_failure_shares(estimator):
    # no failed row: the shares over failed rows are undefined (NaN), not 0, and the count says why
    metrics = _diagnose(estimator, [0.5, 0.9, 0.2, 0.7], ["g", "g", "h", "h"], [2, 2, 2, 2])
    assert metrics["corpo/failed_count"] == 0.0
    assert math.isnan(metrics["corpo/failed_pos_adv_frac"]) and math.isnan(metrics["corpo/grpo_failed_pos_adv_frac"])
    # one failure makes them defined again
    metrics = _diagnose(estimator, [0.5, 0.9, -0.2, 0.7], ["g", "g", "h", "h"], [2, 2, 2, 2])
    assert metrics["corpo/failed_count"] == 1.0 and metrics["corpo/failed_pos_adv_frac"] in (0.0, 1.0)


def test_metric_names_avoid_the_aggregators_keywords():
    # verl's v1 MetricsAggregator picks min/max/sum aggregation from these substrings
    metrics = _diagnose("corpo", REWARDS, UIDS, LENGTHS)
    for name in metrics:
        assert name.startswith("corpo/")
        assert not any(word in name for word in ("min", "max", "sum", "total")), name


def test_metrics_aggregate_as_means_in_verls_aggregator():
    from verl.trainer.ppo.v1.utils import MetricsAggregator

    names = list(_diagnose("corpo", REWARDS, UIDS, LENGTHS))
    aggregator = MetricsAggregator()
    kinds = {name: aggregator._get_aggregation_type(name) for name in names}
    assert set(kinds.values()) == {aggregator._get_aggregation_type("corpo/plain_mean_metric")}, kinds


def test_token_level_advantages_use_the_mean_sign():
    # a token-level estimator (GAE-like) with mixed signs inside one response
    adv = torch.tensor([[1.0, -0.2, 0.0], [-1.0, -1.0, 0.5]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    metrics = corpo_diagnostics(torch.tensor([-0.5, 0.5]), adv, mask, ["a", "b"], 0.0)
    assert metrics["corpo/failed_pos_adv_frac"] == 1.0  # row 0 failed, mean advantage > 0
    assert metrics["corpo/r_loss"] == pytest.approx(1.2 / 2.5)


def test_shares_of_groups_with_equal_rewards_and_with_every_sample_failed():
    rewards = [-0.2, -0.9, -0.45,   # "fail": every sample failed, rewards differ
               0.6, 0.6, 0.6,       # "same": equal rewards, all correct
               -0.45, -0.45,        # "same_fail": equal rewards, all failed
               0.3,                 # "solo": a group of one (equal rewards, trivially)
               0.3, -0.5, 0.9,      # "mixed", the padding row's 0.9 does not count
               -1.0, -1.0]          # "pad": padding rows only, not a group
    uids = ["fail"] * 3 + ["same"] * 3 + ["same_fail"] * 2 + ["solo"] + ["mixed"] * 3 + ["pad"] * 2
    lengths = [2, 3, 1, 2, 2, 2, 4, 4, 3, 2, 2, 0, 0, 0]
    for estimator in ("corpo", "grpo", "grpo_vectorized", "corpo_static"):
        metrics = _diagnose(estimator, rewards, uids, lengths)
        assert metrics["corpo/equal_reward_group_frac"] == pytest.approx(3 / 5), estimator  # same, same_fail, solo
        assert metrics["corpo/all_failed_group_frac"] == pytest.approx(2 / 5), estimator  # fail, same_fail


def test_group_shares_when_a_padding_row_shares_a_uid():
    # the padding row's reward (-1) would make "g" unequal and failed if it counted
    metrics = _diagnose("corpo", [0.5, 0.5, -1.0], ["g", "g", "g"], [2, 2, 0])
    assert metrics["corpo/equal_reward_group_frac"] == 1.0
    assert metrics["corpo/all_failed_group_frac"] == 0.0

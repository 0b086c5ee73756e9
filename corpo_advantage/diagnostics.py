"""Training diagnostics of the paper (spec section 7), for whichever estimator produced the advantages.

All statistics are over valid rows (response mask not all zero). A row's advantage A is the mean
of its advantages over its response tokens (its sign is the sign of that mean); its loss weight is
sum_t |A_t| over the response tokens (|A| x number of response tokens for outcome estimators: a
project choice).

Exact ties. Rewards are compared exactly (failure: R < r_min_correct; GRPO's counterfactual:
R > the exact group mean), so a group of equal rewards is never "above its mean". An advantage
counts as zero when ``|A| <= ADV_TOLERANCE * max(1, |R|)``: a float32 group mean is a few
rounding steps (6e-8 relative each) off, and that rounding must not decide a sign. For verl's
mean-baseline estimators (``MEAN_BASELINE_ESTIMATORS``) the rows of a group of two or more equal
rewards count as A = 0, their exact value: verl computes the mean in float32 and its std
normalisation divides that rounding by a std that is itself rounding (A = -0.056 for eight
rewards of 0.8), which no tolerance on A can tell from a real advantage.

Metric names avoid the substrings ``min``, ``max``, ``sum`` and ``total``: verl's v1
``MetricsAggregator`` picks its aggregation from them.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import torch

from corpo_advantage.groups import STATS_DTYPE, group_stats, valid_rows

PREFIX = "corpo/"

#: An advantage counts as zero when |A| <= ADV_TOLERANCE * max(1, |R|).
ADV_TOLERANCE = 1e-6

#: verl estimators whose advantage is (R - group mean), optionally / (std + eps): exactly 0 for a
#: group of two or more equal rewards (a group of one gets mean 0 in verl).
MEAN_BASELINE_ESTIMATORS = frozenset({"grpo", "grpo_vectorized"})


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is 0 (the ratio is undefined)."""
    return numerator / denominator if denominator > 0 else math.nan


def _share(part: torch.Tensor, whole: torch.Tensor) -> float:
    """The share of ``whole`` (bool) that is also ``part``, NaN when ``whole`` is empty."""
    return _ratio(float((part & whole).sum()), float(whole.sum()))


@torch.no_grad()
def corpo_diagnostics(
    scores: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    index: np.ndarray,
    r_min_correct: float,
    estimator: str | None = None,
) -> dict[str, float]:
    """The paper's diagnostics for one batch.

    Args:
        scores: (B,) outcome reward R of each row (the task reward, before any KL penalty).
        advantages: (B, T) the advantages the estimator produced.
        response_mask: (B, T).
        index: (B,) uid of each row.
        r_min_correct: the correctness threshold; a row fails when R < r_min_correct.
        estimator: ``algorithm.adv_estimator``; for ``MEAN_BASELINE_ESTIMATORS`` the rows of a group
            of equal rewards count as A = 0 (module docstring).

    Returns ``corpo/...`` metrics:
        failed_frac: share of rows that failed.
        failed_count: number of failed rows (the denominator of the next two).
        failed_pos_adv_frac: share of failed rows with A > 0 (GRPO's flaw; 0 for CoRPO and static);
            NaN in a batch without failures (undefined, not 0: averaged over steps, a 0 would pull
            the mean down; average with the counts as weights, or skip the NaN).
        grpo_failed_pos_adv_frac: share of failed rows with R > group mean, i.e. those GRPO's mean
            baseline would reinforce (the counterfactual, whatever estimator is running); NaN
            without failures likewise.
        pos_adv_frac, neg_adv_frac: share of rows with A > 0, A < 0.
        r_count: #{A > 0} / #{A < 0} (NaN when no row has A < 0).
        r_loss: loss weight over A > 0 / loss weight over A < 0 (NaN likewise).
        correctness_mode_frac: share of groups whose mean reward is below r_min_correct
            (CoRPO's correctness-seeking phase).
        equal_reward_group_frac: share of groups whose rewards are all equal (a group of one
            included): GRPO learns nothing from them.
        all_failed_group_frac: share of groups in which every row failed.
    Groups are those with at least one valid row.
    """
    valid = valid_rows(response_mask)
    stats = group_stats(scores, valid, index)
    rewards = stats.scores  # float64, exact

    mask = response_mask.to(advantages.dtype)
    masked = advantages * mask
    tokens = response_mask.ne(0).sum(-1).clamp_min(1)
    row_adv = masked.sum(-1, dtype=STATS_DTYPE) / tokens
    loss_weight = masked.abs().sum(-1, dtype=STATS_DTYPE)
    counted = valid & (row_adv.abs() > ADV_TOLERANCE * rewards.abs().clamp_min(1.0))
    if estimator in MEAN_BASELINE_ESTIMATORS:
        counted &= ~stats.per_row(stats.equal_rewards & (stats.count >= 2))
    positive = counted & (row_adv > 0)
    negative = counted & (row_adv < 0)
    failed = valid & (rewards < r_min_correct)
    grpo_reinforced = failed & (rewards > stats.mean)

    groups = stats.present
    return {
        PREFIX + "failed_frac": _share(failed, valid),
        PREFIX + "failed_count": float(failed.sum()),
        PREFIX + "failed_pos_adv_frac": _share(positive, failed),
        PREFIX + "grpo_failed_pos_adv_frac": _share(grpo_reinforced, failed),
        PREFIX + "pos_adv_frac": _share(positive, valid),
        PREFIX + "neg_adv_frac": _share(negative, valid),
        PREFIX + "r_count": _ratio(float(positive.sum()), float(negative.sum())),
        PREFIX + "r_loss": _ratio(float(loss_weight[positive].sum()), float(loss_weight[negative].sum())),
        PREFIX + "correctness_mode_frac": _share(stats.group_mean < r_min_correct, groups),
        PREFIX + "equal_reward_group_frac": _share(stats.equal_rewards, groups),
        PREFIX + "all_failed_group_frac": _share(stats.group_high < r_min_correct, groups),
    }


def filtered_phase1_groups(shared_rewards: Mapping[float, int], r_min_correct: float) -> dict[str, float]:
    """``corpo/filter_dropped_phase1_groups``: how many of the groups a group filter dropped were in
    CoRPO's phase 1 (correctness-seeking), i.e. would have had negative advantages.

    ``shared_rewards`` is ``{reward: number of dropped groups}``: a filter like DAPO's
    ``algorithm.filter_groups`` (metric ``reward``) drops only groups whose rewards are all equal,
    so a dropped group's mean is that reward, and it is in phase 1 exactly when it is below
    ``r_min_correct``.
    """
    dropped = sum(int(count) for reward, count in shared_rewards.items() if float(reward) < r_min_correct)
    return {PREFIX + "filter_dropped_phase1_groups": float(dropped)}

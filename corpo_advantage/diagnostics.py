"""Training diagnostics of the paper (spec section 7), for whichever estimator produced the advantages.

All statistics are over valid rows (response mask not all zero). A row's advantage sign is the
sign of its mean advantage over its response tokens; its loss weight is sum_t |A_t| over the
response tokens (|A| x number of response tokens for outcome estimators: a project choice).

Metric names avoid the substrings ``min``, ``max``, ``sum`` and ``total``: verl's v1
``MetricsAggregator`` picks its aggregation from them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from corpo_advantage.groups import group_stats, valid_rows

PREFIX = "corpo/"


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is 0 (the ratio is undefined)."""
    return numerator / denominator if denominator > 0 else math.nan


@torch.no_grad()
def corpo_diagnostics(
    scores: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    index: np.ndarray,
    r_min_correct: float,
) -> dict[str, float]:
    """The paper's diagnostics for one batch.

    Args:
        scores: (B,) outcome reward R of each row (the task reward, before any KL penalty).
        advantages: (B, T) the advantages the estimator produced.
        response_mask: (B, T).
        index: (B,) uid of each row.
        r_min_correct: the correctness threshold; a row fails when R < r_min_correct.

    Returns ``corpo/...`` metrics:
        failed_frac: share of rows that failed.
        failed_pos_adv_frac: share of failed rows with A > 0 (GRPO's flaw; 0 for CoRPO and static).
        grpo_failed_pos_adv_frac: share of failed rows with R > group mean, i.e. those GRPO's mean
            baseline would reinforce (the counterfactual, whatever estimator is running).
        pos_adv_frac, neg_adv_frac: share of rows with A > 0, A < 0.
        r_count: #{A > 0} / #{A < 0} (NaN when no row has A < 0).
        r_loss: loss weight over A > 0 / loss weight over A < 0 (NaN likewise).
        correctness_mode_frac: share of groups whose mean reward is below r_min_correct
            (CoRPO's correctness-seeking phase).
    """
    mask = response_mask.to(torch.float32)
    valid = valid_rows(response_mask)
    scores = scores.to(torch.float32)
    stats = group_stats(scores, valid, index)

    row_adv = (advantages.to(torch.float32) * mask).sum(-1)
    loss_weight = (advantages.to(torch.float32).abs() * mask).sum(-1)
    positive = valid & (row_adv > 0)
    negative = valid & (row_adv < 0)
    failed = valid & (scores < r_min_correct)
    grpo_reinforced = failed & (scores > stats.mean)

    rows = float(valid.sum())
    failures = float(failed.sum())
    groups_present = stats.count > 0
    correctness_mode = groups_present & (stats.group_mean < r_min_correct)

    return {
        PREFIX + "failed_frac": _ratio(failures, rows),
        PREFIX + "failed_pos_adv_frac": _ratio(float((failed & positive).sum()), failures) if failures else 0.0,
        PREFIX + "grpo_failed_pos_adv_frac": _ratio(float(grpo_reinforced.sum()), failures) if failures else 0.0,
        PREFIX + "pos_adv_frac": _ratio(float(positive.sum()), rows),
        PREFIX + "neg_adv_frac": _ratio(float(negative.sum()), rows),
        PREFIX + "r_count": _ratio(float(positive.sum()), float(negative.sum())),
        PREFIX + "r_loss": _ratio(float(loss_weight[positive].sum()), float(loss_weight[negative].sum())),
        PREFIX + "correctness_mode_frac": _ratio(float(correctness_mode.sum()), float(groups_present.sum())),
    }

"""The CoRPO advantage estimators, registered in verl's estimator registry (spec section 2).

For a prompt with rollouts y_1..y_G and outcome rewards R(y_i):

- ``corpo`` (adaptive, the paper's CoRPO):
      b_mean  = (1/G) * sum_i R(y_i)
      b_corpo = max(R_min_correct, b_mean)
      A(y_i)  = R(y_i) - b_corpo
  Phase 1 (b_mean < R_min_correct, correctness-seeking): the baseline is locked at R_min_correct,
  so every failed trajectory (R < R_min_correct) gets a negative advantage. Phase 2
  (b_mean >= R_min_correct, preference-seeking): the baseline is GRPO's group mean.
- ``corpo_static`` (the paper's static-baseline ablation):
      A(y_i) = R(y_i) - R_min_correct

Optionally (``algorithm.corpo.norm_by_std``) A is divided by (group std + epsilon), which keeps
its sign, so the guarantee "a failed trajectory never gets A > 0" holds either way. The scalar is
broadcast over the response tokens and multiplied by the response mask; group statistics use the
valid rows of a uid only (see ``corpo_advantage.groups``).

Exactness: A is computed in float64 from exact group statistics and the threshold as given (a
Python float), then rounded once to the advantages' dtype (the rewards' dtype, at least float32);
a non-zero value too small for that dtype becomes its smallest subnormal of the same sign, not 0.
So the sign of A is the sign of the exact R - b: a failed row (R < R_min_correct) never gets
A > 0, even one a float32 step below the threshold, and a group of equal rewards in phase 2 gets
A = 0 exactly, with or without std normalisation (its std is exactly 0).
"""

from __future__ import annotations

import numpy as np
import torch
from verl.trainer.ppo.core_algos import register_adv_est

from corpo_advantage.groups import GroupStats, group_stats, valid_rows
from corpo_advantage.settings import CorpoSettings


def outcome_scores(token_level_rewards: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(B,) outcome reward per row; raises when a valid row's reward is NaN or infinite."""
    scores = token_level_rewards.sum(dim=-1)
    if bool(torch.isfinite(scores).all()):
        return scores
    bad = valid & ~torch.isfinite(scores)
    if bool(bad.any()):
        count, total = int(bad.sum()), int(valid.sum())
        examples = scores[bad][:3].tolist()
        raise ValueError(
            f"CoRPO: {count} of {total} responses have a non-finite reward (e.g. {examples}); "
            "refusing to compute advantages. Check the reward function."
        )
    return scores


def _round_keeping_sign(values: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``values`` rounded to ``dtype``; one that would underflow to 0 keeps its sign as the smallest subnormal."""
    rounded = values.to(dtype)
    lost = (rounded == 0) & (values != 0)
    if bool(lost.any()):
        smallest = torch.nextafter(torch.zeros((), dtype=dtype), torch.ones((), dtype=dtype))
        rounded = torch.where(lost, torch.sign(values).to(dtype) * smallest, rounded)
    return rounded


def _broadcast(differences: torch.Tensor, response_mask: torch.Tensor, stats: GroupStats, settings: CorpoSettings,
               dtype: torch.dtype):
    """Normalise (optionally) the float64 R - b, zero invalid rows, round once to ``dtype``, broadcast
    over tokens: verl's (advantages, returns)."""
    if settings.norm_by_std:
        differences = differences / (stats.std + settings.epsilon)
    scalars = _round_keeping_sign(torch.where(stats.valid, differences, torch.zeros_like(differences)), dtype)
    advantages = scalars.unsqueeze(-1) * response_mask
    return advantages, advantages


def _prepare(token_level_rewards, response_mask, index, config):
    settings = CorpoSettings.from_algorithm_config(config)
    valid = valid_rows(response_mask)
    scores = outcome_scores(token_level_rewards, valid)
    stats = group_stats(scores, valid, index, with_std=settings.norm_by_std)
    return settings, stats, torch.promote_types(token_level_rewards.dtype, torch.float32)


@register_adv_est("corpo")
@torch.no_grad()
def compute_corpo_outcome_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: np.ndarray | None = None,
    config=None,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """CoRPO: A = R - max(R_min_correct, group mean) (the paper's adaptive baseline b_corpo).

    Args:
        token_level_rewards: (B, T) rewards; the outcome reward of a row is their sum.
        response_mask: (B, T) 1 for response tokens.
        index: (B,) uid of each row (verl's ``non_tensor_batch["uid"]``).
        config: verl's ``algorithm`` config; reads ``algorithm.corpo.{r_min_correct, norm_by_std, epsilon}``.

    Returns:
        (advantages, returns), both (B, T) in the rewards' dtype (at least float32), equal, zero
        outside the response mask.
    """
    settings, stats, dtype = _prepare(token_level_rewards, response_mask, index, config)
    baseline = torch.clamp(stats.mean, min=settings.r_min_correct)  # float64, the threshold exactly
    return _broadcast(stats.scores - baseline, response_mask, stats, settings, dtype)


@register_adv_est("corpo_static")
@torch.no_grad()
def compute_corpo_static_outcome_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: np.ndarray | None = None,
    config=None,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Static baseline (the paper's ablation): A = R - R_min_correct. Arguments as ``corpo``."""
    settings, stats, dtype = _prepare(token_level_rewards, response_mask, index, config)
    return _broadcast(stats.scores - settings.r_min_correct, response_mask, stats, settings, dtype)

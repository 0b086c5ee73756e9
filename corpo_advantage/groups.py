"""Per-prompt group statistics over the valid rows of a batch (spec section 2, project choices).

A *group* is the set of rollouts that share a verl ``uid`` (one prompt). A row is *valid* when its
response mask is not all zero; verl's synthetic padding rows (``pad<hex>`` uids, mask all zero)
are not, and they take no part in any group statistic. Everything here is vectorised with
``index_add_`` (no Python loop over the batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from verl.utils.groupwise import as_torch_index


@dataclass(frozen=True)
class GroupStats:
    """Row-aligned group statistics of one batch of outcome rewards.

    Attributes:
        valid: (B,) bool, the response mask has at least one token.
        group: (B,) long, the row's group id (0..G-1) from its uid.
        count: (G,) float, number of valid rows per group (0 for a group of padding rows only).
        group_mean: (G,) float, mean reward over the group's valid rows; a group of one has its
            own reward as mean.
        group_std: (G,) float, unbiased (Bessel) std over the group's valid rows; 1.0 for groups
            with fewer than two valid rows, where a spread is not defined.
    """

    valid: torch.Tensor
    group: torch.Tensor
    count: torch.Tensor
    group_mean: torch.Tensor
    group_std: torch.Tensor

    @property
    def mean(self) -> torch.Tensor:
        """(B,) the mean of each row's group."""
        return self.group_mean[self.group]

    @property
    def std(self) -> torch.Tensor:
        """(B,) the std of each row's group."""
        return self.group_std[self.group]


def valid_rows(response_mask: torch.Tensor) -> torch.Tensor:
    """(B,) bool: rows whose response mask has at least one token."""
    return response_mask.any(dim=-1)


@torch.no_grad()
def group_stats(scores: torch.Tensor, valid: torch.Tensor, index: np.ndarray | torch.Tensor) -> GroupStats:
    """Mean and std of ``scores`` per uid group, over valid rows only."""
    scores = scores.to(torch.float32)
    if index is None:
        raise ValueError("group statistics need the `uid` of every row (verl passes it as `index`)")
    group = as_torch_index(index, device=scores.device)
    if group.numel() != scores.numel():
        raise ValueError(f"uid index has {group.numel()} entries but the batch has {scores.numel()} rows")
    num_groups = int(group.max().item()) + 1 if group.numel() else 0
    weight = valid.to(torch.float32)
    kept = torch.where(valid, scores, torch.zeros_like(scores))

    count = torch.zeros(num_groups, dtype=torch.float32, device=scores.device).index_add_(0, group, weight)
    total = torch.zeros_like(count).index_add_(0, group, kept)
    mean_g = total / count.clamp_min(1.0)

    centred = torch.where(valid, scores - mean_g[group], torch.zeros_like(scores))
    square_dev = torch.zeros_like(count).index_add_(0, group, centred * centred)
    std_g = torch.sqrt(square_dev / (count - 1.0).clamp_min(1.0))
    std_g = torch.where(count >= 2.0, std_g, torch.ones_like(std_g))

    return GroupStats(valid=valid, group=group, count=count, group_mean=mean_g, group_std=std_g)

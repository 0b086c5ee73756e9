"""Per-prompt group statistics over the valid rows of a batch (spec section 2, project choices).

A *group* is the set of rollouts that share a verl ``uid`` (one prompt). A row is *valid* when its
response mask is not all zero; verl's synthetic padding rows (``pad<hex>`` uids, mask all zero)
are not, and they take no part in any group statistic. Everything here is vectorised with
``index_add_`` (no Python loop over the batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch


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
            with fewer than two valid rows, where a spread is not defined. None unless asked for.
    """

    valid: torch.Tensor
    group: torch.Tensor
    count: torch.Tensor
    group_mean: torch.Tensor
    group_std: torch.Tensor | None

    @property
    def mean(self) -> torch.Tensor:
        """(B,) the mean of each row's group."""
        return self.group_mean[self.group]

    @property
    def std(self) -> torch.Tensor:
        """(B,) the std of each row's group."""
        if self.group_std is None:
            raise ValueError("group_stats(..., with_std=False) computed no std")
        return self.group_std[self.group]


def valid_rows(response_mask: torch.Tensor) -> torch.Tensor:
    """(B,) bool: rows whose response mask has at least one token.

    Exact, and cheap on real batches: a response whose first token is in the mask is valid, so
    only the rows that start masked (verl's padding rows, rejected responses) are read in full.
    """
    valid = response_mask[:, 0] != 0
    starts_masked = ~valid
    if bool(starts_masked.any()):
        valid[starts_masked] = (response_mask[starts_masked] != 0).any(dim=-1)
    return valid


def group_ids(index: np.ndarray | torch.Tensor | None, rows: int) -> tuple[torch.Tensor, int]:
    """(B,) long group id (0..G-1) of each row from its uid, and G; a hash factorisation, O(B)."""
    if index is None:
        raise ValueError("group statistics need the `uid` of every row (verl passes it as `index`)")
    labels = index.cpu().numpy() if isinstance(index, torch.Tensor) else np.asarray(index, dtype=object)
    if labels.shape != (rows,):
        raise ValueError(f"uid index has shape {labels.shape} but the batch has {rows} rows")
    codes, uniques = pd.factorize(labels)
    return torch.from_numpy(codes.astype(np.int64, copy=False)), len(uniques)


@torch.no_grad()
def group_stats(
    scores: torch.Tensor, valid: torch.Tensor, index: np.ndarray | torch.Tensor, with_std: bool = False
) -> GroupStats:
    """Mean (and, ``with_std``, std) of ``scores`` per uid group, over valid rows only."""
    scores = scores.to(torch.float32)
    group, num_groups = group_ids(index, scores.numel())
    group = group.to(scores.device)
    weight = valid.to(torch.float32)
    kept = torch.where(valid, scores, torch.zeros_like(scores))

    count = torch.zeros(num_groups, dtype=torch.float32, device=scores.device).index_add_(0, group, weight)
    total = torch.zeros_like(count).index_add_(0, group, kept)
    mean_g = total / count.clamp_min(1.0)

    std_g = None
    if with_std:
        centred = torch.where(valid, scores - mean_g[group], torch.zeros_like(scores))
        square_dev = torch.zeros_like(count).index_add_(0, group, centred * centred)
        std_g = torch.sqrt(square_dev / (count - 1.0).clamp_min(1.0))
        std_g = torch.where(count >= 2.0, std_g, torch.ones_like(std_g))

    return GroupStats(valid=valid, group=group, count=count, group_mean=mean_g, group_std=std_g)

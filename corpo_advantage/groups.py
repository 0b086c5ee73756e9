"""Per-prompt group statistics over the valid rows of a batch (spec section 2, project choices).

A *group* is the set of rollouts that share a verl ``uid`` (one prompt). A row is *valid* when its
response mask is not all zero; verl's synthetic padding rows (``pad<hex>`` uids, mask all zero)
are not, and they take no part in any group statistic. Everything here is vectorised with
``index_add_`` / ``scatter_reduce_`` (no Python loop over the batch).

The statistics are exact where it matters: they are computed in float64 around each group's
lowest reward (``mean = low + sum(R - low) / n``), so a group of equal rewards has a mean equal to
its reward and a std of exactly 0, whatever the reward's value or dtype, and no mean is below its
group's lowest reward. (A float32 sum of eight copies of 0.8 is not 8 x 0.8: its mean is one
rounding step off.)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import torch

#: dtype of every group statistic.
STATS_DTYPE = torch.float64


@dataclass(frozen=True)
class GroupStats:
    """Row-aligned group statistics of one batch of outcome rewards (float64).

    Attributes:
        valid: (B,) bool, the response mask has at least one token.
        group: (B,) long, the row's group id (0..G-1) from its uid.
        scores: (B,) float64, the rewards, exactly (every float32 or bfloat16 value is a float64).
        count: (G,) float64, number of valid rows per group (0 for a group of padding rows only).
        group_low: (G,) float64, lowest reward over the group's valid rows (0 for a group
            without valid rows); ``group_high`` likewise the highest (computed when first read).
        group_mean: (G,) float64, mean reward over the group's valid rows; a group of one has its
            own reward as mean; a group of equal rewards has exactly that reward.
        group_std: (G,) float64, unbiased (Bessel) std over the group's valid rows, exactly 0 for
            equal rewards; 1.0 for groups with fewer than two valid rows, where a spread is not
            defined. None unless asked for.
    """

    valid: torch.Tensor
    group: torch.Tensor
    scores: torch.Tensor
    count: torch.Tensor
    group_low: torch.Tensor
    group_mean: torch.Tensor
    group_std: torch.Tensor | None

    @cached_property
    def group_high(self) -> torch.Tensor:
        return _group_extreme(self.scores, self.group, self.count, self.valid, "amax")

    def per_row(self, values: torch.Tensor) -> torch.Tensor:
        """(B,) each row's entry of a (G,) per-group tensor."""
        return per_row(values, self.group)

    @property
    def mean(self) -> torch.Tensor:
        """(B,) the mean of each row's group."""
        return self.per_row(self.group_mean)

    @property
    def std(self) -> torch.Tensor:
        """(B,) the std of each row's group."""
        if self.group_std is None:
            raise ValueError("group_stats(..., with_std=False) computed no std")
        return self.per_row(self.group_std)

    @property
    def present(self) -> torch.Tensor:
        """(G,) bool, the group has at least one valid row."""
        return self.count > 0

    @property
    def equal_rewards(self) -> torch.Tensor:
        """(G,) bool, every valid row of the group has the same reward (a group of one included)."""
        return self.present & (self.group_low == self.group_high)


def per_row(values: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """(B,) ``values[group]`` by ``index_select``: with torch 2.13 on 2 CPU threads, advanced
    indexing (``values[group]``) took milliseconds while the batch's large tensors were alive."""
    return values.index_select(0, group)


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


def _group_extreme(values: torch.Tensor, group: torch.Tensor, count: torch.Tensor, valid: torch.Tensor, reduce: str):
    """(G,) the lowest (``amin``) or highest (``amax``) value over each group's valid rows, 0 without any."""
    every_row_valid = bool(valid.all())
    if not every_row_valid:  # invalid rows take part as +-inf, which never wins
        ignored = torch.tensor(float("inf") if reduce == "amin" else float("-inf"), dtype=values.dtype,
                               device=values.device)
        values = torch.where(valid, values, ignored)
    out = torch.zeros_like(count).scatter_reduce_(0, group, values, reduce=reduce, include_self=False)
    return out if every_row_valid else torch.where(count > 0, out, torch.zeros_like(out))


@torch.no_grad()
def group_stats(
    scores: torch.Tensor, valid: torch.Tensor, index: np.ndarray | torch.Tensor, with_std: bool = False
) -> GroupStats:
    """Mean (and, ``with_std``, std) of ``scores`` per uid group, over valid rows only, in float64."""
    scores = scores.to(STATS_DTYPE)
    group, num_groups = group_ids(index, scores.numel())
    group = group.to(scores.device)
    zeros = torch.zeros_like(scores)

    count = torch.zeros(num_groups, dtype=STATS_DTYPE, device=scores.device).index_add_(0, group, valid.to(STATS_DTYPE))
    low = _group_extreme(scores, group, count, valid, "amin")
    above_low = torch.where(valid, scores - per_row(low, group), zeros)  # >= 0, exactly 0 for the lowest
    mean_g = low + torch.zeros_like(count).index_add_(0, group, above_low) / count.clamp_min(1.0)

    std_g = None
    if with_std:
        centred = torch.where(valid, scores - per_row(mean_g, group), zeros)
        square_dev = torch.zeros_like(count).index_add_(0, group, centred * centred)
        std_g = torch.sqrt(square_dev / (count - 1.0).clamp_min(1.0))
        std_g = torch.where(count >= 2.0, std_g, torch.ones_like(std_g))

    return GroupStats(valid=valid, group=group, scores=scores, count=count, group_low=low, group_mean=mean_g,
                      group_std=std_g)

"""Builders of verl batches for the estimator tests: real ``DataProto`` objects, as verl's trainer makes them."""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import OmegaConf
from verl import DataProto
from verl.trainer.ppo.ray_trainer import compute_advantage

import corpo_advantage.plugin  # noqa: F401  (registers the estimators; fails loudly, unlike verl's plugin loader)


def make_batch(rewards, uids, lengths, response_len: int = 6, dtype=torch.float32) -> DataProto:
    """A DataProto with one outcome reward per row placed at its last response token.

    ``lengths[i] == 0`` makes row i a padding row (response mask all zero), like verl's
    ``upsample_batch_to_divisible_size``.
    """
    batch_size = len(rewards)
    mask = torch.zeros(batch_size, response_len, dtype=torch.int64)
    token_rewards = torch.zeros(batch_size, response_len, dtype=dtype)
    for row, (reward, length) in enumerate(zip(rewards, lengths)):
        mask[row, :length] = 1
        if length:
            token_rewards[row, length - 1] = reward
    return DataProto.from_dict(
        tensors={"token_level_rewards": token_rewards, "response_mask": mask},
        non_tensors={"uid": np.array(uids, dtype=object)},
    )


def algorithm_config(norm_adv_by_std_in_grpo: bool = True, **corpo):
    """verl's ``config.algorithm`` as the trainer passes it: an OmegaConf DictConfig."""
    return OmegaConf.create({"adv_estimator": "corpo", "norm_adv_by_std_in_grpo": norm_adv_by_std_in_grpo,
                             "corpo": corpo})


def advantages_via_verl(estimator: str, batch: DataProto, norm_adv_by_std_in_grpo: bool = True, **corpo) -> torch.Tensor:
    """Advantages computed through verl's own dispatch (``ray_trainer.compute_advantage``), which
    passes ``norm_adv_by_std_in_grpo`` to ``grpo`` (its other estimators read ``config``)."""
    out = compute_advantage(batch, adv_estimator=estimator, norm_adv_by_std_in_grpo=norm_adv_by_std_in_grpo,
                            config=algorithm_config(norm_adv_by_std_in_grpo, **corpo))
    return out.batch["advantages"]


def row_advantage(advantages: torch.Tensor, batch: DataProto) -> torch.Tensor:
    """(B,) the advantage of each row (its value on the first response token; 0 for padding rows)."""
    return advantages[:, 0]

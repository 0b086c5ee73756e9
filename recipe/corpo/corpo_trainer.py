"""verl 0.9.1's v1 sync trainer, plus the CoRPO diagnostics (spec section 7) logged every step, and
a check that data written by ``data_prep pairs`` is one set before verl loads it."""

from __future__ import annotations

import numpy as np
import transfer_queue as tq
from omegaconf import ListConfig
from verl.trainer.ppo.v1 import PPOTrainerSync

from corpo_advantage.diagnostics import corpo_diagnostics
from corpo_advantage.settings import CorpoSettings
from data_prep.split_set import check_data_files

_DIAGNOSTIC_FIELDS = ["uid", "response_mask", "rm_scores", "advantages"]


class CorpoTrainerSync(PPOTrainerSync):
    """Computes advantages exactly as verl does, then logs ``corpo/...`` metrics for the batch.

    The diagnostics read back the task reward (``rm_scores``) and the advantages the configured
    estimator wrote, so a GRPO run shows GRPO's failure mode and a CoRPO run shows it is gone;
    beside them, the share of groups whose rewards are all equal and of groups where every sample
    failed (``corpo_advantage.diagnostics``).
    """

    def _init_dataloader(self):
        """verl's loaders, after checking that data files written by ``data_prep pairs`` are one set."""
        files = [self.config.data.train_files, self.config.data.val_files]
        check_data_files(f for entry in files for f in (entry if isinstance(entry, (list, ListConfig)) else [entry]))
        super()._init_dataloader()

    def _compute_advantage(self, batch, metrics: dict):
        batch = super()._compute_advantage(batch, metrics)
        metrics.update(self._corpo_metrics(batch))
        return batch

    def _corpo_metrics(self, batch) -> dict[str, float]:
        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=_DIAGNOSTIC_FIELDS)
        padded = data.to_padded_tensor()
        uid = np.array(padded.pop("uid").tolist(), dtype=object)
        settings = CorpoSettings.from_algorithm_config(self.config.algorithm)
        return corpo_diagnostics(
            scores=padded["rm_scores"].sum(-1),
            advantages=padded["advantages"],
            response_mask=padded["response_mask"],
            index=uid,
            r_min_correct=settings.r_min_correct,
            estimator=str(self.config.algorithm.adv_estimator),
        )

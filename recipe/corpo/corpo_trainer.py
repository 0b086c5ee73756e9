"""verl 0.9.1's v1 sync trainer, plus the CoRPO diagnostics (spec section 7) logged every step,
checkpoints that a killed run resumes from only when their save finished (``checkpoints.py``), and
a check that data written by ``data_prep pairs`` is one set before verl loads it."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import transfer_queue as tq
from omegaconf import ListConfig, open_dict
from verl.trainer.ppo.v1 import PPOTrainerSync
from verl.trainer.ppo.v1.replay_buffer import DAPO_FILTERED_REWARD_COUNTS_KEY, FILTER_GROUPS_REWARD_METRIC

from corpo_advantage.diagnostics import corpo_diagnostics, filtered_phase1_groups
from corpo_advantage.settings import CorpoSettings
from data_prep.formats.split_set import check_data_files
from recipe.corpo import checkpoints

_DIAGNOSTIC_FIELDS = ["uid", "response_mask", "rm_scores", "advantages"]
#: verl's checkpoint-rotation keys; the recipe rotates whole folders itself (checkpoints.prune)
_VERL_ROTATION = {"max_actor_ckpt_to_keep": None, "max_critic_ckpt_to_keep": None, "remove_previous_ckpt_in_save": False}


@contextmanager
def _overridden(section, values: dict):
    """Set keys of a config section for the duration of a block, then restore them (keys the
    section did not have are removed again)."""
    saved = {key: section[key] for key in values if key in section}
    with open_dict(section):
        section.update(values)
    try:
        yield
    finally:
        with open_dict(section):
            for key in values:
                if key in saved:
                    section[key] = saved[key]
                else:
                    del section[key]


class CorpoTrainerSync(PPOTrainerSync):
    """Computes advantages exactly as verl does, then logs ``corpo/...`` metrics for the batch.

    The diagnostics read back the task reward (``rm_scores``) and the advantages the configured
    estimator wrote, so a GRPO run shows GRPO's failure mode and a CoRPO run shows it is gone;
    beside them, the share of groups whose rewards are all equal and of groups where every sample
    failed (``corpo_advantage.diagnostics``).

    Checkpoints: verl saves and loads them; this class marks a ``global_step_N`` folder complete
    only after verl's save returned and its files are on disk, and lets verl resume only from a
    complete one (``recipe/corpo/checkpoints.py`` says what verl guarantees and what this adds).
    """

    def _init_dataloader(self):
        """verl's loaders, after checking that data files written by ``data_prep pairs`` are one set."""
        files = [self.config.data.train_files, self.config.data.val_files]
        check_data_files(f for entry in files for f in (entry if isinstance(entry, (list, ListConfig)) else [entry]))
        super()._init_dataloader()

    def _compute_advantage(self, batch, metrics: dict):
        batch = super()._compute_advantage(batch, metrics)
        metrics.update(self._corpo_metrics(batch))
        metrics.update(self._filter_metrics(metrics))
        return batch

    def _filter_metrics(self, metrics: dict) -> dict[str, float]:
        """With DAPO's ``algorithm.filter_groups`` on (metric ``reward``): how many phase-1 groups it
        dropped while sampling this batch. verl's replay buffer clears a dropped group's data before
        the trainer sees the batch, but hands the step's metrics ``{shared reward: groups dropped}``
        (``DAPO_FILTERED_REWARD_COUNTS_KEY``, in ``_step_once``'s metrics, popped only after the step)."""
        filter_groups = self.config.algorithm.get("filter_groups", None)
        if not (filter_groups and filter_groups.get("enable", False)
                and filter_groups.get("metric", None) == FILTER_GROUPS_REWARD_METRIC):
            return {}
        settings = CorpoSettings.from_algorithm_config(self.config.algorithm)
        return filtered_phase1_groups(metrics.get(DAPO_FILTERED_REWARD_COUNTS_KEY) or {}, settings.r_min_correct)

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

    # ---- checkpoints: complete or not at all --------------------------------------------------

    @property
    def _checkpoint_root(self) -> Path:
        return Path(self.config.trainer.default_local_dir).absolute()

    @property
    def _marks_checkpoints(self) -> bool:
        """verl's asynchronous save returns before the files are written: nothing can be marked."""
        return not self.config.actor_rollout_ref.actor.get("checkpoint", {}).get("async_save", False)

    def _load_checkpoint(self):
        if not self._marks_checkpoints:
            print("[corpo] checkpoint.async_save is on: resuming relies on verl's tracker alone", flush=True)
            return super()._load_checkpoint()
        trainer = self.config.trainer  # resume_mode was checked by main_corpo.check_resume_config
        root = self._checkpoint_root
        loaded = None
        if trainer.resume_mode == "auto":
            step = checkpoints.point_tracker_at_latest_complete(root)
            if step is not None and checkpoints.step_folder(root, step).is_dir():
                loaded = checkpoints.step_folder(root, step)
        elif trainer.resume_mode == "resume_path":
            loaded = Path(trainer.resume_from_path).absolute()
            checkpoints.check_resume_folder(loaded)
        super()._load_checkpoint()
        if self.global_steps == 0:
            loaded = None
        self._resumed_from = loaded
        abandoned = checkpoints.start_from(root, self.global_steps, loaded)
        if abandoned:
            print(f"[corpo] checkpoints of steps {abandoned} in {root} belong to an earlier run: no longer "
                  "resumable (overwritten as this run reaches their steps)", flush=True)
        if loaded is None:
            print(f"[corpo] training from scratch (resume_mode={trainer.resume_mode}); checkpoints go to {root}",
                  flush=True)
        else:
            print(f"[corpo] resumed from {loaded}: step {self.global_steps} done, training steps "
                  f"{self.global_steps + 1}..{self.total_training_steps}. Metrics an interrupted run logged for "
                  "later steps are logged again (tensorboard keeps the newest)", flush=True)

    def _save_checkpoint(self):
        if not self._marks_checkpoints:
            return super()._save_checkpoint()
        root, step = self._checkpoint_root, self.global_steps
        folder = checkpoints.step_folder(root, step)
        checkpoints.unmark(folder)  # it may hold an earlier save of this step: not complete while overwritten
        with _overridden(self.config.trainer, _VERL_ROTATION):
            super()._save_checkpoint()
        checkpoints.mark_complete(folder, step)
        checkpoints.write_tracker(root, step)  # verl wrote it in place; now atomically, after the marker
        removed = checkpoints.prune(root, checkpoints.retention(self.config.trainer))
        if removed:
            print(f"[corpo] removed old checkpoints of steps {removed} (max_*_ckpt_to_keep)", flush=True)

    def on_step_begin(self):
        super().on_step_begin()
        previous = self.global_steps - 1
        if self._marks_checkpoints and previous >= self._first_step:  # trained and logged by this process
            checkpoints.mark_logged(self._checkpoint_root, previous)

    def fit(self, agent_loop_manager):
        self._first_step = self.global_steps + 1
        skip = self._validation_already_logged()
        with _overridden(self.config.trainer, {"val_before_train": False} if skip else {}):
            if skip:
                print(f"[corpo] step {self.global_steps}'s validation is already logged: skipping "
                      "trainer.val_before_train on resume", flush=True)
            result = super().fit(agent_loop_manager)
        if self._marks_checkpoints and self.global_steps - 1 >= self._first_step:
            checkpoints.mark_logged(self._checkpoint_root, self.global_steps - 1)
        return result

    def _validation_already_logged(self) -> bool:
        """Resuming from a checkpoint whose step validated and logged (its metrics marker) would log
        that step's validation a second time with ``trainer.val_before_train``."""
        trainer, step = self.config.trainer, self.global_steps
        loaded = getattr(self, "_resumed_from", None)
        if loaded is None or not trainer.get("val_before_train", True):
            return False
        validated = trainer.test_freq > 0 and (step % trainer.test_freq == 0 or step >= self.total_training_steps)
        return validated and checkpoints.was_logged(loaded)

"""The CoRPO recipe's entry point: ``python -m recipe.corpo.main_corpo [hydra overrides]``.

Same as ``python -m verl.trainer.main_ppo`` (the estimators work there too, with
``algorithm.adv_estimator=corpo``), with the recipe config (``config/corpo_trainer.yaml``) and a
trainer that logs the ``corpo/...`` diagnostics every training step.
"""

from __future__ import annotations

import hydra
import ray
from omegaconf import DictConfig
from verl.trainer.main_ppo import TaskRunnerV1, run_ppo
from verl.trainer.ppo.utils import need_critic, need_reference_policy
from verl.trainer.ppo.v1.replay_buffer import FILTER_GROUPS_REWARD_METRIC
from verl.utils.config import validate_config
from verl.utils.device import auto_set_device

import corpo_advantage.plugin  # noqa: F401  (estimators registered even if entry points are disabled)
from corpo_advantage.install_check import require_estimator
from recipe.corpo.checkpoints import check_resume_config
from recipe.corpo.launch.node_watch import NodeDiedError, NodeWatch
from recipe.corpo.launch.ray_env import forward_to_ray

#: the Ray actor that runs the trainer: named, so that NodeWatch can stop it, and placed on the head
#: node (Ray's built-in resource of the head node), beside the driver: the run's tensorboard logs are
#: written there and the trainer outlives the loss of any other node long enough to say so
TASK_RUNNER_NAME = "corpo_task_runner"
TASK_RUNNER_OPTIONS = {"name": TASK_RUNNER_NAME, "resources": {"node:__internal_head__": 0.001}}


class CorpoTaskRunner(TaskRunnerV1.__ray_actor_class__):
    """verl's v1 TaskRunner whose ``sync`` trainer is ``CorpoTrainerSync``.

    The swap happens inside this Ray actor's own process, so nothing else is affected.
    """

    def run(self, config: DictConfig):
        from verl.trainer.ppo.v1.trainer_base import TRAINER_REGISTRY

        import corpo_advantage.plugin  # noqa: F401  (this actor computes the advantages: registered here too)
        from recipe.corpo.corpo_trainer import CorpoTrainerSync

        TRAINER_REGISTRY["sync"] = CorpoTrainerSync
        return super().run(config)


def check_trainer_mode(config: DictConfig) -> None:
    """The diagnostics hook into verl's v1 sync trainer; refuse other modes with a clear message."""
    mode = config.trainer.v1.trainer_mode if config.trainer.use_v1 else "legacy"
    if mode != "sync":
        raise ValueError(
            f"recipe.corpo.main_corpo needs verl's v1 sync trainer (trainer.use_v1=true, "
            f"trainer.v1.trainer_mode=sync), got {mode!r}. For other trainers run "
            "`python -m verl.trainer.main_ppo algorithm.adv_estimator=corpo ...` (no corpo/ diagnostics)."
        )


def warn_filter_groups(config: DictConfig) -> str | None:
    """The start-up warning when DAPO's group filter and a CoRPO estimator are both on (None otherwise)."""
    filter_groups = config.algorithm.get("filter_groups", None)
    if not (filter_groups and filter_groups.get("enable", False)):
        return None
    if str(config.algorithm.adv_estimator) not in ("corpo", "corpo_static"):
        return None
    metric = filter_groups.get("metric", None)
    counted = ("corpo/filter_dropped_phase1_groups counts them every step" if metric == FILTER_GROUPS_REWARD_METRIC else
               f"with filter_groups.metric={metric} they cannot be counted (only metric={FILTER_GROUPS_REWARD_METRIC} keeps "
               "the dropped groups' reward where the trainer sees it)")
    return (f"[corpo] WARNING: algorithm.filter_groups.enable=true drops every group whose {metric} is the same for "
            f"all its samples; under {config.algorithm.adv_estimator} a group of equal failures is a phase-1 group "
            "with negative advantages (CoRPO's correctness-seeking signal), so the filter removes that signal; "
            f"{counted} (docs/verl_versions.md#dapos-group-filter)")


@hydra.main(config_path="config", config_name="corpo_trainer", version_base=None)
def main(config: DictConfig) -> None:
    auto_set_device(config)
    check_trainer_mode(config)
    require_estimator(config.algorithm.adv_estimator)
    if warning := warn_filter_groups(config):
        print(warning)
    check_resume_config(config.trainer)
    validate_config(
        config=config,
        use_reference_policy=need_reference_policy(config),
        use_critic=need_critic(config),
    )
    forwarded = forward_to_ray(config)
    if forwarded:
        print(f"[corpo] passed to every Ray process (ray_kwargs.ray_init.runtime_env.env_vars): {', '.join(forwarded)}")
    with NodeWatch(TASK_RUNNER_NAME) as watch:
        try:
            run_ppo(config, task_runner_class=ray.remote(CorpoTaskRunner).options(**TASK_RUNNER_OPTIONS))
        except ray.exceptions.RayActorError as err:  # also a trainer error caused by an actor that died
            if died := watch.died(timeout_s=30):
                raise NodeDiedError(died) from err
            raise


if __name__ == "__main__":
    main()

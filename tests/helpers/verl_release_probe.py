"""Run inside one verl release's environment: the estimator and the reward through that release's
own code, as a stock ``python -m verl.trainer.main_ppo`` run with the documented overrides uses them.

    python tests/helpers/verl_release_probe.py            # in this process
    python tests/helpers/verl_release_probe.py --ray      # in a Ray actor started by the release's own run_ppo

1. the release's trainer config (its ``ppo_trainer.yaml``, composed by Hydra as its main does) with
   ``algorithm.adv_estimator=corpo``, ``+algorithm.corpo.r_min_correct=0.5`` and the release's reward
   overrides (``corpo_advantage.verl_releases``);
2. the reward loaded by the release's ``get_custom_reward_fn`` from that config, and called;
3. advantages from the release's ``ray_trainer.compute_advantage`` on a ``DataProto``, called with
   the arguments its trainer passes.

With ``--ray`` steps 2 and 3 run in the TaskRunner actor that the release's ``run_ppo`` starts (the
process that computes advantages in a real run), so the variables the run was given must reach it.
Prints one JSON line: the verl version, whether ``import verl`` registered the estimator, the reward
and the advantages (tests/test_verl_releases.py checks them).
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import version

RESPONSE = "<think>A is right, B overflows.</think> \\boxed{9, 1}"
GROUND_TRUTH = json.dumps({"labels": [1, 0]})
#: group "g": mean 0.2 < r_min_correct 0.5, so the baseline is 0.5 (with the default 0.0 it would be
#: the mean); group "h": mean 0.8 >= 0.5, GRPO's mean baseline
REWARDS = [0.1, 0.3, 0.6, 1.0]
UIDS = ["g", "g", "h", "h"]
OVERRIDES = ["algorithm.adv_estimator=corpo", "+algorithm.corpo.r_min_correct=0.5"]


def release_config():
    from hydra import compose, initialize_config_dir

    import verl
    from corpo_advantage.verl_releases import how_found

    config_dir = os.path.join(os.path.dirname(verl.__file__), "trainer", "config")
    overrides = [*OVERRIDES, *how_found(version("verl")).reward_overrides, "trainer.device=cpu"]
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


def probe(config) -> dict:
    """Steps 2 and 3 in this process."""
    import numpy as np
    import torch

    import verl
    from verl import DataProto
    from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY

    result = {"verl": verl.__version__, "pid": os.getpid(), "registered_at_import": "corpo" in ADV_ESTIMATOR_REGISTRY}
    from verl.trainer.ppo.reward import get_custom_reward_fn

    reward_fn = get_custom_reward_fn(config)
    result["reward"] = reward_fn(data_source="probe", solution_str=RESPONSE, ground_truth=GROUND_TRUTH, extra_info={})
    result["registered_after_reward_load"] = "corpo" in ADV_ESTIMATOR_REGISTRY

    from verl.trainer.ppo.ray_trainer import compute_advantage

    mask = torch.ones(len(REWARDS), 3, dtype=torch.int64)
    token_rewards = torch.zeros(len(REWARDS), 3)
    token_rewards[:, -1] = torch.tensor(REWARDS)
    batch = DataProto.from_dict(tensors={"token_level_rewards": token_rewards, "response_mask": mask},
                                non_tensors={"uid": np.array(UIDS, dtype=object)})
    algorithm = config.algorithm
    out = compute_advantage(batch, adv_estimator=algorithm.adv_estimator, gamma=algorithm.gamma, lam=algorithm.lam,
                            num_repeat=2, norm_adv_by_std_in_grpo=algorithm.get("norm_adv_by_std_in_grpo", True),
                            config=algorithm)
    result["advantages"] = out.batch["advantages"][:, 0].tolist()
    return result


def probe_in_ray(config) -> dict:
    """Steps 2 and 3 in the TaskRunner actor of the release's own ``run_ppo``."""
    import tempfile

    import ray
    from omegaconf import open_dict
    from verl.trainer.main_ppo import run_ppo

    with tempfile.TemporaryDirectory() as folder:
        output = os.path.join(folder, "result.json")

        class ProbeRunner:  # run_ppo discards what run returns: the actor writes it down
            def run(self, config):
                with open(output, "w") as file:
                    json.dump(probe(config), file)

        with open_dict(config):
            config.ray_kwargs.ray_init.num_cpus = 1
            config.ray_kwargs.ray_init.include_dashboard = False
        run_ppo(config, task_runner_class=ray.remote(num_cpus=1)(ProbeRunner))
        ray.shutdown()
        with open(output) as file:
            return {**json.load(file), "driver_pid": os.getpid()}


if __name__ == "__main__":
    cfg = release_config()
    print(json.dumps(probe_in_ray(cfg) if "--ray" in sys.argv[1:] else probe(cfg)))

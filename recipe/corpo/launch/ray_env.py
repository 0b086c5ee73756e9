"""The environment variables a run needs in its Ray processes, in one place, and how they get there.

Ray starts the processes of a run (the trainer, FSDP workers, rollout servers, reward workers) from
the raylet of each node, with the environment of the ``ray start`` that started that node, never
with the driver's. A variable exported by the script that launches the run reaches them only
inside Ray's runtime environment (``ray_kwargs.ray_init.runtime_env.env_vars``, which verl's
``ray.init`` passes on). On a local cluster that the driver's ``ray.init`` starts, the processes
happen to inherit the driver's environment; on a cluster started with ``ray start``
(``scripts/ray_multinode.sh``) they do not, and e.g. a CPU run fails on every worker with
``Distributed package doesn't have NCCL built in`` because ``VERL_PLATFORM`` never arrived.

- ``RAY_PROCESS_ENV``: read inside Ray processes on any node. ``recipe.corpo.main_corpo`` adds
  every one that is set in its environment to ``ray_kwargs.ray_init.runtime_env.env_vars`` (a
  value given there explicitly wins), for every run: the tiny CPU run, the paper runs, a job
  submitted to a multi-node cluster.
- ``SCRIPT_ENV``: read by the run scripts themselves (``scripts/run_*.sh``, ``paper_common.sh``),
  i.e. by a job's driver. ``scripts/ray_multinode.sh submit`` hands the variables of both lists
  that are set in the submitting shell to the job (``python -m recipe.corpo.launch.ray_env``).

Credentials (``HF_TOKEN``, ``WANDB_API_KEY``, ...) are deliberately in neither list: verl prints
the runtime environment in its log. Set them in each node's environment before ``ray start``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from omegaconf import DictConfig, open_dict

RAY_PROCESS_ENV = (
    "VERL_USE_EXTERNAL_MODULES",  # loads the CPU backend (recipe.corpo.cpu_backend) in every verl process
    "VERL_PLATFORM",  # selects the CPU backend's platform (gloo, no CUDA)
    "VERL_USE_EXTERNAL_PLUGINS",  # `none` switches verl's plugins (this package's estimators) off
    "VERL_LOGGING_LEVEL",
    "CORPO_CPU_SKIP_WEIGHT_SYNC",  # the CPU backend's broken-weight-sync switch (hf_rollout.SKIP_SYNC_ENV)
    "TENSORBOARD_DIR",  # verl's tensorboard logger, in the trainer's actor (recipe.corpo.reports.plot_diagnostics)
    "WANDB_MODE",
    "TOKENIZERS_PARALLELISM",  # verl sets its own default only where the driver has none
    "PYTHONUNBUFFERED",
    "HF_HOME",  # where a hub model name is downloaded to and looked up, on every node
    "HF_HUB_OFFLINE",
    "VLLM_CPU_KVCACHE_SPACE",  # vLLM's CPU KV cache (GiB), read by the rollout server (run_corpo_tiny_cpu.sh)
)

SCRIPT_ENV = (
    "PYTHON",  # the interpreter the scripts run (the same path on every node)
    "NNODES",
    "N_GPUS_PER_NODE",
    "OUT_DIR",
    "DRY_RUN",
    "MODEL_PATH",  # paper scripts
    "DATA_DIR",
    "ROLLOUT_TP",
    "ATTN_IMPL",  # paper scripts: the attention kernel (docs/gpu.md)
    "PREFLIGHT",  # paper scripts: PREFLIGHT=0 skips recipe.corpo.launch.preflight
    "STEPS",  # run_corpo_tiny_cpu.sh
    "TIMEOUT_S",
    "CORPO_TINY_HOME",
)


def forward_to_ray(config: DictConfig, environ: Mapping[str, str] = os.environ) -> list[str]:
    """Add each ``RAY_PROCESS_ENV`` variable set in ``environ`` to the Ray runtime environment of ``config``.

    A variable the config already sets in ``ray_kwargs.ray_init.runtime_env.env_vars`` keeps the
    config's value. Returns the names added.
    """
    added = []
    with open_dict(config):
        runtime_env = config.ray_kwargs.ray_init.setdefault("runtime_env", {})
        if runtime_env.get("env_vars") is None:
            runtime_env["env_vars"] = {}
        env_vars = runtime_env["env_vars"]
        for name in RAY_PROCESS_ENV:
            if environ.get(name) and name not in env_vars:
                env_vars[name] = environ[name]
                added.append(name)
    return added


def job_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The variables of both lists set (non-empty) in ``environ``: what a submitted job's driver gets."""
    return {name: environ[name] for name in (*SCRIPT_ENV, *RAY_PROCESS_ENV) if environ.get(name)}


def main() -> None:
    """Print ``NAME=VALUE`` for each variable of ``job_environment()``, NUL-separated (for bash's ``mapfile -d ''``)."""
    for name, value in job_environment().items():
        sys.stdout.write(f"{name}={value}\0")


if __name__ == "__main__":
    main()

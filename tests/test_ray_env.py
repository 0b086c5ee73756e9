"""recipe.corpo.launch.ray_env: the one list of variables Ray processes need, and how they get there."""

import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from recipe.corpo.cpu_backend.hf_rollout import SKIP_SYNC_ENV
from recipe.corpo.launch.ray_env import (
    RAY_PROCESS_ENV,
    SCRIPT_ENV,
    forward_to_ray,
    job_environment,
)

REPO = Path(__file__).resolve().parents[1]


def _recipe_config(*overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "recipe" / "corpo" / "config"), version_base=None):
        return compose(config_name="corpo_trainer", overrides=list(overrides))


def test_the_cpu_backend_and_the_loggers_are_listed():
    for name in ("VERL_USE_EXTERNAL_MODULES", "VERL_PLATFORM", SKIP_SYNC_ENV, "TENSORBOARD_DIR"):
        assert name in RAY_PROCESS_ENV
    for name in ("NNODES", "N_GPUS_PER_NODE", "MODEL_PATH", "DATA_DIR", "OUT_DIR", "STEPS", "PYTHON"):
        assert name in SCRIPT_ENV
    assert not {"HF_TOKEN", "WANDB_API_KEY"} & {*RAY_PROCESS_ENV, *SCRIPT_ENV}  # verl prints the runtime env


def test_set_variables_join_the_recipe_configs_runtime_env_and_explicit_values_win():
    config = _recipe_config("+ray_kwargs.ray_init.runtime_env.env_vars.TENSORBOARD_DIR=/explicit")
    environ = {"VERL_PLATFORM": "cpu", "VERL_USE_EXTERNAL_MODULES": "recipe.corpo.cpu_backend",
               "TENSORBOARD_DIR": "/from/env", "WANDB_MODE": "", "UNLISTED": "x"}
    added = forward_to_ray(config, environ)
    env_vars = OmegaConf.to_container(config.ray_kwargs.ray_init.runtime_env.env_vars)
    assert added == ["VERL_USE_EXTERNAL_MODULES", "VERL_PLATFORM"]
    assert env_vars == {"TENSORBOARD_DIR": "/explicit", "VERL_USE_EXTERNAL_MODULES": "recipe.corpo.cpu_backend",
                        "VERL_PLATFORM": "cpu"}


def test_a_config_without_env_vars_gets_them():
    config = _recipe_config()
    assert forward_to_ray(config, {"VERL_PLATFORM": "cpu"}) == ["VERL_PLATFORM"]
    assert config.ray_kwargs.ray_init.runtime_env.env_vars.VERL_PLATFORM == "cpu"
    assert forward_to_ray(config, {}) == []


def test_the_job_gets_both_lists_nul_separated():
    assert job_environment({"NNODES": "2", "VERL_PLATFORM": "cpu", "STEPS": "", "HF_TOKEN": "secret"}) == {
        "NNODES": "2", "VERL_PLATFORM": "cpu"}
    env = {"PATH": "/usr/bin:/bin", "NNODES": "2", "OUT_DIR": "/a b/c", "HF_TOKEN": "secret"}
    printed = subprocess.run([sys.executable, "-m", "recipe.corpo.launch.ray_env"], env=env, cwd=REPO, capture_output=True,
                             check=True).stdout
    assert printed.split(b"\0") == [b"NNODES=2", b"OUT_DIR=/a b/c", b""]


# Read by the scripts but set by them, by the shell or by Ray itself, never by the user for the job.
_NOT_FORWARDED = {"BASH_SOURCE", "PIPESTATUS", "RAY_ADDRESS", "HOME", "EXTRAS", "VENV"}


def test_every_variable_the_run_scripts_read_is_listed():
    """A variable a run script reads must reach a submitted job (and its Ray processes if they read it)."""
    import re

    scripts = ["run_corpo_tiny_cpu.sh", "paper_common.sh", "run_corpo_qwen3_8b.sh", "run_grpo_qwen3_8b.sh",
               "run_static_qwen3_8b.sh"]
    read = set()
    for name in scripts:
        text = (REPO / "scripts" / name).read_text()
        read |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    missing = read - set(SCRIPT_ENV) - set(RAY_PROCESS_ENV) - _NOT_FORWARDED
    assert not missing, f"add these to recipe/corpo/launch/ray_env.py: {sorted(missing)}"

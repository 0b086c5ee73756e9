"""The paper's three run scripts compose valid verl 0.9.1 configs (DRY_RUN) that differ only in the estimator.

Each script runs for real in DRY_RUN mode (Hydra's ``--cfg job --resolve`` on the recipe's main):
Hydra rejects any override verl's config does not have, and verl's own ``validate_config`` and
config dataclasses check the values. The dry runs start in parallel (each imports verl).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf
from verl.trainer.ppo.utils import need_critic, need_reference_policy
from verl.utils.config import omega_conf_to_dataclass, validate_config

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = {"corpo": "run_corpo_qwen3_8b.sh", "grpo": "run_grpo_qwen3_8b.sh", "corpo_static": "run_static_qwen3_8b.sh"}
pytestmark = pytest.mark.filterwarnings("ignore:Disabled critic")
ENV = {"DRY_RUN": "1", "PYTHON": sys.executable, "DATA_DIR": "/data/corpo", "MODEL_PATH": "/models/qwen3-8b"}
#: all that may differ between the three runs: the estimator and the names and folders named after it
DERIVED = (
    "algorithm.adv_estimator",
    "trainer.experiment_name",
    "actor_rollout_ref.rollout.trace.experiment_name",
    "trainer.default_local_dir",
    "ray_kwargs.ray_init.runtime_env.env_vars.TENSORBOARD_DIR",
)


def _start(script: str, *overrides: str, **env) -> subprocess.Popen:
    environment = {key: value for key, value in {**os.environ, **ENV}.items() if key != "OUT_DIR"}  # default OUT_DIR
    environment.update(env)
    return subprocess.Popen(["bash", str(REPO / "scripts" / script), *overrides], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


@pytest.fixture(scope="module")
def dry_runs():
    """All dry runs of this module, started at once."""
    started = {name: _start(script) for name, script in SCRIPTS.items()}
    started["overrides"] = _start(SCRIPTS["corpo"], "algorithm.corpo.r_min_correct=0.25", "trainer.total_epochs=3",
                                  NNODES="4", N_GPUS_PER_NODE="8", ROLLOUT_TP="4", OUT_DIR="/shared/corpo_out",
                                  ATTN_IMPL="sdpa")
    started["bad_key"] = _start(SCRIPTS["corpo"], "algorithm.no_such_key=1")
    return {name: _finish(process) for name, process in started.items()}


@pytest.fixture(scope="module")
def configs(dry_runs):
    parsed = {}
    for name in (*SCRIPTS, "overrides"):
        returncode, stdout, stderr = dry_runs[name]
        assert returncode == 0, stderr[-3000:]
        parsed[name] = yaml.safe_load(stdout)
    return parsed


def _flatten(tree, prefix=""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _flatten(value, f"{prefix}{key}.")
    else:
        yield prefix[:-1], json.dumps(tree)


def test_paper_settings(configs):
    cfg = configs["corpo"]
    actor, rollout, data = cfg["actor_rollout_ref"]["actor"], cfg["actor_rollout_ref"]["rollout"], cfg["data"]
    assert cfg["algorithm"]["adv_estimator"] == "corpo"
    assert cfg["actor_rollout_ref"]["model"]["path"] == "/models/qwen3-8b"
    assert data["max_prompt_length"] + data["max_response_length"] == 16384
    assert rollout["prompt_length"] + rollout["response_length"] == 16384  # what vLLM gets, resolved
    assert data["train_batch_size"] == 512
    # one policy update per batch of rollouts: mini-batch == batch (both in prompts), one epoch
    assert actor["ppo_mini_batch_size"] == data["train_batch_size"] and actor["ppo_epochs"] == 1
    assert actor["optim"]["lr"] == 1e-6
    assert actor["strategy"] == "fsdp2" and rollout["name"] == "vllm"
    assert rollout["n"] == 8 and rollout["val_kwargs"]["n"] == 16 and rollout["val_kwargs"]["do_sample"] is True
    assert "hf_model" in actor["checkpoint"]["save_contents"]  # evaluate takes actor/huggingface as is
    assert cfg["trainer"]["max_actor_ckpt_to_keep"] == 1  # ~131 GB per Qwen3-8B checkpoint: only the latest
    # entropy in 2,048-token chunks, in the engine that computes it (an interpolation of the actor's key)
    assert actor["entropy_from_logits_with_chunking"] is True
    assert actor["fsdp_config"]["entropy_from_logits_with_chunking"] is True
    assert cfg["actor_rollout_ref"]["model"]["override_config"]["attn_implementation"] == "flash_attention_2"
    assert data["val_files"] == [f"/data/corpo/{s}.parquet" for s in ("val_code_id", "val_code_ood", "val_math_ood")]
    assert 0 < cfg["trainer"]["test_freq"] <= 10 and cfg["trainer"]["val_before_train"] is True
    assert "tensorboard" in cfg["trainer"]["logger"]
    assert cfg["ray_kwargs"]["ray_init"]["runtime_env"]["env_vars"]["TENSORBOARD_DIR"] == str(
        REPO / "outputs" / "paper" / "corpo" / "tensorboard"
    )


def test_the_three_runs_differ_only_in_the_estimator(configs):
    flat = {name: dict(_flatten(configs[name])) for name in SCRIPTS}
    for name in SCRIPTS:
        differing = {key for key in flat["corpo"].keys() | flat[name].keys() if flat["corpo"].get(key) != flat[name].get(key)}
        assert differing == (set(DERIVED) if name != "corpo" else set()), differing
        out = REPO / "outputs" / "paper" / name
        expected = {
            "algorithm.adv_estimator": name,
            "trainer.experiment_name": f"qwen3_8b_{name}",
            "actor_rollout_ref.rollout.trace.experiment_name": f"qwen3_8b_{name}",  # verl's interpolation of it
            "trainer.default_local_dir": str(out / "checkpoints"),
            "ray_kwargs.ray_init.runtime_env.env_vars.TENSORBOARD_DIR": str(out / "tensorboard"),
        }
        assert {key: json.loads(flat[name][key]) for key in DERIVED} == expected


def test_composed_configs_pass_verls_own_checks(configs):
    for name in (*SCRIPTS, "overrides"):
        config = OmegaConf.create(configs[name])
        validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))
        assert not need_reference_policy(config) and not need_critic(config)  # no KL, no critic: GRPO-style
        omega_conf_to_dataclass(config.actor_rollout_ref.rollout)
        omega_conf_to_dataclass(config.actor_rollout_ref.actor.checkpoint)


def test_environment_and_overrides_pass_through(configs):
    cfg = configs["overrides"]
    assert cfg["algorithm"]["corpo"]["r_min_correct"] == 0.25 and cfg["trainer"]["total_epochs"] == 3
    assert cfg["trainer"]["nnodes"] == 4 and cfg["trainer"]["n_gpus_per_node"] == 8
    assert cfg["actor_rollout_ref"]["rollout"]["tensor_model_parallel_size"] == 4
    assert cfg["trainer"]["default_local_dir"] == "/shared/corpo_out/checkpoints"
    assert cfg["actor_rollout_ref"]["model"]["override_config"]["attn_implementation"] == "sdpa"
    assert cfg["ray_kwargs"]["ray_init"]["runtime_env"]["env_vars"]["TENSORBOARD_DIR"] == "/shared/corpo_out/tensorboard"


def test_unknown_override_is_rejected(dry_runs):
    returncode, stdout, stderr = dry_runs["bad_key"]
    assert returncode != 0 and "no_such_key" in stderr and stdout.strip() == ""


def test_dry_run_starts_no_ray_and_creates_nothing(dry_runs, configs):
    assert not (Path("/shared/corpo_out")).exists()
    assert all("ray init kwargs" not in dry_runs[name][1] + dry_runs[name][2] for name in SCRIPTS)
    # DRY_RUN composes the config only: no preflight (the data and model paths here do not exist)
    assert all("[preflight]" not in dry_runs[name][2] for name in (*SCRIPTS, "overrides"))



def test_the_paper_runs_resume_by_default(configs):
    """Rerunning a paper script resumes: auto mode, a checkpoint folder that does not change between
    runs (no timestamp), and checkpoints to resume from."""
    for name in SCRIPTS:
        trainer = configs[name]["trainer"]
        assert trainer["resume_mode"] == "auto" and trainer["save_freq"] > 0
        assert trainer["default_local_dir"] == str(REPO / "outputs" / "paper" / name / "checkpoints")

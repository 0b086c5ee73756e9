"""The paper's three run scripts compose valid verl 0.9.1 configs (DRY_RUN) that differ only in the estimator."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf
from verl.trainer.ppo.utils import need_critic, need_reference_policy
from verl.utils.config import validate_config

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = {"corpo": "run_corpo_qwen3_8b.sh", "grpo": "run_grpo_qwen3_8b.sh", "corpo_static": "run_static_qwen3_8b.sh"}


def _dry_run(script: str, *overrides: str) -> dict:
    env = {**os.environ, "DRY_RUN": "1", "PYTHON": sys.executable, "DATA_DIR": "/data/corpo", "MODEL_PATH": "/models/qwen3-8b"}
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / script), *overrides], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def configs():
    return {estimator: _dry_run(script) for estimator, script in SCRIPTS.items()}


def _flatten(tree, prefix=""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _flatten(value, f"{prefix}{key}.")
    else:
        yield prefix[:-1], tree


def test_paper_settings(configs):
    cfg = configs["corpo"]
    assert cfg["algorithm"]["adv_estimator"] == "corpo"
    assert cfg["actor_rollout_ref"]["model"]["path"] == "/models/qwen3-8b"
    assert cfg["data"]["max_prompt_length"] + cfg["data"]["max_response_length"] == 16384
    assert cfg["data"]["train_batch_size"] == 512
    assert cfg["actor_rollout_ref"]["actor"]["ppo_mini_batch_size"] == 512  # one update per batch
    assert cfg["actor_rollout_ref"]["actor"]["ppo_epochs"] == 1
    assert cfg["actor_rollout_ref"]["actor"]["optim"]["lr"] == 1e-6
    assert cfg["actor_rollout_ref"]["rollout"]["n"] == 8
    assert cfg["actor_rollout_ref"]["rollout"]["name"] == "vllm"
    assert cfg["actor_rollout_ref"]["rollout"]["val_kwargs"]["n"] == 16
    assert cfg["data"]["val_files"] == [f"/data/corpo/{s}.parquet" for s in ("val_code_id", "val_code_ood", "val_math_ood")]


def test_the_three_runs_differ_only_in_the_estimator(configs):
    flat = {name: dict(_flatten(cfg)) for name, cfg in configs.items()}
    for name in ("grpo", "corpo_static"):
        differing = {key for key in flat["corpo"].keys() | flat[name].keys() if flat["corpo"].get(key) != flat[name].get(key)}
        assert differing == {"algorithm.adv_estimator", "trainer.experiment_name", "trainer.default_local_dir"}, differing
        assert flat[name]["algorithm.adv_estimator"] == name


def test_composed_config_passes_verls_own_validation(configs):
    config = OmegaConf.create(configs["corpo"])
    validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))


def test_overrides_pass_through_and_bad_keys_are_rejected():
    cfg = _dry_run("run_corpo_qwen3_8b.sh", "algorithm.corpo.r_min_correct=0.25", "trainer.nnodes=4")
    assert cfg["algorithm"]["corpo"]["r_min_correct"] == 0.25 and cfg["trainer"]["nnodes"] == 4
    env = {**os.environ, "DRY_RUN": "1", "PYTHON": sys.executable}
    bad = subprocess.run(["bash", str(REPO / "scripts" / SCRIPTS["corpo"]), "algorithm.no_such_key=1"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "no_such_key" in bad.stderr

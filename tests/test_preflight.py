"""The paper runs' preflight (recipe.corpo.preflight): what is missing, and how to get it, in seconds.

The script test runs ``scripts/run_corpo_qwen3_8b.sh`` as a user would on a machine without the
paper's hardware (this one, CI): no data, the default Hub model with the Hub unreachable, no GPUs.
Before the preflight existed the script printed its config and then waited silently for 8 GPUs.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from recipe.corpo import preflight

REPO = Path(__file__).resolve().parents[1]
UNREACHABLE_HUB = "http://127.0.0.1:9"  # the discard port: connection refused at once


def _args(tmp_path: Path, *overrides: str):
    return preflight.parse_args(["--data-dir", str(tmp_path), "--model", str(tmp_path), "--nnodes", "1",
                                 "--gpus-per-node", "0", "--", *overrides])


def test_the_paper_script_stops_in_seconds_saying_what_is_missing(tmp_path):
    data_dir, out_dir, hf_home = tmp_path / "data", tmp_path / "out", tmp_path / "hf_home"
    env = {key: value for key, value in os.environ.items() if key not in ("RAY_ADDRESS", "HF_HUB_OFFLINE", "DRY_RUN")}
    env.update(PYTHON=sys.executable, DATA_DIR=str(data_dir), OUT_DIR=str(out_dir), HF_HOME=str(hf_home),
               HF_ENDPOINT=UNREACHABLE_HUB)  # MODEL_PATH, NNODES, N_GPUS_PER_NODE: the defaults
    started = time.monotonic()
    result = subprocess.run(["bash", str(REPO / "scripts" / "run_corpo_qwen3_8b.sh")], env=env,
                            capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    message = result.stderr
    assert result.returncode != 0, message
    assert elapsed < 60, f"the preflight took {elapsed:.0f} s"  # a hang (the old behaviour) never ends
    assert "[preflight] run_corpo" in message and "cannot start" in message, message
    assert f"no such file: {data_dir}/train.parquet" in message and "val_math_ood.parquet" in message
    assert "scripts/prepare_data.sh" in message
    assert "model: MODEL_PATH=Qwen/Qwen3-8B is a Hub name" in message and UNREACHABLE_HUB in message
    assert "huggingface-cli download Qwen/Qwen3-8B" in message
    gpus_here, _ = preflight._local_gpus()
    if gpus_here < 8:
        assert f"GPUs: NNODES=1 x N_GPUS_PER_NODE=8 = 8 GPUs needed, {gpus_here} found" in message
    if preflight._installed("vllm") is None:
        assert "vLLM: " in message and "pip install -e '.[vllm]'" in message
    if importlib.util.find_spec("flash_attn") is None:
        assert "flash_attn is not installed" in message and preflight.FLASH_ATTN_INSTALL in message
        assert "ATTN_IMPL=sdpa" in message
    assert "ray init kwargs" not in result.stdout + message  # Ray never started
    assert not out_dir.exists()


def test_data_check_names_each_missing_file_and_passes_when_all_are_there(tmp_path):
    args = _args(tmp_path)
    assert [Path(f).name for f in args.train_files + args.val_files] == list(preflight.DATA_FILES)
    assert len(preflight.check_data(args.train_files + args.val_files)[0].what.split(", ")) == 4
    for name in preflight.DATA_FILES:
        pd.DataFrame({"a": [1]}).to_parquet(tmp_path / name)
    assert preflight.check_data(args.train_files + args.val_files) == []


def test_hydra_overrides_win_over_the_environment(tmp_path):
    train = tmp_path / "mine.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(train)
    args = _args(tmp_path, f"data.train_files={train}", f"data.val_files=[{train},{train}]", "trainer.nnodes=2",
                 "++actor_rollout_ref.model.override_config.attn_implementation=sdpa",
                 "actor_rollout_ref.model.path=/elsewhere/model")
    assert args.train_files == [str(train)] and args.val_files == [str(train), str(train)]
    assert args.nnodes == 2 and args.attn_implementation == "sdpa" and args.model == "/elsewhere/model"
    assert preflight.check_data(args.train_files + args.val_files) == []
    assert preflight.check_attention("sdpa") == []


def test_model_check_local_folders_and_the_hub(tmp_path, monkeypatch):
    model = tmp_path / "model"
    [problem] = preflight.check_model(str(model))
    assert "no such folder" in problem.what
    model.mkdir()
    assert "no config.json" in preflight.check_model(str(model))[0].what
    (model / "config.json").write_text("{}")
    assert preflight.check_model(str(model)) == []

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf_home" / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    [problem] = preflight.check_model("someone/some-model")
    assert "HF_HUB_OFFLINE" in problem.what and "huggingface-cli download someone/some-model" in problem.fix


def test_enough_gpus_is_not_a_problem():
    assert preflight.check_gpus(nnodes=1, gpus_per_node=0) == []
    [problem] = preflight.check_gpus(nnodes=1, gpus_per_node=100_000)
    assert "100000 GPUs needed" in problem.what

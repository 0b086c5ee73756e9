"""The paper runs' preflight (recipe.corpo.launch.preflight): what is missing, and how to get it, in seconds.

The script test runs ``scripts/run_corpo_qwen3_8b.sh`` as a user would on a machine without the
paper's hardware (this one, CI): no data, the default Hub model with the Hub unreachable, no GPUs.
Before the preflight existed the script printed its config and then waited silently for 8 GPUs.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from recipe.corpo.launch import preflight, ray_processes
from recipe.corpo.launch.installed import installed_version
from tests.helpers.loopback_namespace import assert_loopback_only
from tests.helpers.tiny_run import address_files, read_default_address

REPO = Path(__file__).resolve().parents[1]
UNREACHABLE_HUB = "http://127.0.0.1:9"  # the discard port: connection refused at once


def _args(tmp_path: Path, *overrides: str):
    return preflight.parse_args(["--data-dir", str(tmp_path), "--model", str(tmp_path), "--nnodes", "1",
                                 "--gpus-per-node", "0", "--", *overrides])


def _paper_script(tmp_path: Path, script: str, **extra_env) -> tuple[subprocess.CompletedProcess, float]:
    """Run a script as a user would here: no data, the default Hub model with the Hub unreachable."""
    env = {key: value for key, value in os.environ.items() if key not in ("RAY_ADDRESS", "HF_HUB_OFFLINE", "DRY_RUN")}
    env.update(PYTHON=sys.executable, DATA_DIR=str(tmp_path / "data"), OUT_DIR=str(tmp_path / "out"),
               HF_HOME=str(tmp_path / "hf_home"), HF_ENDPOINT=UNREACHABLE_HUB, **extra_env)
    started = time.monotonic()  # MODEL_PATH, NNODES, N_GPUS_PER_NODE: the defaults
    result = subprocess.run(["bash", str(REPO / "scripts" / script)], env=env, capture_output=True, text=True,
                            timeout=300)
    return result, time.monotonic() - started


def test_the_paper_script_stops_in_seconds_saying_what_is_missing(tmp_path):
    data_dir, out_dir = tmp_path / "data", tmp_path / "out"
    result, elapsed = _paper_script(tmp_path, "run_corpo_qwen3_8b.sh")
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
    if installed_version("vllm") is None:
        assert "vLLM: " in message and "pip install -e '.[recipe,vllm]'" in message
    if importlib.util.find_spec("flash_attn") is None:
        assert "flash_attn is not installed" in message and preflight.FLASH_ATTN_INSTALL in message
        assert "ATTN_IMPL=sdpa" in message
    assert "ray init kwargs" not in result.stdout + message  # Ray never started
    assert not out_dir.exists()


def test_the_main_job_on_a_gpu_machine_gets_the_same_preflight(tmp_path):
    result, elapsed = _paper_script(tmp_path, "run_main_job.sh", MAIN_JOB="paper")
    assert result.returncode != 0 and elapsed < 60
    assert "[main job] MAIN_JOB=paper: the paper's run" in result.stdout
    assert "[preflight] run_corpo" in result.stderr and "no such file" in result.stderr


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


GCS_PORT = 6379  # Ray's default: the namespace's ports are the test's own
#: the preflight's questions, asked from inside the namespace (RAY_ADDRESS: the cluster's address)
ASK_CLUSTER = """
import json, os, time
from recipe.corpo.launch import preflight
address = os.environ["RAY_ADDRESS"]
deadline = time.monotonic() + 90
while (found := preflight._cluster_gpus(address))[0] is None and time.monotonic() < deadline:
    time.sleep(2)
print(json.dumps({"found": found,
                  "3x1": [p.what for p in preflight.check_gpus(nnodes=3, gpus_per_node=1)],
                  "2x2": [p.what for p in preflight.check_gpus(nnodes=2, gpus_per_node=2)]}))
"""


def test_gpus_are_counted_in_the_ray_cluster_the_run_joins(loopback):
    """A real one-node Ray cluster (``ray start --head``, 3 logical GPUs) in a network namespace whose
    only address is 127.0.0.1, with a Ray folder of its own; the preflight asks it from inside the
    namespace. Stopped by process id afterwards, leaving no process and no ``ray_current_cluster``."""
    ray_tmp = tempfile.mkdtemp(prefix="corpo-pf-ray-")
    # RAY_AUTH_MODE: Ray turns token auth on when ~/.ray/auth_token exists
    env = {**os.environ, "RAY_TMPDIR": ray_tmp, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    address, default_address = f"127.0.0.1:{GCS_PORT}", read_default_address()
    with loopback.watching() as listened:
        head = subprocess.Popen(loopback.command([
            str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", f"--port={GCS_PORT}",
            "--node-ip-address=127.0.0.1", "--num-cpus=1", "--num-gpus=3", "--include-dashboard=false"]),
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            asked = subprocess.run(loopback.command([sys.executable, "-c", ASK_CLUSTER]), cwd=REPO, timeout=240,
                                   env={**env, "RAY_ADDRESS": address}, capture_output=True, text=True)
        finally:
            head.terminate()
            head.wait(timeout=30)
            ray_processes.stop(Path(ray_tmp) / "ray", grace_s=10.0)  # the head's processes, and its address file
            left, files = loopback.kill_processes(), address_files(ray_tmp)
            shutil.rmtree(ray_tmp, ignore_errors=True)
    assert asked.returncode == 0, asked.stderr[-3000:]
    answers = json.loads(asked.stdout.splitlines()[-1])
    assert answers["found"] == [3, f"the Ray cluster at {address!r}"], answers
    assert answers["3x1"] == []
    [problem] = answers["2x2"]
    assert f"4 GPUs needed, 3 found (the Ray cluster at {address!r})" in problem
    assert_loopback_only(loopback, listened)
    assert (ipaddress.ip_address("127.0.0.1"), GCS_PORT) in listened, sorted(listened, key=str)  # the GCS
    assert not left and not files and read_default_address() == default_address, (left, files)


def test_no_ray_cluster_is_reported_at_once(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_free_port()}")  # nothing listens there
    started = time.monotonic()
    [problem] = preflight.check_gpus(nnodes=2, gpus_per_node=8)
    assert "needs a Ray cluster" in problem.what and "Connection refused" in problem.what
    assert "ray_multinode.sh head" in problem.fix and time.monotonic() - started < 10

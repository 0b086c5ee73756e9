"""scripts/ray_multinode.sh without a cluster: the commands it builds (PRINT_ONLY), the token, its refusals.

The cluster itself runs in tests/test_multinode.py.
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from ray._private.services import resolve_ip_for_localhost

from recipe.corpo.launch.ray_env import RAY_PROCESS_ENV, SCRIPT_ENV

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "ray_multinode.sh"
RAY = str(Path(sys.executable).parent / "ray")


def _run(*args: str, home: Path, **env) -> subprocess.CompletedProcess:
    listed = {*RAY_PROCESS_ENV, *SCRIPT_ENV}
    environment = {key: value for key, value in os.environ.items() if key not in listed and not key.startswith("RAY_")}
    environment.update(PYTHON=sys.executable, HOME=str(home), RAY_TMPDIR=str(home), **env)  # never /tmp/ray
    return subprocess.run(["bash", str(SCRIPT), *args], env=environment, capture_output=True, text=True, timeout=120)


def test_submit_hands_the_listed_variables_to_the_jobs_driver(tmp_path):
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("0" * 64)
    result = _run("submit", "10.1.2.3", "scripts/run_static_qwen3_8b.sh", "trainer.test_freq=2", home=tmp_path,
                  PRINT_ONLY="1", NNODES="2", MODEL_PATH="/models/qwen3-8b", VERL_PLATFORM="cpu", HF_TOKEN="secret",
                  OUT_DIR="/shared/my runs")
    assert result.returncode == 0, result.stderr
    words = shlex.split(result.stdout)
    assert words[:4] == [RAY, "job", "submit", "--address=http://10.1.2.3:8265"] and words[4] == "--"
    entrypoint = words[5:]
    assert entrypoint[0] == "env" and entrypoint[-3:] == ["bash", str(REPO / "scripts" / "run_static_qwen3_8b.sh"),
                                                          "trainer.test_freq=2"]
    assert set(entrypoint[1:-3]) == {f"PYTHON={sys.executable}", "NNODES=2", "OUT_DIR=/shared/my runs",
                                     "MODEL_PATH=/models/qwen3-8b", "VERL_PLATFORM=cpu"}  # no credentials


def test_submit_needs_nnodes_and_the_token(tmp_path):
    missing = _run("submit", "10.1.2.3", "scripts/run_corpo_qwen3_8b.sh", home=tmp_path, PRINT_ONLY="1")
    assert missing.returncode == 2 and "NNODES" in missing.stderr
    no_token = _run("submit", "10.1.2.3", "scripts/run_corpo_qwen3_8b.sh", home=tmp_path, PRINT_ONLY="1", NNODES="2")
    assert no_token.returncode == 2 and "no Ray authentication token" in no_token.stderr
    assert str(tmp_path / ".ray" / "auth_token") in no_token.stderr
    trusted = _run("submit", "10.1.2.3", "scripts/run_corpo_qwen3_8b.sh", home=tmp_path, PRINT_ONLY="1", NNODES="2",
                   RAY_AUTH_MODE="disabled")
    assert trusted.returncode == 0, trusted.stderr


def test_head_creates_the_token_once_and_binds_node_ip(tmp_path):
    result = _run("head", "--num-gpus=1", home=tmp_path, PRINT_ONLY="1", NODE_IP="10.1.2.3", RAY_PORT="7000")
    assert result.returncode == 0, result.stderr
    token = tmp_path / ".ray" / "auth_token"
    assert token.stat().st_mode & 0o777 == 0o600 and len(token.read_text()) == 64
    assert f"created the cluster's authentication token: {token}" in result.stderr
    words = shlex.split(result.stdout)
    assert words[:3] == [RAY, "start", "--node-ip-address=10.1.2.3"] and words[-1] == "--num-gpus=1"
    for option in (f"--temp-dir={tmp_path}/ray", "--head", "--port=7000", "--dashboard-host=10.1.2.3",
                   "--dashboard-port=8265", "--dashboard-agent-listen-port=0", "--min-worker-port=0"):
        assert option in words, option
    again = _run("head", home=tmp_path, PRINT_ONLY="1", NODE_IP="10.1.2.3")
    assert again.returncode == 0 and "created" not in again.stderr and len(token.read_text()) == 64


def test_worker_joins_the_head_with_the_token_of_its_file(tmp_path):
    token = tmp_path / "cluster_token"
    no_token = _run("worker", "10.1.2.3", home=tmp_path, PRINT_ONLY="1", NODE_IP="10.1.2.4",
                    RAY_AUTH_TOKEN_PATH=str(token))
    assert no_token.returncode == 2 and f"copy the head node's token file to {token}" in no_token.stderr
    token.write_text("1" * 64)
    result = _run("worker", "10.1.2.3", home=tmp_path, PRINT_ONLY="1", NODE_IP="10.1.2.4", RAY_AUTH_TOKEN_PATH=str(token))
    assert result.returncode == 0, result.stderr
    words = shlex.split(result.stdout)
    assert "--address=10.1.2.3:6379" in words and "--node-ip-address=10.1.2.4" in words and "--head" not in words


def test_node_ip_is_required_and_never_replaced(tmp_path):
    missing = _run("head", home=tmp_path, PRINT_ONLY="1")
    assert missing.returncode == 2 and "set NODE_IP" in missing.stderr
    replaced_by = resolve_ip_for_localhost("127.0.0.1")
    if replaced_by == "127.0.0.1":
        pytest.skip("this machine has no network address: Ray keeps 127.0.0.1 here")
    loopback = _run("head", home=tmp_path, PRINT_ONLY="1", NODE_IP="127.0.0.1")
    assert loopback.returncode == 2 and f"NODE_IP=127.0.0.1: Ray would use {replaced_by} instead" in loopback.stderr
    assert not (tmp_path / ".ray").exists()  # refused before anything was created


def test_a_folder_in_use_is_refused_and_a_dead_clusters_address_file_removed(tmp_path):
    folder = tmp_path / "ray"
    folder.mkdir()
    (folder / "ray_current_cluster").write_text("10.9.9.9:6379")
    env = dict(PRINT_ONLY="1", NODE_IP="10.1.2.3", RAY_AUTH_MODE="disabled")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; f = open(sys.argv[1]); print('up', flush=True); "
                               "time.sleep(60)", str(folder / "ray_current_cluster")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "up"
        in_use = _run("head", home=tmp_path, **env)
        assert in_use.returncode == 2 and f"a Ray node already runs with the folder {folder}" in in_use.stderr
    finally:
        holder.kill()
        holder.wait()
    stale = _run("head", home=tmp_path, **env)
    assert stale.returncode == 0 and "left by a node that is gone" in stale.stderr
    assert not (folder / "ray_current_cluster").exists()

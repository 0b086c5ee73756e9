"""A CoRPO run killed like a failing node, in the middle of writing a checkpoint, and rerun: it resumes.

Through verl 0.9.1's real trainer on CPU (``scripts/run_corpo_tiny_cpu.sh``), 4 steps, a checkpoint
every 2 and validation before training and every 2 steps (as the paper scripts do, every 5):

With ``trainer.max_actor_ckpt_to_keep=1``:

1. The first run checkpoints step 2, trains step 3 and, during step 4, writes its checkpoint. The
   optimizer shard's path is a named pipe the test made, so the save blocks after the model shard is
   written; the test then SIGKILLs the driver and every Ray process of the run at once. What is left
   is a half-written ``global_step_4``.
2. The same command again: it resumes from ``global_step_2`` (the last complete checkpoint), trains
   steps 3 and 4 on the batches an uninterrupted run trains on, with the optimizer state restored,
   and logs the checkpointed step's metrics (its validation included) only once. Once its step-4
   checkpoint is complete, and not before, the step-2 one is deleted.

Each training row's prompt is tagged with its row number, so the rollouts verl dumps
(``trainer.rollout_data_dir``) tell which rows each step trained on. Both runs are in a network
namespace whose only address is 127.0.0.1 (tests/helpers/loopback_namespace.py): what they listened on could
be reached from 127.0.0.1 only, and they leave no process and no ``ray_current_cluster`` file behind.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from verl.trainer.ppo.utils import create_rl_sampler

from recipe.corpo import checkpoints
from recipe.corpo.cpu_tasks.tiny_default import ensure
from recipe.corpo.reports.plot_diagnostics import read_scalars
from tests.helpers.loopback_namespace import assert_loopback_only
from tests.helpers.tiny_run import (
    address_files,
    kill_run,
    processes_using,
    ray_processes_left,
    read_default_address,
    start,
)
from tests.helpers.tiny_run_log import step_lines

pytestmark = pytest.mark.e2e

STEPS, SAVE_FREQ, BATCH = 4, 2, 4  # BATCH: the tiny script's data.train_batch_size
RUN_TIMEOUT_S = 420
K3_KL_BOUND = 2e-3  # as in test_e2e_tiny_cpu: the rollout samples with the actor's weights
SHARD = "model_world_size_1_rank_0.pt"
BLOCKED = "optim_world_size_1_rank_0.pt"  # the pipe: the save stops between the model and the optimizer shard
_ROW_TAG = re.compile(r"\(training row (\d+)\)")


def _tagged_train_file(tiny_home: Path, out: Path) -> Path:
    """The tiny default's training rows, each prompt tagged with its row number."""
    frame = pd.read_parquet(ensure(tiny_home) / "data" / "train.parquet")
    prompts = []
    for row, prompt in enumerate(frame["prompt"]):
        messages = [dict(message) for message in prompt]
        messages[-1]["content"] = messages[-1]["content"].replace("## Problem\n", f"## Problem (training row {row})\n", 1)
        assert f"(training row {row})" in messages[-1]["content"]
        prompts.append(messages)
    frame["prompt"] = prompts
    frame.to_parquet(out)
    return out


def _wait_until_blocked(script: subprocess.Popen, actor: Path, deadline_s: float) -> None:
    """Until step 4's save has written its model shard (it then blocks on the pipe)."""
    deadline = time.monotonic() + deadline_s
    while not (actor / SHARD).exists():
        if script.poll() is not None:
            raise AssertionError(f"the run ended (rc {script.returncode}) before writing step 4's checkpoint")
        if time.monotonic() > deadline:
            raise AssertionError("step 4's checkpoint was not written in time")
        time.sleep(0.2)
    time.sleep(2.0)  # the shard is written in milliseconds; the save is now waiting on the pipe


def _adam_steps(folder: Path) -> set[float]:
    """AdamW's step counts in a checkpoint's optimizer shard."""
    state = torch.load(folder / "actor" / BLOCKED, weights_only=False)["state"]
    return {float(param["step"]) for param in state.values()}


def _rows_per_step(rollout_dir: Path) -> dict[int, list[int]]:
    """{step: sorted training rows} from verl's rollout dumps (one line per response)."""
    rows = {}
    for dump in rollout_dir.glob("*.jsonl"):
        lines = pd.read_json(dump, lines=True)
        rows[int(dump.stem)] = sorted({int(_ROW_TAG.search(text).group(1)) for text in lines["input"]})
    return rows


@pytest.fixture(scope="module")
def runs(tmp_path_factory, loopback):
    out_dir = tmp_path_factory.mktemp("resume")
    tiny_home = tmp_path_factory.getbasetemp() / "tiny_default"
    rollouts = out_dir / "rollouts"
    began = time.monotonic()
    train_file = _tagged_train_file(tiny_home, out_dir / "train_tagged.parquet")
    timings = {"tiny default": time.monotonic() - began}
    overrides = (
        f"data.train_files={train_file}",
        f"trainer.save_freq={SAVE_FREQ}", f"trainer.test_freq={SAVE_FREQ}", "trainer.val_before_train=True",
        f"trainer.rollout_data_dir={rollouts}",
        "trainer.max_actor_ckpt_to_keep=1",  # the old checkpoint goes only once the new one is complete
    )
    root = out_dir / "checkpoints"
    actor = checkpoints.step_folder(root, STEPS) / "actor"
    actor.mkdir(parents=True)
    os.mkfifo(actor / BLOCKED)
    # one Ray folder for both runs, as on a machine that restarts the job: the killed run's session
    # files stay behind and must not get in the rerun's way
    ray_tmp = tempfile.mkdtemp(prefix="corpo-e2e-ray-")
    result = {"root": root, "rollouts": rollouts, "tensorboard": out_dir / "tensorboard", "namespace": loopback}
    default_address = read_default_address()
    try:
        with open(out_dir / "first.log", "w") as console, loopback.watching() as result["listened"]:
            began = time.monotonic()
            script = start(out_dir, tiny_home, ray_tmp, overrides, namespace=loopback, steps=STEPS,
                           timeout_s=RUN_TIMEOUT_S, stdout=console)
            try:
                _wait_until_blocked(script, actor, RUN_TIMEOUT_S)
            finally:
                result["killed"] = kill_run(script, ray_tmp)
                result["left_after_kill"] = processes_using(ray_tmp) | loopback.processes()
        timings["first run, until killed"] = time.monotonic() - began
        result["first"] = (out_dir / "first.log").read_text(errors="replace")
        result["after_kill"] = {
            "tracker": checkpoints.read_tracker(root),
            "reasons": {step: checkpoints.incomplete_reason(folder)
                        for step, folder in checkpoints.checkpoint_folders(root).items()},
            "actor_files": sorted(p.name for p in actor.iterdir()),
            "rows": _rows_per_step(rollouts),
            "adam_steps": _adam_steps(checkpoints.step_folder(root, SAVE_FREQ)),
        }
        (actor / BLOCKED).unlink()  # the pipe was the test's doing; a real kill leaves the file unwritten

        began = time.monotonic()
        with loopback.watching() as listened:
            script = start(out_dir, tiny_home, ray_tmp, overrides, namespace=loopback, steps=STEPS,
                           timeout_s=RUN_TIMEOUT_S - 60)
            try:
                result["second"], _ = script.communicate(timeout=RUN_TIMEOUT_S)
                result["rc"] = script.returncode
            except subprocess.TimeoutExpired:
                kill_run(script, ray_tmp)
                result["second"], _ = script.communicate()
                result["rc"] = f"killed after {RUN_TIMEOUT_S} s"
        result["listened"] |= listened
        timings["second run"] = time.monotonic() - began
        began = time.monotonic()
        result["leftover_ray"] = ray_processes_left(ray_tmp)
        timings["Ray shutdown"] = time.monotonic() - began
    finally:
        ray_processes_left(ray_tmp, grace_s=0)
        result["leftover_namespace"] = loopback.kill_processes()
        result["leftover_address"] = address_files(ray_tmp)
        result["default_address_changed"] = read_default_address() != default_address
        shutil.rmtree(ray_tmp, ignore_errors=True)
    print("; ".join(f"{name}: {seconds:.0f} s" for name, seconds in timings.items()))
    return result


def _steps_logged(log: str) -> list[int]:
    return [step for step, _ in step_lines(log)]


def test_the_kill_left_a_half_written_checkpoint(runs):
    assert runs["killed"] and not runs["left_after_kill"], runs["left_after_kill"]
    assert _steps_logged(runs["first"]) == [0, 1, 2, 3], runs["first"][-3000:]  # 0: validation before training
    after = runs["after_kill"]
    assert after["actor_files"] == [SHARD, BLOCKED]  # the model shard of step 4, no optimizer state
    assert after["reasons"][SAVE_FREQ] is None  # global_step_2 is complete
    assert "no completion marker" in after["reasons"][STEPS]
    assert after["tracker"] == SAVE_FREQ


def test_the_rerun_resumes_from_the_last_complete_checkpoint(runs):
    second = runs["second"]
    assert runs["rc"] == 0, second[-5000:]
    assert f"[corpo] resumed from {checkpoints.step_folder(runs['root'], SAVE_FREQ)}" in second
    # the checkpointed step is not logged again: no step-2 training line, and its validation
    # (logged by the first run) is not repeated by val_before_train
    assert _steps_logged(second) == [3, 4], second[-3000:]
    assert "step 2's validation is already logged" in second
    assert checkpoints.read_tracker(runs["root"]) == STEPS
    assert checkpoints.incomplete_reason(checkpoints.step_folder(runs["root"], STEPS)) is None
    assert sorted(checkpoints.checkpoint_folders(runs["root"])) == [STEPS]  # max_actor_ckpt_to_keep=1
    assert not runs["leftover_ray"], f"Ray processes left behind: {runs['leftover_ray']}"


def test_both_runs_listened_on_127_0_0_1_only_and_left_nothing(runs):
    assert_loopback_only(runs["namespace"], runs["listened"])
    assert not runs["leftover_namespace"], f"processes left behind: {runs['leftover_namespace']}"
    # the killed run's session files stay in the Ray folder (the rerun used it): none names a cluster to join
    assert not runs["leftover_address"] and not runs["default_address_changed"], runs["leftover_address"]


def test_the_resumed_steps_train_on_the_batches_of_an_uninterrupted_run(runs):
    before, after = runs["after_kill"]["rows"], _rows_per_step(runs["rollouts"])
    assert sorted(before) == [1, 2, 3] and sorted(after) == [1, 2, 3, 4]
    assert after[3] == before[3]  # step 3 as the first run trained it
    # and as verl's sampler orders the 32 rows (an uninterrupted run), not from the start again
    order = list(create_rl_sampler(OmegaConf.create({"shuffle": True, "seed": None}), range(32)))
    expected = {step: sorted(order[(step - 1) * BATCH: step * BATCH]) for step in range(1, STEPS + 1)}
    assert {**before, **after} == expected


def test_the_optimizer_state_is_restored(runs):
    # one optimizer step per training step: a reinitialised optimizer would count 2 at step 4
    assert runs["after_kill"]["adam_steps"] == {float(SAVE_FREQ)}
    assert _adam_steps(checkpoints.step_folder(runs["root"], STEPS)) == {float(STEPS)}
    extra = torch.load(checkpoints.step_folder(runs["root"], STEPS) / "actor" / "extra_state_world_size_1_rank_0.pt",
                       weights_only=False)
    assert extra["lr_scheduler"]["last_epoch"] == STEPS
    # the resumed weights reached the rollout: it samples with the actor's policy
    for step, metrics in step_lines(runs["second"]):
        assert metrics["rollout_corr/k3_kl"] < K3_KL_BOUND, (step, metrics["rollout_corr/k3_kl"])


def test_the_diagnostics_continue_after_the_resume(runs):
    for step, metrics in step_lines(runs["second"]):
        assert not metrics["corpo/failed_pos_adv_frac"] > 0, step  # NaN: no failure in the batch
        for name in ("failed_frac", "grpo_failed_pos_adv_frac", "r_count", "r_loss", "correctness_mode_frac"):
            assert f"corpo/{name}" in metrics, (step, name)
    # tensorboard holds one value per step, the rerun's for the steps trained twice
    scalars = read_scalars(runs["tensorboard"])
    assert sorted(scalars["corpo/failed_pos_adv_frac"]) == [1, 2, 3, 4]
    validation = {tag: sorted(values) for tag, values in scalars.items() if tag.startswith("val-core/")}
    assert validation and all(steps == [0, 2, 4] for steps in validation.values()), validation
    resumed = dict(step_lines(runs["second"]))
    for step in (3, 4):
        assert scalars["critic/score/mean"][step] == pytest.approx(resumed[step]["critic/score/mean"], abs=1e-6)

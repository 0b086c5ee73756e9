"""The learning runs' warm start (recipe/corpo/cpu_tasks/learn/warm_start.py): the calibrated teacher and the cache."""

from __future__ import annotations

import dataclasses
import json
import random

import pandas as pd
import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from corpo_advantage.reward import compute_score
from recipe.corpo.cpu_tasks.learn import task
from recipe.corpo.cpu_tasks.learn.evaluation import ROWS
from recipe.corpo.cpu_tasks.learn.policy import prompt_text
from recipe.corpo.cpu_tasks.learn.warm_start import (
    COMPLETE_MARKER, PROMPT_TOKENS, RESPONSE_TOKENS, Settings, calibrated_answer, ensure, right_answer,
)

SMALL = Settings(steps=2, calibrate_steps=1, batch_size=4, hidden=32, layers=1, heads=1)


def test_the_calibrated_teacher_means_what_it_says():
    # over as many correct as incorrect candidates, a score v is right with probability v / 10
    rng = random.Random(0)
    seen = {v: [0, 0] for v in range(11)}
    for _ in range(20000):
        labels = rng.choice([[1, 0], [0, 1], [1, 1], [0, 0]])
        answer = calibrated_answer(labels, rng)
        scores = compute_score("x", answer, json.dumps({"labels": labels}))
        for v, y in zip((scores["score_a"], scores["score_b"]), labels):
            seen[int(v)][0] += y
            seen[int(v)][1] += 1
    for v, (correct, total) in seen.items():
        assert correct / total == pytest.approx(v / 10, abs=0.03), v
    # and its failures come at several reward levels (one wrong judgment, two; confident or not)
    levels = {round(compute_score("x", calibrated_answer([1, 0], rng), '{"labels": [1, 0]}')["score"], 2)
              for _ in range(2000)}
    assert len([r for r in levels if r < 0]) >= 10 and min(levels) < -0.5 < max(r for r in levels if r < 0)


def test_the_first_stages_teacher_is_right():
    for labels in ([1, 0], [0, 1], [1, 1], [0, 0]):
        assert compute_score("x", right_answer(labels), json.dumps({"labels": labels}))["score"] == pytest.approx(0.8)


def test_the_warm_start_is_built_once_and_rebuilt_for_other_settings(tmp_path):
    out = ensure(tmp_path / "learn", settings=SMALL)
    summary = json.loads((out / COMPLETE_MARKER).read_text())
    assert summary["settings"] == dataclasses.asdict(SMALL)
    assert summary["max_prompt_tokens"] <= PROMPT_TOKENS == summary["prompt_length"]
    assert summary["response_length"] == RESPONSE_TOKENS
    assert set(summary["stage_losses"]) == {"right judgments", "calibrated teacher"}
    # the judge check before any RL: every row and candidate kind of both validation groups
    assert set(summary["judge"]["pass1"]) >= set(ROWS)
    assert set(summary["judge"]["kind_accuracy"]["in_domain"]) == {"correct", *task.ERROR_KINDS}
    for split in task.SPLITS:
        rows = task.DEFAULT_SIZES[split] * (1 if split == "train" else 2)  # validation: both orders
        assert len(pd.read_parquet(out / "data" / f"{split}.parquet")) == rows

    tokenizer = AutoTokenizer.from_pretrained(out / "model")
    model = AutoModelForCausalLM.from_pretrained(out / "model")
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 1
    row = pd.read_parquet(out / "data" / "val_code_id.parquet").iloc[0]
    text = prompt_text(tokenizer, row["prompt"])
    assert text.endswith("<|im_start|>assistant\n")
    assert tokenizer.decode(tokenizer(text).input_ids) == text  # the byte-level BPE round-trips

    built = (out / COMPLETE_MARKER).stat().st_mtime_ns
    assert ensure(out, settings=SMALL) == out
    assert (out / COMPLETE_MARKER).stat().st_mtime_ns == built  # cached: not rebuilt
    ensure(out, settings=dataclasses.replace(SMALL, steps=3))
    assert json.loads((out / COMPLETE_MARKER).read_text())["settings"]["steps"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["learn"]  # no staging folder left behind

"""The learning runs' warm start (recipe/corpo/cpu_tasks/learn/warm_start.py): the noisy teacher and the cache."""

from __future__ import annotations

import dataclasses
import json
import random

import pandas as pd
import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from corpo_advantage.reward import compute_score
from recipe.corpo.cpu_tasks.learn import task
from recipe.corpo.cpu_tasks.learn.warm_start import (
    COMPLETE_MARKER,
    PROMPT_TOKENS,
    RESPONSE_TOKENS,
    Settings,
    ensure,
    prompt_text,
    teacher_answer,
)

SMALL = Settings(steps=2, hedge_steps=1, batch_size=4, hidden=32, layers=1, heads=1)


@pytest.mark.parametrize("labels", [[1, 0], [0, 1], [1, 1], [0, 0]])
def test_the_teacher_is_right_or_undecided(labels):
    rng = random.Random(0)
    truth = json.dumps({"labels": labels})
    assert all(compute_score("x", teacher_answer(labels, 0.0, rng), truth)["score"] == pytest.approx(0.8) for _ in range(20))
    judged = [compute_score("x", teacher_answer(labels, 0.3, rng), truth) for _ in range(4000)]
    undecided = sum((r["score_a"] == 5) + (r["score_b"] == 5) for r in judged) / (2 * len(judged))
    assert undecided == pytest.approx(0.3, abs=0.03)
    # never confidently wrong: a judgment is right, or undecided
    assert all(r["judge_a_ok"] == 1.0 or r["score_a"] == 5 for r in judged)
    assert all(r["judge_b_ok"] == 1.0 or r["score_b"] == 5 for r in judged)
    # the ordinal reward ranks a hedge above a confident error (the partial credit GRPO can reward)
    hedged = [r["score"] for r in judged if r["acc"] == 0.0 and (r["score_a"] == 5) != (r["score_b"] == 5)]
    assert set(hedged) == {-0.25}


def test_the_warm_start_is_built_once_and_rebuilt_for_other_settings(tmp_path):
    out = ensure(tmp_path / "learn", settings=SMALL)
    summary = json.loads((out / COMPLETE_MARKER).read_text())
    assert summary["settings"] == dataclasses.asdict(SMALL)
    assert summary["max_prompt_tokens"] <= PROMPT_TOKENS == summary["prompt_length"]
    assert summary["response_length"] == RESPONSE_TOKENS
    assert set(summary["stage_losses"]) == {"right judgments", "hedging teacher"}
    for split in task.SPLITS:
        assert len(pd.read_parquet(out / "data" / f"{split}.parquet")) == task.DEFAULT_SIZES[split]

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

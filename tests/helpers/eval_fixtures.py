"""Shared pieces of the evaluation tests: the tiny default, the evaluate command, samples files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

VAL_SPLITS = ("val_code_id", "val_code_ood", "val_math_ood")
#: the tiny CPU run's data.max_prompt_length (scripts/run_corpo_tiny_cpu.sh)
TINY_MAX_PROMPT_LENGTH = "256"


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    """The tiny default (model and data), built once per test session where the e2e tests look."""
    from recipe.corpo.cpu_tasks.tiny_default import ensure

    return ensure(tmp_path_factory.getbasetemp() / "tiny_default")


def val_files(tiny: Path) -> list[str]:
    return [str(tiny / "data" / f"{split}.parquet") for split in VAL_SPLITS]


def evaluate_command(model, val, out, *extra: str, backend: str = "transformers") -> list[str]:
    """``python -m recipe.corpo.evaluation.evaluate`` with small settings: k=2 of 3 samples, 24 new tokens (enough for the tiny default's answer)."""
    return [sys.executable, "-m", "recipe.corpo.evaluation.evaluate", "--model", str(model), "--val-files", *map(str, val),
            "--run", "tiny", "--k", "2", "--samples-per-prompt", "3", "--max-new-tokens", "24", "--temperature", "1.0",
            "--max-prompt-length", TINY_MAX_PROMPT_LENGTH, "--backend", backend, "--out", str(out), *extra]


def run_evaluate(model, val, out, *extra: str, backend: str = "transformers", env=None, timeout: int = 600):
    return subprocess.run(evaluate_command(model, val, out, *extra, backend=backend), capture_output=True, text=True,
                          timeout=timeout, env=env)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def sample_identity(sample: dict) -> tuple:
    """What makes two samples the same answer to the same prompt."""
    return sample["prompt_index"], sample["order"], sample["sample_index"], sample["response"]

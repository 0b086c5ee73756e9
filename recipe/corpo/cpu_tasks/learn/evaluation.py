"""Evaluation as in the paper: n samples per prompt at T = 0.6, top-p 0.95, every pair in both orders.

The validation sets (``recipe.corpo.cpu_tasks.learn.task``) hold each pair as (A, B) and (B, A); a prompt
belongs to the row of the configuration it shows: ``in_domain/first_correct`` (A correct, B not),
``in_domain/second_correct``, ``ood_code/both_correct``, ``ood_code/both_incorrect``. Per prompt,
the number c of the n samples whose two judgments are both right (the reward's ``acc``) gives
pass@1 = c / n and the unbiased pass@k (Chen et al., 2021) for k well below n.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import torch

from recipe.corpo.cpu_tasks.learn import policy, rewards
from recipe.corpo.cpu_tasks.learn.policy import prompt_text
from recipe.corpo.reports.pass_at_k import pass_at_k

TEMPERATURE = 0.6
TOP_P = 0.95
#: row group -> validation split
GROUPS = {"in_domain": "val_code_id", "ood_code": "val_code_ood"}
CONFIGURATIONS = {(1, 0): "first_correct", (0, 1): "second_correct", (1, 1): "both_correct", (0, 0): "both_incorrect"}
ROWS = ("in_domain/first_correct", "in_domain/second_correct", "ood_code/both_correct", "ood_code/both_incorrect")


@dataclass(frozen=True)
class Prompt:
    """One validation prompt: its text, grading inputs, row and candidate kinds."""

    prompt_text: str
    data_source: str
    ground_truth: str
    row: str
    kinds: tuple[str, str]


def load_rows(tokenizer, files: dict[str, str], limit: int | None = None) -> list[Prompt]:
    """The prompts of the validation files (``GROUPS`` -> parquet), the first ``limit`` pairs of each."""
    out = []
    for group, path in files.items():
        frame = pd.read_parquet(path)
        for record in frame.to_dict("records"):
            info = record["extra_info"]
            if limit is not None and info["pair"] >= limit:
                continue
            ground_truth = record["reward_model"]["ground_truth"]
            labels = tuple(json.loads(ground_truth)["labels"])
            out.append(Prompt(prompt_text(tokenizer, list(record["prompt"])), record["data_source"], ground_truth,
                              f"{group}/{CONFIGURATIONS[labels]}", tuple(info["candidate_kinds"])))
    return out


def train_rows(tokenizer, path: str) -> list[dict]:
    """The training rows as the direct trainer reads them (``prompt_text``, ``data_source``,
    ``ground_truth``, ``kinds``)."""
    return [{"prompt_text": p.prompt_text, "data_source": p.data_source, "ground_truth": p.ground_truth,
             "kinds": p.kinds} for p in load_rows(tokenizer, {"in_domain": path})]


@torch.no_grad()
def sample_correct(model, tokenizer, prompts: list[Prompt], n: int, seed: int, max_new_tokens: int,
                   temperature: float = TEMPERATURE, top_p: float = TOP_P, chunk: int = 64) -> list[dict]:
    """Per prompt, ``n`` samples graded: {"row", "c" (both judgments right), "kind_right" (kind ->
    right judgments of that kind's candidate, of n), "format" (parsable answers)}."""
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    out = []
    for start in range(0, len(prompts), chunk):
        part = prompts[start:start + chunk]
        encoded = policy.encode_prompts(tokenizer, [p.prompt_text for p in part])
        answers, mask = policy.sample(model, encoded, n, max_new_tokens, temperature, top_p, generator,
                                      tokenizer.eos_token_id, tokenizer.pad_token_id)
        texts = tokenizer.batch_decode((answers * mask).tolist(), skip_special_tokens=True)
        for i, prompt in enumerate(part):
            verdicts = [rewards.score("ordinal", prompt.data_source, t, prompt.ground_truth)
                        for t in texts[i * n:(i + 1) * n]]
            kind_right: dict[str, float] = {}
            for position, kind in zip(("judge_a_ok", "judge_b_ok"), prompt.kinds):
                kind_right[kind] = kind_right.get(kind, 0.0) + sum(v[position] for v in verdicts)
            out.append({"row": prompt.row, "c": int(sum(v["acc"] for v in verdicts)),
                        "kind_right": kind_right, "format": int(sum(v["format_ok"] for v in verdicts))})
    return out


def summarise(samples: list[dict], n: int, ks: tuple[int, ...]) -> dict[str, dict[str, float]]:
    """Per row and per group (``in_domain``, ``ood_code``): pass@1 and pass@k (fractions)."""
    by_row: dict[str, list[int]] = {}
    for s in samples:
        by_row.setdefault(s["row"], []).append(s["c"])
        by_row.setdefault(s["row"].split("/")[0], []).append(s["c"])
    return {row: {f"pass{k}": sum(pass_at_k(n, c, k) for c in counts) / len(counts) for k in (1, *ks)}
            for row, counts in by_row.items()}


def kind_accuracy(samples: list[dict], n: int, group: str | None = None) -> dict[str, float]:
    """Per candidate kind ("correct" or an error kind): the share of the judgments of such candidates
    that were right (score above 5 for a correct one, below 5 for an incorrect one), over all samples
    (of one row group when given)."""
    right: dict[str, float] = {}
    seen: dict[str, int] = {}
    for s in samples:
        if group is not None and s["row"].split("/")[0] != group:
            continue
        judgments = 2 * n if len(s["kind_right"]) == 1 else n  # both candidates of one kind: 2 judgments a sample
        for kind, count in s["kind_right"].items():
            right[kind] = right.get(kind, 0.0) + count
            seen[kind] = seen.get(kind, 0) + judgments
    return {kind: right[kind] / seen[kind] for kind in sorted(seen)}

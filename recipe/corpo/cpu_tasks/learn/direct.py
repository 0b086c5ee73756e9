"""One RL run in one process, without Ray: every algorithmic piece the one users run.

verl's trainer costs ~7 s per step of this task on this 2-core machine (docs/learn_cpu.md), so 30
runs of 100 steps cannot go through it within an hour. This loop drives the update itself,
but each piece that decides what is learned is the real one:

- rewards: ``corpo_advantage.reward.compute_score`` (or the binary control, ``rewards``);
- advantages: verl's dispatch ``verl.trainer.ppo.ray_trainer.compute_advantage`` on a
  ``DataProto``, with our registered estimators (``corpo``, ``corpo_static``) and verl's ``grpo``;
- the loss: verl's ``get_policy_loss_fn("vanilla")`` (``compute_policy_loss_vanilla``, the clipped
  PPO objective, which aggregates with verl's ``agg_loss``, token-mean);
- diagnostics: ``corpo_advantage.diagnostics.corpo_diagnostics``.

Strictly on-policy like the verl runs: each batch (``prompts`` x ``rollouts``) is sampled at
temperature 1 from the current weights and used for one update (ratio 1), AdamW with gradient
clipping at 1. Paired across estimators: for a seed, the order of the training rows and the
sampling generator's seed are the same whatever the estimator or reward.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import torch
from omegaconf import OmegaConf
from verl import DataProto
from verl.trainer.ppo.core_algos import get_policy_loss_fn
from verl.trainer.ppo.ray_trainer import compute_advantage

import corpo_advantage.plugin  # noqa: F401  (registers corpo and corpo_static)
from corpo_advantage.diagnostics import corpo_diagnostics
from corpo_advantage.reward import R_MIN_CORRECT
from recipe.corpo.cpu_tasks.learn import policy, rewards

ESTIMATORS = ("grpo", "corpo_static", "corpo")


@dataclass(frozen=True)
class RunSettings:
    estimator: str
    reward: str
    seed: int
    steps: int = 100
    prompts: int = 16
    rollouts: int = 8
    lr: float = 3e-4
    max_new_tokens: int = 16
    clip_ratio: float = 0.2


def algorithm_config(estimator: str):
    """verl's ``config.algorithm`` as the trainer passes it (no std normalisation, as the CPU runs)."""
    return OmegaConf.create({"adv_estimator": estimator, "norm_adv_by_std_in_grpo": False,
                             "corpo": {"r_min_correct": R_MIN_CORRECT, "norm_by_std": False}})


def actor_config(clip_ratio: float):
    """The fields of verl's actor config that ``compute_policy_loss_vanilla`` reads."""
    return OmegaConf.create({"clip_ratio": clip_ratio, "clip_ratio_low": clip_ratio, "clip_ratio_high": clip_ratio,
                             "clip_ratio_c": 3.0, "global_batch_info": {}})


def data_order(rows: int, seed: int, steps: int, batch: int) -> np.ndarray:
    """Row indices of every training batch, reshuffled each epoch: the same for every estimator of a seed."""
    rng = np.random.default_rng(seed)
    needed = steps * batch
    order = np.concatenate([rng.permutation(rows) for _ in range(math.ceil(needed / rows))])
    return order[:needed].reshape(steps, batch)


def scored_batch(tokenizer, answers: torch.Tensor, answer_mask: torch.Tensor, rows: list[dict], reward: str,
                 rollouts: int) -> tuple[list[dict], torch.Tensor]:
    """Each answer's ``compute_score`` keys (plus ``level`` and the candidates' kinds) and its reward tensor."""
    texts = tokenizer.batch_decode((answers * answer_mask).tolist(), skip_special_tokens=True)
    details = []
    for i, text in enumerate(texts):
        row = rows[i // rollouts]
        verdict = rewards.score(reward, row["data_source"], text, row["ground_truth"])
        details.append({**verdict, "level": rewards.level(verdict), "kinds": row["kinds"]})
    return details, torch.tensor([d["score"] for d in details], dtype=torch.float32)


def batch_statistics(details: list[dict]) -> dict[str, float]:
    """What the answers did: success, the reward-level histogram, accuracy per candidate kind (correct
    or each error kind), position bias, and the share of answers with exactly one score above 5."""
    n = len(details)
    out = {"train_success": sum(d["acc"] for d in details) / n,
           "reward_mean": sum(d["score"] for d in details) / n}
    levels = Counter(d["level"] for d in details)
    out.update({f"level/{name}": levels[name] / n for name in rewards.LEVELS})
    right, seen = defaultdict(float), defaultdict(int)
    for d in details:
        for kind, ok in zip(d["kinds"], (d["judge_a_ok"], d["judge_b_ok"])):
            right[kind] += ok
            seen[kind] += 1
    out.update({f"kind_acc/{kind}": right[kind] / seen[kind] for kind in sorted(seen)})
    parsed = [d for d in details if d["format_ok"]]
    if parsed:
        out["position_bias"] = sum((d["score_a"] > 5) - (d["score_b"] > 5) for d in parsed) / len(parsed)
        out["one_above_5"] = sum((d["score_a"] > 5) != (d["score_b"] > 5) for d in parsed) / len(parsed)
    else:
        out["position_bias"] = out["one_above_5"] = math.nan
    return out


def rl_step(model, optimizer, tokenizer, batch_rows: list[dict], settings: RunSettings, generator: torch.Generator,
            step: int) -> dict[str, float]:
    """Sample, score, compute advantages through verl's dispatch, update once; the step's metrics."""
    n = settings.rollouts
    prompts = policy.encode_prompts(tokenizer, [row["prompt_text"] for row in batch_rows])
    answers, answer_mask = policy.sample(model, prompts, n, settings.max_new_tokens, 1.0, 1.0, generator,
                                         tokenizer.eos_token_id, tokenizer.pad_token_id)
    details, scores = scored_batch(tokenizer, answers, answer_mask, batch_rows, settings.reward, n)
    token_rewards = torch.zeros(answers.shape, dtype=torch.float32)
    last = answer_mask.sum(-1) - 1
    token_rewards[torch.arange(len(scores)), last] = scores
    uids = np.array([f"{step}-{i // n}" for i in range(len(scores))], dtype=object)
    data = DataProto.from_dict(tensors={"token_level_rewards": token_rewards, "response_mask": answer_mask},
                               non_tensors={"uid": uids})
    data = compute_advantage(data, adv_estimator=settings.estimator, norm_adv_by_std_in_grpo=False,
                             config=algorithm_config(settings.estimator))
    advantages = data.batch["advantages"]
    metrics = corpo_diagnostics(scores, advantages, answer_mask, uids, R_MIN_CORRECT, estimator=settings.estimator)

    model.train()
    log_probs = policy.answer_log_probs(model, prompts, answers, n)
    loss_fn = get_policy_loss_fn("vanilla")
    loss, loss_metrics = loss_fn(old_log_prob=log_probs.detach(), log_prob=log_probs, advantages=advantages,
                                 response_mask=answer_mask, loss_agg_mode="token-mean",
                                 config=actor_config(settings.clip_ratio))
    optimizer.zero_grad()
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    model.eval()
    return {"step": step, **batch_statistics(details), **metrics, "actor/pg_loss": float(loss.detach()),
            "actor/grad_norm": float(grad_norm), **loss_metrics}

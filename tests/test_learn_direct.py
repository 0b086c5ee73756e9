"""The direct trainer of the CPU experiment (recipe/corpo/cpu_tasks/learn/{policy,direct}.py) on a small random model.

What is checked: the log-probabilities the loss uses are those of a plain forward pass over prompt +
answer; sampling is reproducible from the generator's seed and top-p keeps the nucleus; one step
goes through verl's compute_advantage and policy loss, logs every diagnostic, and changes the weights;
CoRPO and static never reinforce a failure while GRPO can; seeds fix the data order whatever the
estimator.
"""

from __future__ import annotations

import math
import random

import pytest
import torch

from recipe.corpo.cpu_tasks.learn import direct, policy, task
from recipe.corpo.cpu_tasks.learn.policy import prompt_text
from recipe.corpo.cpu_tasks.learn.warm_start import SPLIT_PATTERN
from recipe.corpo.cpu_tasks.tiny_default import build_model, build_tokenizer
from data_prep.formats.verl_rows import build_verifier_prompt


@pytest.fixture(scope="module")
def setup():
    rng = random.Random(0)
    problems = task.problems()[:40]
    rows = []
    for i, problem in enumerate(problems):
        labels = ((1, 0), (0, 1))[i % 2]
        statement, a, b, kinds = problem.pair(rng, "code", labels)
        rows.append({"messages": build_verifier_prompt(statement, a, b, "code"), "labels": labels, "kinds": kinds})
    corpus = [m["content"] for r in rows for m in r["messages"]]
    corpus += ["<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n"] * 16
    corpus += [f"\\boxed{{{a}, {b}}}<|im_end|>" for a in range(11) for b in range(11)]
    tokenizer = build_tokenizer(corpus, 512, split_pattern=SPLIT_PATTERN)
    torch.manual_seed(0)
    model = build_model(tokenizer, 0, hidden=32, layers=2, heads=2, kv_heads=2, intermediate=64, family="llama")
    model.eval()
    train = [{"prompt_text": prompt_text(tokenizer, r["messages"]), "data_source": "corpo_code_pairs",
              "ground_truth": '{"labels": [%d, %d]}' % r["labels"], "kinds": r["kinds"]} for r in rows]
    return model, tokenizer, train


def test_answer_log_probs_are_those_of_a_plain_forward(setup):
    model, tokenizer, train = setup
    prompts = policy.encode_prompts(tokenizer, [r["prompt_text"] for r in train[:3]])
    answers, mask = policy.sample(model, prompts, 2, 8, 1.0, 1.0, torch.Generator().manual_seed(0),
                                  tokenizer.eos_token_id, tokenizer.pad_token_id)
    with torch.no_grad():
        log_probs = policy.answer_log_probs(model, prompts, answers, 2)
    assert len({r.shape for r in prompts.ids}) == 1 and prompts.mask.sum(-1).unique().numel() > 1  # padding is exercised
    for i in range(6):
        prompt = prompts.ids[i // 2][prompts.mask[i // 2].bool()]
        with torch.no_grad():
            logits = model(input_ids=torch.cat([prompt, answers[i]])[None]).logits[0, len(prompt) - 1:-1]
        expected = torch.log_softmax(logits.float(), -1).gather(-1, answers[i][:, None]).squeeze(-1)
        assert torch.allclose(expected * mask[i], log_probs[i] * mask[i], atol=1e-4)


def test_sampling_is_reproducible_and_top_p_keeps_the_nucleus(setup):
    model, tokenizer, train = setup
    prompts = policy.encode_prompts(tokenizer, [r["prompt_text"] for r in train[:4]])
    args = (model, prompts, 3, 6)
    ids = (tokenizer.eos_token_id, tokenizer.pad_token_id)
    first = policy.sample(*args, 1.0, 1.0, torch.Generator().manual_seed(5), *ids)
    again = policy.sample(*args, 1.0, 1.0, torch.Generator().manual_seed(5), *ids)
    assert torch.equal(first[0], again[0])
    # a tiny top-p keeps only the most likely token: the greedy answer, whatever the stream
    greedy = [policy.sample(*args, 1.0, 1e-6, torch.Generator().manual_seed(s), *ids)[0] for s in (1, 2)]
    assert torch.equal(greedy[0], greedy[1])
    with torch.no_grad():
        logits = model(input_ids=prompts.ids, attention_mask=prompts.mask,
                       position_ids=(prompts.mask.cumsum(-1) - 1).clamp_min(0)).logits[:, -1]
    assert torch.equal(greedy[0][::3, 0], logits.argmax(-1))


@pytest.mark.parametrize("estimator", direct.ESTIMATORS)
@pytest.mark.parametrize("reward", ["ordinal", "binary"])
def test_one_step_goes_through_verls_pieces_and_logs_the_mechanism(setup, estimator, reward):
    model, tokenizer, train = setup
    model = type(model)(model.config)
    model.load_state_dict(setup[0].state_dict())
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    settings = direct.RunSettings(estimator=estimator, reward=reward, seed=0, prompts=4, rollouts=4, max_new_tokens=10)
    metrics = direct.rl_step(model, optimizer, tokenizer, train[:4], settings, torch.Generator().manual_seed(0), 1)
    for name in ("failed_frac", "failed_count", "failed_pos_adv_frac", "grpo_failed_pos_adv_frac", "pos_adv_frac",
                 "neg_adv_frac", "r_count", "r_loss", "correctness_mode_frac", "equal_reward_group_frac",
                 "all_failed_group_frac"):
        assert f"corpo/{name}" in metrics
    for name in ("train_success", "level/correct", "level/one_wrong", "level/two_wrong", "level/format",
                 "position_bias", "one_above_5", "actor/pg_loss", "actor/ppo_kl"):
        assert name in metrics
    assert sum(metrics[f"level/{level}"] for level in ("correct", "one_wrong", "two_wrong", "format")) == pytest.approx(1)
    assert metrics["actor/ppo_kl"] == pytest.approx(0, abs=1e-6)  # strictly on-policy: ratio 1
    if estimator != "grpo" or reward == "binary":
        assert not metrics["corpo/failed_pos_adv_frac"] > 0
    # a random model fails every answer: the estimators that punish failures move the weights
    if estimator != "grpo":
        assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


def test_grpo_reinforces_failures_with_graded_rewards_only():
    # the same failures, ordinal and binary, through the step's scoring and verl's dispatch
    from corpo_advantage.diagnostics import corpo_diagnostics
    from verl import DataProto
    from verl.trainer.ppo.ray_trainer import compute_advantage
    import numpy as np
    scores = torch.tensor([-0.25, -0.45, -0.9, -1.0])
    for graded, expected in ((scores, 0.5), (torch.full((4,), -1.0), 0.0)):
        mask = torch.ones(4, 3, dtype=torch.long)
        rewards = torch.zeros(4, 3)
        rewards[:, -1] = graded
        uids = np.array(["g"] * 4, dtype=object)
        data = DataProto.from_dict(tensors={"token_level_rewards": rewards, "response_mask": mask}, non_tensors={"uid": uids})
        advantages = compute_advantage(data, adv_estimator="grpo", norm_adv_by_std_in_grpo=False,
                                       config=direct.algorithm_config("grpo")).batch["advantages"]
        metrics = corpo_diagnostics(graded, advantages, mask, uids, 0.0, estimator="grpo")
        assert metrics["corpo/failed_pos_adv_frac"] == expected


def test_the_data_order_depends_on_the_seed_only():
    first = direct.data_order(100, 3, 20, 16)
    assert first.shape == (20, 16) and (direct.data_order(100, 3, 20, 16) == first).all()
    assert not (direct.data_order(100, 4, 20, 16) == first).all()
    # every row once per epoch
    assert sorted(first.reshape(-1)[:100].tolist()) == list(range(100))

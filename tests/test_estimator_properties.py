"""Hypothesis properties of the CoRPO guarantee and its two phases (spec section 2)."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.batches import advantages_via_verl, make_batch, row_advantage

reward = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False, width=32)
threshold = st.sampled_from([0.0, -0.25, 0.3, 0.5])


@st.composite
def batches(draw):
    """Uneven groups (sizes 1-8), some padding rows, rewards in [-1, 1]."""
    sizes = draw(st.lists(st.integers(1, 8), min_size=1, max_size=6))
    rewards, uids, lengths = [], [], []
    for group, size in enumerate(sizes):
        for _ in range(size):
            rewards.append(draw(reward))
            uids.append(f"uid-{group}")
            lengths.append(draw(st.integers(1, 5)))
    for _ in range(draw(st.integers(0, 3))):  # verl padding rows, possibly sharing a real uid
        rewards.append(draw(reward))
        uids.append(draw(st.sampled_from(["pad", *uids])))
        lengths.append(0)
    return rewards, uids, lengths


def _group_means(rewards, uids, lengths):
    valid = [(r, u) for r, u, n in zip(rewards, uids, lengths) if n > 0]
    return {u: np.mean([r for r, v in valid if v == u]) for u in {v for _, v in valid}}


@settings(max_examples=150, deadline=None)
@given(data=batches(), r_min=threshold, norm=st.booleans(), estimator=st.sampled_from(["corpo", "corpo_static"]))
def test_no_failed_row_ever_gets_a_positive_advantage(data, r_min, norm, estimator):
    rewards, uids, lengths = data
    batch = make_batch(rewards, uids, lengths)
    adv = row_advantage(advantages_via_verl(estimator, batch, r_min_correct=r_min, norm_by_std=norm), batch)
    scores = batch.batch["token_level_rewards"].sum(-1)
    failed = (scores < r_min) & (torch.tensor(lengths) > 0)
    assert torch.all(adv[failed] < 0)
    assert torch.all(adv[torch.tensor(lengths) == 0] == 0)


@settings(max_examples=150, deadline=None)
@given(data=batches(), r_min=threshold)
def test_phase_two_equals_mean_centring_and_phase_one_the_static_baseline(data, r_min):
    rewards, uids, lengths = data
    batch = make_batch(rewards, uids, lengths)
    corpo = row_advantage(advantages_via_verl("corpo", batch, r_min_correct=r_min), batch)
    static = row_advantage(advantages_via_verl("corpo_static", batch, r_min_correct=r_min), batch)
    scores = batch.batch["token_level_rewards"].sum(-1)
    means = _group_means(scores.tolist(), uids, lengths)
    for row, (uid, length) in enumerate(zip(uids, lengths)):
        if length == 0:
            continue
        if means[uid] >= r_min:  # preference-seeking: GRPO's mean baseline (no std)
            assert abs(corpo[row].item() - (scores[row].item() - means[uid])) < 1e-5
        else:  # correctness-seeking: the static baseline
            assert abs(corpo[row].item() - static[row].item()) < 1e-5


@settings(max_examples=100, deadline=None)
@given(data=batches(), r_min=threshold)
def test_std_normalisation_keeps_every_sign(data, r_min):
    rewards, uids, lengths = data
    batch = make_batch(rewards, uids, lengths)
    plain = row_advantage(advantages_via_verl("corpo", batch, r_min_correct=r_min), batch)
    normed = row_advantage(advantages_via_verl("corpo", batch, r_min_correct=r_min, norm_by_std=True), batch)
    assert torch.equal(torch.sign(plain), torch.sign(normed))


def test_an_advantage_too_small_for_float32_keeps_its_sign():
    """Rewards [0, 0, 1.4e-45] (float32's smallest subnormal): the exact R - mean of the zeros is
    -4.7e-46, below float32's range; rounded to 0 it would lose the sign the std-normalised
    advantage (-4.7e-40) keeps (a hypothesis find)."""
    tiny = float(torch.nextafter(torch.zeros(()), torch.ones(())))
    batch = make_batch([0.0, 0.0, tiny], ["g", "g", "g"], [2, 2, 2])
    plain = row_advantage(advantages_via_verl("corpo", batch, r_min_correct=0.0), batch)
    normed = row_advantage(advantages_via_verl("corpo", batch, r_min_correct=0.0, norm_by_std=True), batch)
    assert torch.equal(torch.sign(plain), torch.tensor([-1.0, -1.0, 1.0]))
    assert torch.equal(torch.sign(plain), torch.sign(normed))

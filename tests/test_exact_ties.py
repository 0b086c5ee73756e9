"""Exact group statistics (issue 14, items 1 and 2): groups of equal rewards, float64 rewards at the
threshold, and the diagnostics' tie tolerance, through verl's real ``compute_advantage``."""

import math
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from corpo_advantage.diagnostics import ADV_TOLERANCE, corpo_diagnostics
from tests.helpers.batches import advantages_via_verl, make_batch, row_advantage

# rewards the verifier's reward really gives (0.8 = \boxed{9, 1} right, -0.45 = one confident wrong
# verdict), values whose float32 sum of 8 copies rounds, and one just below a threshold
TIED_VALUES = [0.8, -0.45, 0.1, 0.7, -0.9, 0.3, 0.6, -0.29, 0.69999999]
EPSILON = 1e-6


def _as_stored(value: float, dtype=torch.float32) -> float:
    return torch.tensor(value, dtype=dtype).item()


def _tied_batch(value: float, size: int = 8, dtype=torch.float32):
    return make_batch([value] * size, ["g"] * size, [3] * size, dtype=dtype)


@pytest.mark.parametrize("value", TIED_VALUES)
@pytest.mark.parametrize("norm", [False, True])
def test_equal_rewards_in_preference_mode_get_exactly_zero(value, norm):
    batch = _tied_batch(value)
    adv = advantages_via_verl("corpo", batch, r_min_correct=-1.0, norm_by_std=norm, epsilon=EPSILON)
    assert torch.equal(adv, torch.zeros_like(adv)), row_advantage(adv, batch)[0].item()


@pytest.mark.parametrize("value", TIED_VALUES)
@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("estimator, r_min", [("corpo", 0.95), ("corpo_static", 0.95), ("corpo_static", -0.5)])
def test_equal_rewards_get_exactly_their_formula_value(value, norm, estimator, r_min):
    # corpo in correctness mode and corpo_static: A = R - r_min, divided by (0 + epsilon) with
    # std normalisation (the std of equal rewards is exactly 0)
    batch = _tied_batch(value)
    adv = row_advantage(advantages_via_verl(estimator, batch, r_min_correct=r_min, norm_by_std=norm,
                                            epsilon=EPSILON), batch)
    exact = (_as_stored(value) - r_min) / (EPSILON if norm else 1.0)
    assert adv.tolist() == [_as_stored(exact)] * 8


@pytest.mark.parametrize("estimator", ["corpo", "corpo_static"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_reward_just_below_the_threshold_never_gets_a_positive_advantage(estimator, dtype):
    # float32(0.7) < 0.7: a baseline clamped in float32 sat below a float64 reward of 0.69999999
    batch = make_batch([0.69999999, 0.5, 0.69999999], ["g"] * 3, [2] * 3, dtype=dtype)
    adv = row_advantage(advantages_via_verl(estimator, batch, r_min_correct=0.7), batch)
    assert adv.dtype == dtype
    assert adv[0].item() < 0 and adv[2].item() < 0
    assert adv[0].item() == _as_stored(_as_stored(0.69999999, dtype) - 0.7, dtype)


def _diagnose(estimator, rewards, uids, lengths, r_min, norm):
    batch = make_batch(rewards, uids, lengths)
    adv = advantages_via_verl(estimator, batch, norm_adv_by_std_in_grpo=norm, r_min_correct=r_min, norm_by_std=norm,
                              epsilon=EPSILON)
    scores = batch.batch["token_level_rewards"].sum(-1)
    return corpo_diagnostics(scores, adv, batch.batch["response_mask"], batch.non_tensor_batch["uid"], r_min,
                             estimator=estimator)


@pytest.mark.parametrize("estimator, norm", [("grpo", False), ("grpo", True), ("grpo_vectorized", True),
                                             ("corpo", False), ("corpo", True)])
def test_a_group_repeating_one_verdict_is_counted_exactly(estimator, norm):
    # a group repeating one confident wrong verdict (-0.45) and one repeating a right one (0.8)
    metrics = _diagnose(estimator, [-0.45] * 8 + [0.8] * 8, ["wrong"] * 8 + ["right"] * 8, [3] * 16, 0.0, norm)
    assert metrics["corpo/failed_frac"] == 0.5
    assert metrics["corpo/failed_pos_adv_frac"] == 0.0
    assert metrics["corpo/grpo_failed_pos_adv_frac"] == 0.0  # R == group mean: GRPO gives exactly 0
    assert metrics["corpo/pos_adv_frac"] == 0.0
    assert metrics["corpo/equal_reward_group_frac"] == 1.0
    assert metrics["corpo/all_failed_group_frac"] == 0.5
    if estimator.startswith("grpo"):  # every advantage is exactly 0
        assert metrics["corpo/neg_adv_frac"] == 0.0
        assert math.isnan(metrics["corpo/r_count"]) and math.isnan(metrics["corpo/r_loss"])
    else:  # the failing group is pushed down, the right one not at all
        assert metrics["corpo/neg_adv_frac"] == 0.5
        assert metrics["corpo/r_count"] == 0.0 and metrics["corpo/r_loss"] == 0.0


def test_the_tolerance_scales_with_the_reward():
    # a rating-scale reward (1..5): the float32 rounding of a mean of 4.7s is far above 1e-7
    adv = torch.tensor([[3e-6, 3e-6], [-3e-6, -3e-6], [2e-4, 2e-4]])
    metrics = corpo_diagnostics(torch.tensor([4.7, 4.7, 4.9]), adv, torch.ones(3, 2), ["a", "a", "b"], 1.0)
    assert ADV_TOLERANCE * 4.7 > 3e-6
    assert metrics["corpo/pos_adv_frac"] == pytest.approx(1 / 3) and metrics["corpo/neg_adv_frac"] == 0.0


# ---- property: on batches of tied groups, the diagnostics equal those of the exact advantages ----

GRID = [Fraction(k, 16) for k in range(-16, 17)]  # exact in float32, sums of 8 stay exact
tied_value = st.one_of(st.sampled_from(TIED_VALUES), st.floats(-1.0, 1.0, width=32))


@st.composite
def tied_batches(draw, padding_shares_uids: bool):
    """Groups of equal rewards (any float) and groups on an exact grid, padding rows, token counts 1-5."""
    rewards, uids, lengths = [], [], []
    for group in range(draw(st.integers(1, 6))):
        size = draw(st.integers(1, 8))
        if draw(st.booleans()):
            values = [draw(tied_value)] * size
        else:
            values = [float(draw(st.sampled_from(GRID))) for _ in range(size)]
        for value in values:
            rewards.append(value)
            uids.append(f"uid-{group}")
            lengths.append(draw(st.integers(1, 5)))
    for _ in range(draw(st.integers(0, 2))):
        rewards.append(0.0)
        uids.append(draw(st.sampled_from(["pad", *uids])) if padding_shares_uids else "pad")
        lengths.append(0)
    return rewards, uids, lengths


def exact_advantages(estimator, rewards, uids, lengths, r_min, norm):
    """Each row's advantage from the estimator's formula in exact arithmetic (std normalisation,
    which keeps the sign, in float64), with verl's conventions for its estimators (grpo: a group of
    one has mean 0 and std 1; rloo: A = R for a group of one, rloo_vectorized: 0; padding rows carry
    a uid of their own in these batches)."""
    stored = [Fraction(_as_stored(r)) for r in rewards]
    groups = {}
    for row, (uid, length) in enumerate(zip(uids, lengths)):
        if length or estimator in VERL_ESTIMATORS:
            groups.setdefault(uid, []).append(row)
    out = []
    for row, uid in enumerate(uids):
        if not lengths[row]:
            out.append(0.0)
            continue
        members = [stored[i] for i in groups[uid]]
        mean = sum(members) / len(members)
        std = math.sqrt(sum(float(m - mean) ** 2 for m in members) / (len(members) - 1)) if len(members) > 1 else 1.0
        if estimator.startswith("rloo"):  # R minus the mean of the others
            alone = stored[row] if estimator == "rloo" else Fraction(0)
            out.append(float((stored[row] - mean) * len(members) / (len(members) - 1)) if len(members) > 1
                       else float(alone))
            continue
        if estimator.startswith("grpo"):
            baseline = mean if len(members) > 1 else Fraction(0)
        elif estimator == "corpo":
            baseline = max(Fraction(r_min), mean)
        else:
            baseline = Fraction(r_min)
        diff = stored[row] - baseline
        out.append(float(diff) / (std + EPSILON) if norm else float(diff))
    return torch.tensor(out, dtype=torch.float64)


VERL_ESTIMATORS = ("grpo", "grpo_vectorized", "rloo", "rloo_vectorized")


@settings(max_examples=250, deadline=None)
@given(data=st.data(), estimator=st.sampled_from(VERL_ESTIMATORS + ("corpo", "corpo_static")),
       norm=st.booleans(), r_min=st.sampled_from([0.0, -0.25, 0.3, 0.5, 0.7]))
def test_diagnostics_on_tied_groups_equal_their_exact_values(data, estimator, norm, r_min):
    if estimator == "grpo_vectorized":
        norm = True  # verl's dispatch never passes norm_adv_by_std_in_grpo to it
    if estimator.startswith("rloo"):
        norm = False  # no std normalisation in rloo
    rewards, uids, lengths = data.draw(tied_batches(padding_shares_uids=estimator not in VERL_ESTIMATORS))
    measured = _diagnose(estimator, rewards, uids, lengths, r_min, norm)
    exact = exact_advantages(estimator, rewards, uids, lengths, r_min, norm)
    mask = make_batch(rewards, uids, lengths).batch["response_mask"]
    reference = corpo_diagnostics(torch.tensor(rewards), exact[:, None] * mask, mask, uids, r_min)
    assert measured.keys() == reference.keys()
    for name, value in reference.items():
        if name == "corpo/r_loss":
            assert measured[name] == pytest.approx(value, rel=1e-4, nan_ok=True), name
        else:
            assert measured[name] == value or (math.isnan(measured[name]) and math.isnan(value)), (name, measured)

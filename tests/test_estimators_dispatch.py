"""The `corpo` and `corpo_static` estimators through verl's real dispatch, on hand-computed batches."""

import math

import pytest
import torch

from tests.helpers.batches import advantages_via_verl, make_batch, row_advantage


def _uneven_batch():
    # group "a": 3 rows, all failing (mean -0.5 < 0: correctness-seeking);
    # group "b": 4 rows, mean 0.5 >= 0 (preference-seeking), one of them a failure;
    # group "c": a singleton failure; group "d": a singleton success;
    # "pad0": verl padding rows (mask all zero), one sharing uid "b" too.
    rewards = [-0.2, -0.5, -0.8, 1.0, 0.9, 0.6, -0.5, -0.3, 0.7, 0.0, 0.0, 5.0]
    uids = ["a", "a", "a", "b", "b", "b", "b", "c", "d", "pad0", "pad0", "b"]
    lengths = [3, 5, 2, 6, 1, 4, 2, 3, 3, 0, 0, 0]
    return rewards, uids, lengths


def test_corpo_matches_hand_computed_baselines_through_verl_dispatch():
    rewards, uids, lengths = _uneven_batch()
    batch = make_batch(rewards, uids, lengths)
    adv = advantages_via_verl("corpo", batch)
    expected = [
        -0.2, -0.5, -0.8,           # baseline max(0, -0.5) = 0
        0.5, 0.4, 0.1, -1.0,        # baseline max(0, 0.5) = 0.5 (the padding row's 5.0 does not count)
        -0.3,                       # singleton: mean = own reward -> A = min(0, R - 0)
        0.0,                        # singleton success: A = min(0, 0.7) = 0
        0.0, 0.0, 0.0,              # padding rows
    ]
    assert row_advantage(adv, batch).tolist() == pytest.approx(expected, abs=1e-6)
    # broadcast over the response tokens, zero outside the mask
    mask = batch.batch["response_mask"].bool()
    assert torch.all(adv[~mask] == 0)
    for row, length in enumerate(lengths):
        assert torch.all(adv[row, :length] == adv[row, 0])


def test_corpo_returns_equal_advantages():
    rewards, uids, lengths = _uneven_batch()
    batch = make_batch(rewards, uids, lengths)
    from verl.trainer.ppo.ray_trainer import compute_advantage

    from tests.helpers.batches import algorithm_config

    out = compute_advantage(batch, adv_estimator="corpo", config=algorithm_config())
    assert torch.equal(out.batch["advantages"], out.batch["returns"])


def test_corpo_static_subtracts_the_threshold_only():
    rewards, uids, lengths = _uneven_batch()
    batch = make_batch(rewards, uids, lengths)
    adv = row_advantage(advantages_via_verl("corpo_static", batch, r_min_correct=0.25), batch)
    valid = [length > 0 for length in lengths]
    expected = [r - 0.25 if v else 0.0 for r, v in zip(rewards, valid)]
    assert adv.tolist() == pytest.approx(expected, abs=1e-6)


def test_grpo_reinforces_a_failure_that_corpo_punishes():
    # the paper's motivating case: most of the group fails badly, one failure is "less bad"
    batch = make_batch([-0.2, -0.9, -0.9, -0.9], ["g"] * 4, [4] * 4)
    grpo = row_advantage(advantages_via_verl("grpo_vectorized", batch), batch)
    corpo = row_advantage(advantages_via_verl("corpo", batch), batch)
    assert grpo[0] > 0
    assert corpo[0] < 0 and torch.all(corpo < 0)


def test_r_min_correct_override_moves_the_phase_boundary():
    batch = make_batch([0.6, 0.4, 0.2], ["g"] * 3, [2] * 3)  # mean 0.4
    low = row_advantage(advantages_via_verl("corpo", batch, r_min_correct=0.0), batch)
    high = row_advantage(advantages_via_verl("corpo", batch, r_min_correct=0.5), batch)
    assert low.tolist() == pytest.approx([0.2, 0.0, -0.2], abs=1e-6)   # mean baseline
    assert high.tolist() == pytest.approx([0.1, -0.1, -0.3], abs=1e-6)  # locked at 0.5


def test_norm_by_std_divides_by_group_std_plus_epsilon():
    batch = make_batch([1.0, 0.5, 0.0, -0.6, -0.2], ["x", "x", "x", "y", "y"], [3] * 5)
    adv = row_advantage(advantages_via_verl("corpo", batch, norm_by_std=True, epsilon=1e-3), batch)
    std_x = torch.tensor([1.0, 0.5, 0.0]).std().item()
    std_y = torch.tensor([-0.6, -0.2]).std().item()
    expected = [0.5 / (std_x + 1e-3), 0.0, -0.5 / (std_x + 1e-3), -0.6 / (std_y + 1e-3), -0.2 / (std_y + 1e-3)]
    assert adv.tolist() == pytest.approx(expected, rel=1e-5)


def test_norm_by_std_leaves_singletons_unscaled():
    batch = make_batch([-0.4], ["solo"], [2])
    adv = row_advantage(advantages_via_verl("corpo", batch, norm_by_std=True, epsilon=1e-6), batch)
    assert adv.tolist() == pytest.approx([-0.4 / (1.0 + 1e-6)])


def test_default_threshold_is_the_rewards_constant():
    from corpo_advantage.reward import R_MIN_CORRECT

    batch = make_batch([R_MIN_CORRECT - 0.1, R_MIN_CORRECT - 0.3], ["g", "g"], [2, 2])
    adv = row_advantage(advantages_via_verl("corpo", batch, r_min_correct=None), batch)
    assert adv.tolist() == pytest.approx([-0.1, -0.3], abs=1e-6)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_reward_raises_with_a_count(bad):
    batch = make_batch([0.5, bad, 0.1, bad], ["g"] * 4, [2] * 4)
    with pytest.raises(ValueError, match=r"2 of 4 responses have a non-finite reward"):
        advantages_via_verl("corpo", batch)


def test_non_finite_reward_on_a_padding_row_is_ignored():
    batch = make_batch([0.5, 0.1, math.nan], ["g", "g", "pad"], [2, 2, 0])
    adv = row_advantage(advantages_via_verl("corpo", batch), batch)
    assert adv.tolist() == pytest.approx([0.2, -0.2, 0.0], abs=1e-6)
    assert torch.isfinite(adv).all()


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"r_min_correct": float("nan")}, "r_min_correct must be finite"),
        ({"r_min_correct": "high"}, "r_min_correct must be a number"),
        ({"epsilon": 0.0}, "epsilon must be > 0"),
        ({"epsilon": float("inf")}, "epsilon must be finite"),
        ({"norm_by_std": "yes"}, "norm_by_std must be true or false"),
    ],
)
def test_bad_config_values_raise_clear_errors(settings, message):
    batch = make_batch([0.5, 0.1], ["g", "g"], [2, 2])
    with pytest.raises(ValueError, match=message):
        advantages_via_verl("corpo", batch, **settings)


def test_missing_uid_raises():
    from verl.trainer.ppo.core_algos import get_adv_estimator_fn

    batch = make_batch([0.5, 0.1], ["g", "g"], [2, 2])
    with pytest.raises(ValueError, match="uid"):
        get_adv_estimator_fn("corpo")(
            token_level_rewards=batch.batch["token_level_rewards"], response_mask=batch.batch["response_mask"]
        )


def test_bfloat16_rewards_are_accepted():
    batch = make_batch([0.5, -0.5], ["g", "g"], [2, 2], dtype=torch.bfloat16)
    adv = row_advantage(advantages_via_verl("corpo", batch), batch)
    assert adv.float().tolist() == pytest.approx([0.5, -0.5], abs=1e-2)

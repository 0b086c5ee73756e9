"""DAPO's group filter (verl 0.9.1 ``algorithm.filter_groups``) under CoRPO: the start-up warning and
the count of the phase-1 groups it drops."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from verl.trainer.ppo.v1.replay_buffer import FILTER_GROUPS_REWARD_METRIC

from corpo_advantage.diagnostics import filtered_phase1_groups
from recipe.corpo.main_corpo import warn_filter_groups
from tests.test_recipe_config import _clear_hydra, compose_recipe  # noqa: F401  (fixture)

FILTER_ON = ["algorithm.filter_groups.enable=true"]


def test_dropped_groups_below_the_threshold_are_counted():
    # verl's replay buffer reports {shared reward: groups dropped}
    dropped = {-1.0: 3, -0.25: 1, 0.0: 2, 0.8: 1}
    assert filtered_phase1_groups(dropped, r_min_correct=0.0) == {"corpo/filter_dropped_phase1_groups": 4.0}
    assert filtered_phase1_groups(dropped, r_min_correct=0.5) == {"corpo/filter_dropped_phase1_groups": 6.0}
    assert filtered_phase1_groups({}, r_min_correct=0.0) == {"corpo/filter_dropped_phase1_groups": 0.0}


@given(st.dictionaries(st.floats(-10, 10), st.integers(1, 50)), st.floats(-10, 10))
def test_the_count_is_the_groups_whose_mean_is_in_phase_1(dropped, r_min):
    # a dropped group's rewards are all equal: its mean is the shared reward
    phase1 = sum(count for reward, count in dropped.items() if reward < r_min)
    assert filtered_phase1_groups(dropped, r_min)["corpo/filter_dropped_phase1_groups"] == phase1


def test_warning_when_the_filter_and_corpo_are_both_on():
    warning = warn_filter_groups(compose_recipe([*FILTER_ON, f"algorithm.filter_groups.metric={FILTER_GROUPS_REWARD_METRIC}"]))
    assert warning.startswith("[corpo] WARNING: algorithm.filter_groups.enable=true drops")
    assert "corpo/filter_dropped_phase1_groups counts them every step" in warning


def test_warning_says_when_the_metric_makes_the_count_impossible():
    warning = warn_filter_groups(compose_recipe([*FILTER_ON, "algorithm.filter_groups.metric=acc"]))
    assert "with filter_groups.metric=acc they cannot be counted" in warning


@pytest.mark.parametrize("overrides", [[], [*FILTER_ON, "algorithm.filter_groups.metric=reward", "algorithm.adv_estimator=grpo"]])
def test_no_warning_otherwise(overrides):
    assert warn_filter_groups(compose_recipe(overrides)) is None

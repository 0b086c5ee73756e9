"""The experiment's statistics (recipe/corpo/cpu_tasks/learn/stats.py): paired bootstrap over seeds and prompts, Holm."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recipe.corpo.cpu_tasks.learn import stats


def _runs(rng, seeds=5, prompts=100, effect=0.0, seed_spread=0.05):
    """Per-prompt pass@1 of two estimators on the same prompts: a shared prompt difficulty, a per-seed
    offset (what a seed's training luck adds, shared by nothing), and ``effect`` added to a."""
    difficulty = rng.uniform(0.1, 0.9, size=prompts)
    a = np.clip(difficulty + rng.normal(0, seed_spread, size=(seeds, 1)) + effect + rng.normal(0, 0.1, (seeds, prompts)), 0, 1)
    b = np.clip(difficulty + rng.normal(0, seed_spread, size=(seeds, 1)) + rng.normal(0, 0.1, (seeds, prompts)), 0, 1)
    return a, b


def test_a_planted_difference_is_found():
    a, b = _runs(np.random.default_rng(1), effect=0.15)
    result = stats.paired_bootstrap(a, b)
    assert result["ci_low"] > 0.05 and result["p"] < 0.01
    assert result["ci_low"] <= result["mean"] <= result["ci_high"]


def test_a_null_gives_an_interval_that_covers_zero_most_of_the_time():
    rng = np.random.default_rng(2)
    covered = [stats.paired_bootstrap(*_runs(rng), resamples=1000, seed=i) for i in range(40)]
    share = np.mean([r["ci_low"] <= 0 <= r["ci_high"] for r in covered])
    # nominal 95%; the percentile bootstrap over 5 seeds under-covers somewhat (the module says so)
    assert share >= 0.75, share
    assert np.mean([r["p"] < 0.05 for r in covered]) <= 0.25


def test_the_pairing_removes_what_the_prompts_share():
    # prompts vary a lot, the estimators differ by a constant: paired, the interval is narrow
    rng = np.random.default_rng(3)
    b = rng.uniform(0, 1, size=(5, 200))
    result = stats.paired_bootstrap(b + 0.03, b)
    assert result["ci_low"] == pytest.approx(0.03) and result["ci_high"] == pytest.approx(0.03)


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="one shape"):
        stats.paired_bootstrap(np.zeros((5, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="seeds >= 2"):
        stats.paired_bootstrap(np.zeros((1, 3)), np.zeros((1, 3)))


def test_holm_on_a_known_family():
    # sorted p: 0.01 x4 = 0.04, 0.02 x3 = 0.06, 0.03 x2 = 0.06 (monotone), 0.5 x1 = 0.5
    assert stats.holm([0.03, 0.01, 0.5, 0.02]) == pytest.approx([0.06, 0.04, 0.5, 0.06])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_holm_never_lowers_a_p_value_and_keeps_their_order(p_values):
    adjusted = stats.holm(p_values)
    assert all(adj >= p - 1e-12 and adj <= 1 for adj, p in zip(adjusted, p_values))
    for i in range(len(p_values)):
        for j in range(len(p_values)):
            if p_values[i] < p_values[j]:
                assert adjusted[i] <= adjusted[j] + 1e-12


def test_no_difference_needs_an_interval_that_excludes_the_papers_gaps():
    narrow = {"mean": 0.0, "ci_low": -0.01, "ci_high": 0.02, "p_holm": 0.8}
    wide = {"mean": 0.0, "ci_low": -0.06, "ci_high": 0.05, "p_holm": 0.8}
    assert stats.describe(narrow, 0.04) == "no difference"
    assert stats.describe(wide, 0.04) == "inconclusive"
    assert stats.describe({"mean": -0.1, "ci_low": -0.15, "ci_high": -0.05, "p_holm": 0.01}, 0.04) == "lower"


def test_seed_bootstrap_drops_undefined_seeds():
    mean, low, high = stats.seed_bootstrap(np.array([0.1, np.nan, 0.3]))
    assert mean == pytest.approx(0.2) and 0.1 <= low <= high <= 0.3

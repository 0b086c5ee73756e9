"""The unbiased pass@k estimator against known values and its stated properties."""

from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recipe.corpo.reports.pass_at_k import pass_at_k


@pytest.mark.parametrize(
    "n, c, k, expected",
    [(16, 0, 16, 0.0), (16, 1, 16, 1.0), (16, 16, 1, 1.0), (20, 1, 16, 0.8), (10, 3, 1, 0.3), (4, 2, 2, 5 / 6)],
)
def test_known_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_matches_the_definition_and_is_monotone(args):
    n, c, k = args
    value = pass_at_k(n, c, k)
    assert value == pytest.approx(1 - comb(n - c, k) / comb(n, k))
    assert 0.0 <= value <= 1.0
    if c < n:
        assert pass_at_k(n, c + 1, k) >= value
    if k < n:
        assert pass_at_k(n, c, k + 1) >= value


def test_too_few_samples_is_an_error():
    with pytest.raises(ValueError, match="needs at least 16 samples"):
        pass_at_k(8, 2, 16)

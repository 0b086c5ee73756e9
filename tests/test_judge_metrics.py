"""Order consistency, the Brier score and the A/B swap of a verifier prompt, on hand-made inputs
and as properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_prep.formats.verl_rows import build_verifier_prompt, swap_candidates
from recipe.corpo.reports.judge_metrics import (
    answered,
    brier,
    order_consistency,
    verdict,
)


def _sample(a, b, order="original"):
    return {"score_a": a, "score_b": b, "order": order}


def test_one_greedy_sample_per_order_is_the_share_judged_the_same_both_ways():
    assert order_consistency([_sample(9, 1)], [_sample(2, 8, "swapped")]) == 1.0  # A correct, B incorrect both ways
    assert order_consistency([_sample(9, 1)], [_sample(8, 2, "swapped")]) == 0.0  # the verdict follows the position
    assert order_consistency([_sample(5, 1)], [_sample(1, 5, "swapped")]) == 1.0  # undecided is a verdict too
    assert order_consistency([_sample(-1, -1)], [_sample(-1, -1, "swapped")]) == 0.0  # unparsed agrees with nothing
    assert order_consistency([_sample(9, 1)], []) is None


def test_consistency_with_several_samples_is_the_chance_two_samples_agree():
    original = [_sample(9, 1), _sample(9, 1), _sample(1, 9), _sample(-1, -1)]
    swapped = [_sample(1, 9, "swapped"), _sample(9, 1, "swapped")]
    # verdicts (c, i): 2/4 original, 1/2 swapped; (i, c): 1/4 and 1/2
    assert order_consistency(original, swapped) == pytest.approx(2 / 4 * 1 / 2 + 1 / 4 * 1 / 2)
    assert verdict(_sample(7, 3, "swapped")) == ("incorrect", "correct")


def test_brier_score_reads_scores_as_probabilities():
    assert brier([_sample(10, 0)], (1, 0)) == 0.0
    assert brier([_sample(5, 5)], (1, 0)) == pytest.approx(0.25)
    assert brier([_sample(0, 10)], (1, 0)) == 1.0
    assert brier([_sample(8, 4), _sample(-1, -1)], (1, 1)) == pytest.approx(((0.2 ** 2) + (0.6 ** 2)) / 2)
    assert brier([_sample(-1, -1)], (1, 1)) is None
    assert answered([_sample(8, 4), _sample(-1, -1)]) == 0.5


_text = st.lists(st.sampled_from(list("ab #\n") + ["## Response A", "## Response B", "## Problem", "\n\n"]),
                 max_size=12).map("".join)


@given(statement=_text, response_a=_text, response_b=_text, task=st.sampled_from(["code", "math"]))
def test_swap_exchanges_the_candidates_or_declines(statement, response_a, response_b, task):
    prompt = build_verifier_prompt(statement, response_a, response_b, task)
    swapped = swap_candidates(prompt)
    if swapped is None:  # only when a section header appears inside the texts
        assert "## " in statement + response_a + response_b
        return
    assert swapped == build_verifier_prompt(statement, response_b, response_a, task)
    assert swap_candidates(swapped) == prompt


@given(statement=st.text(max_size=60), response_a=st.text(max_size=60), response_b=st.text(max_size=60))
def test_swap_always_works_for_texts_without_headers(statement, response_a, response_b):
    prompt = build_verifier_prompt(statement.replace("#", ""), response_a.replace("#", ""), response_b.replace("#", ""))
    assert swap_candidates(prompt) == build_verifier_prompt(
        statement.replace("#", ""), response_b.replace("#", ""), response_a.replace("#", ""))


def test_swap_declines_other_prompts():
    assert swap_candidates([{"role": "user", "content": "Which is better, A or B?"}]) is None
    assert swap_candidates([{"role": "system", "content": "x"}, *build_verifier_prompt("s", "a", "b")]) is None

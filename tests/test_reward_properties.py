"""Hypothesis properties of the reward's ordering (spec section 3) and a fuzz test of its parser."""

import json
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from corpo_advantage.reward import R_MIN_CORRECT, compute_score

KEYS = {"score", "acc", "format_ok", "score_a", "score_b", "judge_a_ok", "judge_b_ok"}
FORMAT_FAILURE = -1.0
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)

label = st.integers(0, 1)
labels = st.tuples(label, label)
# scores written with 0 to 3 decimals (exactly representable as text); the threshold and the ends
# of the scale are drawn often
thousandths = st.one_of(st.sampled_from([0, 4999, 5000, 5001, 10000]), st.integers(0, 10000))


def as_text(k: int) -> str:
    """The decimal text of k / 1000, e.g. 7250 -> '7.25', 5000 -> '5'."""
    whole, frac = divmod(k, 1000)
    return f"{whole}.{frac:03d}".rstrip("0").rstrip(".")


def reward(k_a: int, k_b: int, y: tuple) -> dict:
    """The reward of an answer whose scores are k_a / 1000 and k_b / 1000, after some reasoning."""
    response = f"<think>Let me check both.</think>\nFinal: \\boxed{{{as_text(k_a)}, {as_text(k_b)}}}"
    return compute_score("corpo_code_pairs", response, json.dumps({"labels": list(y)}))


def wrong_judgments(k_a: int, k_b: int, y: tuple) -> int:
    """Independent oracle: a judgment is right when on the label's side of 5 (5 itself is wrong)."""
    return sum(not (k > 5000 if label == 1 else k < 5000) for k, label in zip((k_a, k_b), y))


def assert_valid_result(result: dict) -> None:
    """The contract verl relies on: the same float keys, finite, consistent with each other."""
    assert set(result) == KEYS
    assert all(type(v) is float and math.isfinite(v) for v in result.values())
    assert -1.0 <= result["score"] <= 1.0
    assert {result["acc"], result["format_ok"], result["judge_a_ok"], result["judge_b_ok"]} <= {0.0, 1.0}
    assert result["acc"] == float(result["judge_a_ok"] == result["judge_b_ok"] == 1.0)
    if result["format_ok"] == 1.0:
        assert 0.0 <= result["score_a"] <= 10.0 and 0.0 <= result["score_b"] <= 10.0
        assert result["score"] > FORMAT_FAILURE
    else:
        assert result["score"] == FORMAT_FAILURE and result["score_a"] == result["score_b"] == -1.0
        assert result["acc"] == result["judge_a_ok"] == result["judge_b_ok"] == 0.0


@PROPERTY_SETTINGS
@given(thousandths, thousandths, labels)
def test_correct_trajectories_score_at_least_r_min_correct_and_failures_below(k_a, k_b, y):
    result = reward(k_a, k_b, y)
    assert_valid_result(result)
    assert result["format_ok"] == 1.0
    assert (result["score_a"], result["score_b"]) == (k_a / 1000, k_b / 1000)
    correct = wrong_judgments(k_a, k_b, y) == 0
    assert result["acc"] == float(correct)
    if correct:
        assert R_MIN_CORRECT <= result["score"] <= 1.0
    else:
        assert FORMAT_FAILURE < result["score"] < R_MIN_CORRECT


@PROPERTY_SETTINGS
@given(thousandths, thousandths, labels, thousandths, thousandths, labels)
def test_fewer_wrong_judgments_always_score_higher(k_a, k_b, y, k_a2, k_b2, y2):
    wrong, wrong2 = wrong_judgments(k_a, k_b, y), wrong_judgments(k_a2, k_b2, y2)
    assume(wrong != wrong2)
    score, score2 = reward(k_a, k_b, y)["score"], reward(k_a2, k_b2, y2)["score"]
    assert (score > score2) == (wrong < wrong2)


@st.composite
def judgment_and_a_move_away_from_5(draw):
    """Labels, scores, which judgment (0 = A, 1 = B) and a new score further from 5 on its side."""
    y, k = draw(labels), [draw(thousandths), draw(thousandths)]
    i = draw(st.integers(0, 1))
    k_moved = draw(st.integers(k[i], 10000) if k[i] >= 5000 else st.integers(0, k[i]))
    moved = list(k)
    moved[i] = k_moved
    return y, k, moved, i


@PROPERTY_SETTINGS
@given(judgment_and_a_move_away_from_5())
def test_more_confidence_in_a_right_judgment_never_scores_lower(case):
    y, k, moved, i = case
    assume(k[i] != 5000 and (k[i] > 5000) == (y[i] == 1))  # judgment i is right
    assert reward(*moved, y)["score"] >= reward(*k, y)["score"]


@PROPERTY_SETTINGS
@given(judgment_and_a_move_away_from_5())
def test_a_more_confident_error_scores_lower(case):
    y, k, moved, i = case
    assume(k[i] == 5000 or (k[i] > 5000) != (y[i] == 1))  # judgment i is wrong (5 = undecided)
    assume(not (k[i] == 5000 and moved[i] > 5000 and y[i] == 1))  # moving off 5 must stay wrong
    assume(not (k[i] == 5000 and moved[i] < 5000 and y[i] == 0))
    before, after = reward(*k, y)["score"], reward(*moved, y)["score"]
    assert after < before if moved[i] != k[i] else after == before


@PROPERTY_SETTINGS
@given(thousandths, thousandths, labels, st.text(max_size=200))
def test_format_failure_is_the_minimum(k_a, k_b, y, garbage):
    no_box = garbage.replace("\\", "")  # without a backslash there is no \boxed{
    failure = compute_score("corpo_code_pairs", no_box, json.dumps({"labels": list(y)}))
    assert failure["score"] == FORMAT_FAILURE and failure["format_ok"] == 0.0
    assert reward(k_a, k_b, y)["score"] > failure["score"]


@PROPERTY_SETTINGS
@given(thousandths, thousandths, thousandths, thousandths, labels, st.booleans())
def test_scores_in_the_reasoning_never_count(k_a, k_b, k_a2, k_b2, y, parentheses):
    pair = f"({as_text(k_a)}, {as_text(k_b)})" if parentheses else f"{as_text(k_a)},{as_text(k_b)}"
    answer = f"\\boxed{{{pair}}}"
    decoy = f"<think>First guess \\boxed{{{as_text(k_a2)}, {as_text(k_b2)}}}.</think>"
    ground_truth = json.dumps({"labels": list(y)})
    with_reasoning = compute_score("corpo_code_pairs", decoy + answer, ground_truth)
    assert with_reasoning == compute_score("corpo_code_pairs", answer, ground_truth)
    assert with_reasoning == reward(k_a, k_b, y)
    assert compute_score("corpo_code_pairs", decoy, ground_truth)["format_ok"] == 0.0


# ---------------------------------------------------------------------------------------------
# Fuzz: random and adversarial responses never raise and always return a valid result
# ---------------------------------------------------------------------------------------------

FRAGMENTS = [
    "\\boxed{", "\\boxed", "{", "}", "(", ")", ",", ", ", ".", "-", "+", " ", "\n", "<think>",
    "</think>", "<think", "think>", "0", "5", "7.5", "10", "10.5", "99", "1e400", "nan", "inf",
    "\u0669", "\\frac{1}{2}", "\x00", "\ud7ff",
]
fuzz_text = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join),
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)), max_size=40).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(fuzz_text, labels)
def test_fuzz_never_raises_and_returns_a_valid_result(response, y):
    assert_valid_result(compute_score("corpo_code_pairs", response, json.dumps({"labels": list(y)})))


MEGABYTE = 1 << 20
ADVERSARIAL = {
    "repeated box openings": ("\\boxed{" * (MEGABYTE // 7), False),
    "repeated box openings after reasoning": ("</think>" + "\\boxed{(" * (MEGABYTE // 8), False),
    "repeated parentheses in a box": ("\\boxed{" + "(" * MEGABYTE, False),
    "repeated parentheses": ("(" * MEGABYTE, False),
    "digits": ("9" * MEGABYTE, False),
    "digits in a box": ("\\boxed{" + "9" * MEGABYTE + "}", False),
    "digit-comma pairs in a box": ("\\boxed{" + "9, " * (MEGABYTE // 3) + "}", False),
    "repeated close tags": ("</think>" * (MEGABYTE // 8), False),
    "repeated open tags": ("<think>" * (MEGABYTE // 7), False),
    "alternating tags, then an answer": ("<think></think>" * (MEGABYTE // 15) + "\\boxed{9, 1}", True),
    "whitespace, then an answer": (" " * MEGABYTE + "\\boxed{9, 1}", True),
    "whitespace inside the box": ("\\boxed{9," + " " * MEGABYTE + "1}", False),
    "long reasoning full of boxes, then an answer": (
        "<think>" + "\\boxed{(1, 2" * (MEGABYTE // 12) + "</think>\\boxed{9, 1}",
        True,
    ),
}


@pytest.mark.timeout(120)  # a hang guard, not a speed check (scripts/bench/bench_reward.py measures speed)
@pytest.mark.parametrize("response, parsable", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_megabyte_adversarial_inputs(response, parsable):
    assert len(response) >= MEGABYTE - 16
    result = compute_score("corpo_code_pairs", response, json.dumps({"labels": [1, 0]}))
    assert_valid_result(result)
    assert result["format_ok"] == float(parsable)
    if parsable:
        assert result["score"] == pytest.approx(0.8)

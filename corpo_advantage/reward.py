"""Reward of the pairwise code verifier (spec section 3): an ordinal grade of the scores (v_A, v_B).

The model ends its answer with ``\\boxed{v_A, v_B}``, its confidence in [0, 10] that each
response is correct (the format is parsed by :mod:`corpo_advantage.verdict_parsing`). The ground
truth is the JSON string ``{"labels": [y_A, y_B]}`` with y in {0, 1}.

The formula (the constants below are its whole shape)::

    judgment i is right   iff  v_i > THRESHOLD when y_i = 1,  v_i < THRESHOLD when y_i = 0
                          (v_i = THRESHOLD is undecided: a wrong judgment)
    confidence c_i        =  |v_i - THRESHOLD| / (distance from THRESHOLD to the end of the
                             scale on v_i's side)        -> 0 at 5, 1 at 0 or 10

    CORRECT (both right):         R = (c_A + c_B) / 2                               in (0, 1]
    FAILED (k >= 1 wrong):        R = - sum over wrong i of (WRONG_BASE + WRONG_SPAN * c_i)
                                    one wrong in [-0.45, -0.25], two wrong in [-0.9, -0.5]
    format failure:               R = FORMAT_FAILURE_REWARD = -1

So every CORRECT trajectory scores >= R_MIN_CORRECT = 0 > every failure; one wrong judgment
always scores above two (WRONG_SPAN < WRONG_BASE); a confident error scores below a hesitant one;
the confidence of a right judgment in a failed trajectory does not count; an unparsable answer
scores below every parsable one (2 * (WRONG_BASE + WRONG_SPAN) < 1).

``compute_score`` is verl's ``reward.custom_reward_function`` (``path=pkg://corpo_advantage.reward``,
``name=compute_score``). verl's reward loop calls it once per response, in a worker thread: it uses
no signals, keeps no state and returns the same numeric keys on every call (see ``compute_score``).
"""

from __future__ import annotations

import json
from typing import Any

from corpo_advantage.verdict_parsing import SCORE_MAX, SCORE_MIN, parse_verdict

#: Every CORRECT trajectory scores >= R_MIN_CORRECT and every failure < R_MIN_CORRECT.
#: The recipe's ``algorithm.corpo.r_min_correct`` defaults to this value.
R_MIN_CORRECT = 0.0

#: A score above THRESHOLD judges the response correct, below it incorrect; exactly THRESHOLD is
#: undecided and counts as a wrong judgment.
THRESHOLD = 5.0

#: Cost of one wrong judgment: WRONG_BASE + WRONG_SPAN * its confidence. WRONG_SPAN < WRONG_BASE
#: keeps one wrong judgment above two; 2 * (WRONG_BASE + WRONG_SPAN) < -FORMAT_FAILURE_REWARD keeps
#: every parsable answer above an unparsable one.
WRONG_BASE = 0.25
WRONG_SPAN = 0.2

#: Reward of an answer that cannot be parsed (the minimum of the scale).
FORMAT_FAILURE_REWARD = -1.0

#: ``score_a`` / ``score_b`` when the answer cannot be parsed (outside [SCORE_MIN, SCORE_MAX]).
UNPARSED_SCORE = -1.0


def parse_labels(ground_truth: Any) -> tuple[int, int]:
    """The labels ``(y_A, y_B)`` of the JSON string ``{"labels": [y_A, y_B]}``.

    Raises ``ValueError`` on anything else: a malformed ground truth is a data error, not the
    model's, and must not be graded silently.
    """
    if not isinstance(ground_truth, str):
        raise ValueError(
            f'corpo reward: ground_truth must be the JSON string {{"labels": [yA, yB]}}, '
            f"got {type(ground_truth).__name__}: {ground_truth!r:.200}"
        )
    try:
        parsed = json.loads(ground_truth)
    except json.JSONDecodeError as err:
        raise ValueError(f"corpo reward: ground_truth is not JSON ({err}): {ground_truth!r:.200}") from None
    labels = parsed.get("labels") if isinstance(parsed, dict) else None
    if (
        not isinstance(labels, list)
        or len(labels) != 2
        or not all(type(y) is int and y in (0, 1) for y in labels)
    ):
        raise ValueError(
            f'corpo reward: ground_truth must be {{"labels": [yA, yB]}} with yA, yB in {{0, 1}}, '
            f"got {ground_truth!r:.200}"
        )
    return labels[0], labels[1]


def judgment_is_right(score: float, label: int) -> bool:
    """Whether a score judges its response as the label says (THRESHOLD itself is never right)."""
    return score > THRESHOLD if label == 1 else score < THRESHOLD


def confidence(score: float) -> float:
    """How far a score is from THRESHOLD, in [0, 1]: 0 at THRESHOLD, 1 at either end of the scale."""
    if score >= THRESHOLD:
        return (score - THRESHOLD) / (SCORE_MAX - THRESHOLD)
    return (THRESHOLD - score) / (THRESHOLD - SCORE_MIN)


def grade(scores: tuple[float, float], labels: tuple[int, int]) -> float:
    """The reward of parsed scores ``(v_A, v_B)`` against ``labels`` (the formula above)."""
    right = [judgment_is_right(v, y) for v, y in zip(scores, labels)]
    if all(right):
        return sum(confidence(v) for v in scores) / 2
    return -sum(WRONG_BASE + WRONG_SPAN * confidence(v) for v, ok in zip(scores, right) if not ok)


def compute_score(
    data_source: str, solution_str: str, ground_truth: str, extra_info: dict | None = None, **kwargs: Any
) -> dict[str, float]:
    """verl's custom reward function: grade one response of the pairwise verifier.

    Returns the same float keys on every call (verl builds its arrays from the first sample's keys):

    - ``score``: the reward (module docstring);
    - ``acc``: 1.0 when the trajectory is CORRECT (both judgments right), else 0.0; verl reports it
      as the validation accuracy;
    - ``format_ok``: 1.0 when the scores could be parsed, else 0.0;
    - ``score_a``, ``score_b``: the parsed scores, UNPARSED_SCORE (-1.0) on a format failure;
    - ``judge_a_ok``, ``judge_b_ok``: 1.0 when that judgment is right, else 0.0 (0.0 when unparsed).

    ``data_source``, ``extra_info`` and any further keyword arguments verl passes are ignored.
    Raises ``ValueError`` when ``ground_truth`` is malformed.
    """
    labels = parse_labels(ground_truth)
    scores = parse_verdict(solution_str)
    if scores is None:
        return {
            "score": FORMAT_FAILURE_REWARD,
            "acc": 0.0,
            "format_ok": 0.0,
            "score_a": UNPARSED_SCORE,
            "score_b": UNPARSED_SCORE,
            "judge_a_ok": 0.0,
            "judge_b_ok": 0.0,
        }
    judge_a_ok, judge_b_ok = (judgment_is_right(v, y) for v, y in zip(scores, labels))
    return {
        "score": grade(scores, labels),
        "acc": float(judge_a_ok and judge_b_ok),
        "format_ok": 1.0,
        "score_a": scores[0],
        "score_b": scores[1],
        "judge_a_ok": float(judge_a_ok),
        "judge_b_ok": float(judge_b_ok),
    }

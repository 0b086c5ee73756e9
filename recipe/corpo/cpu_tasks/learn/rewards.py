"""The two rewards of the experiment: the project's ordinal reward and the binary control.

- ``ordinal``: ``corpo_advantage.reward.compute_score`` (spec section 3): a correct answer scores
  in (0, 1] by its confidence, a failure in [-0.45, -0.25] (one wrong judgment), [-0.9, -0.5]
  (two) or -1 (format): failures at several levels, which GRPO's mean baseline can rank.
- ``binary``: +1 when both judgments are right, -1 otherwise (``compute_score`` below, usable as
  verl's ``custom_reward_function``): every failure scores the same, so GRPO's group mean never
  lies below a failure and GRPO never reinforces one (the control). ``R_min_correct`` = 0 for both.
"""

from __future__ import annotations

from typing import Any

from corpo_advantage import reward as ordinal

REWARDS = ("ordinal", "binary")

#: the level of each answer: CORRECT, one or two wrong judgments, or a format failure
LEVELS = ("correct", "one_wrong", "two_wrong", "format")


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict | None = None,
                  **kwargs: Any) -> dict[str, float]:
    """The binary control reward, with the ordinal reward's other keys (``acc``, ``score_a``...)."""
    details = ordinal.compute_score(data_source, solution_str, ground_truth, extra_info)
    return {**details, "score": 1.0 if details["acc"] else -1.0}


def score(reward: str, data_source: str, solution_str: str, ground_truth: str) -> dict[str, float]:
    """``reward``'s verdict on one answer: ``compute_score``'s keys, ``score`` being that reward's."""
    if reward == "ordinal":
        return ordinal.compute_score(data_source, solution_str, ground_truth)
    if reward == "binary":
        return compute_score(data_source, solution_str, ground_truth)
    raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")


def level(details: dict[str, float]) -> str:
    """The answer's level in ``LEVELS``, from ``compute_score``'s keys."""
    if not details["format_ok"]:
        return "format"
    wrong = 2 - int(details["judge_a_ok"]) - int(details["judge_b_ok"])
    return LEVELS[wrong]

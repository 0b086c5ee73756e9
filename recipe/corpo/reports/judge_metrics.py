"""Judge-quality metrics of one validation pair, from its scored samples.

A scored sample holds the parsed scores ``score_a``, ``score_b`` in [0, 10] of the prompt it
answered (``-1`` when the answer could not be parsed), the labels that prompt showed, and its
``order``: ``original``, or ``swapped`` (the same pair with responses A and B exchanged).

- **Verdict** of a parsed sample: per response of the *original* pair, ``correct`` (score above
  the reward's THRESHOLD, 5), ``incorrect`` (below) or ``undecided`` (exactly 5). A swapped
  sample's scores are mapped back to the original responses first. An unparsed sample has no
  verdict.
- **Order consistency** of a pair: the probability that one sample in the original order and one
  in the swapped order give the same verdict on both responses,
  ``sum_v p_original(v) * p_swapped(v)`` over verdicts v, with unparsed samples in the
  denominators (they agree with nothing). With one greedy sample per order this is 1 when the
  pair is judged the same both ways and 0 otherwise: the share of pairs judged the same both ways.
- **Brier score** of a pair: the scores read as probabilities that each response is correct,
  ``p = (v - 0) / (10 - 0)``, against the labels: the mean over the original-order parsed samples
  of ``((p_A - y_A)^2 + (p_B - y_B)^2) / 2``. 0 is perfect; always answering 5 (p = 0.5) scores
  0.25. Unparsed samples are left out (the share of parsed samples is reported beside it).
"""

from __future__ import annotations

from collections import Counter
from math import fsum
from typing import Sequence

from corpo_advantage.reward import THRESHOLD
from corpo_advantage.verdict_parsing import SCORE_MAX, SCORE_MIN

ORIGINAL, SWAPPED = "original", "swapped"


def parsed_scores(sample: dict) -> tuple[float, float] | None:
    """``(score_a, score_b)`` of the prompt the sample answered, or None if unparsed or absent."""
    scores = (sample.get("score_a"), sample.get("score_b"))
    if any(not isinstance(v, (int, float)) or not SCORE_MIN <= v <= SCORE_MAX for v in scores):
        return None
    return float(scores[0]), float(scores[1])


def _decision(score: float) -> str:
    return "correct" if score > THRESHOLD else "incorrect" if score < THRESHOLD else "undecided"


def verdict(sample: dict) -> tuple[str, str] | None:
    """The sample's decisions on (original response A, original response B), or None if unparsed."""
    scores = parsed_scores(sample)
    if scores is None:
        return None
    if sample.get("order", ORIGINAL) == SWAPPED:
        scores = scores[::-1]
    return _decision(scores[0]), _decision(scores[1])


def order_consistency(original: Sequence[dict], swapped: Sequence[dict]) -> float | None:
    """P(a sample in each order gives the same verdict); None without samples in both orders."""
    if not original or not swapped:
        return None
    first = Counter(v for v in map(verdict, original) if v is not None)
    second = Counter(v for v in map(verdict, swapped) if v is not None)
    return fsum(first[v] * second[v] for v in first) / (len(original) * len(swapped))


def brier(original: Sequence[dict], labels: Sequence[int]) -> float | None:
    """Mean Brier score of the parsed original-order samples against ``labels``; None if none parsed."""
    terms = []
    for scores in filter(None, map(parsed_scores, original)):
        p = [(v - SCORE_MIN) / (SCORE_MAX - SCORE_MIN) for v in scores]
        terms.append(((p[0] - labels[0]) ** 2 + (p[1] - labels[1]) ** 2) / 2)
    return fsum(terms) / len(terms) if terms else None


def answered(original: Sequence[dict]) -> float | None:
    """Share of original-order samples whose answer was parsed (None when the samples lack scores)."""
    if not original or any("score_a" not in s for s in original):
        return None
    return sum(parsed_scores(s) is not None for s in original) / len(original)

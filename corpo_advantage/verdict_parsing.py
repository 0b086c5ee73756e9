"""Find the verifier's two scores in a response (the answer format of spec section 3).

The answer format, the contract between the data's prompt and the reward:

- the model may reason inside ``<think>...</think>``; only the text after the last ``</think>``
  is searched (the whole response when there is none), so scores written while reasoning never
  count. An opened ``<think>`` that is never closed means the model gave no answer;
- the last ``\\boxed{...}`` of that text holds the answer: exactly two decimal numbers, response A
  first, separated by a comma, optionally inside one pair of parentheses: ``\\boxed{7, 2}``,
  ``\\boxed{(7.5, 2)}``;
- each score is a plain decimal number (ASCII digits, an optional fractional part; no sign, no
  exponent, no ``nan``/``inf``) in ``[SCORE_MIN, SCORE_MAX]``.

Anything else is a format failure (``parse_verdict`` returns ``None``). Parsing is linear in the
length of the response: two ``str.rfind`` and one ``str.find`` over the text, then an anchored
regular expression over at most ``MAX_BOX_CONTENT_CHARS`` characters, so no input can make a
regular expression backtrack over the whole response.
"""

from __future__ import annotations

import re

#: Lowest and highest score the model may give (its confidence that a response is correct).
SCORE_MIN = 0.0
SCORE_MAX = 10.0

#: A box whose closing brace is further than this after ``\boxed{`` is a format failure. Enough
#: for ``( 10.000000 , 10.000000 )`` with generous spacing; bounds the regular expression's work.
MAX_BOX_CONTENT_CHARS = 64

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
BOX_OPEN = "\\boxed{"
BOX_CLOSE = "}"

_NUMBER = r"([0-9]+(?:\.[0-9]+)?)"
_PAIR = rf"{_NUMBER}\s*,\s*{_NUMBER}"
_BOX_CONTENT = re.compile(rf"\s*(?:{_PAIR}|\(\s*{_PAIR}\s*\))\s*")


def answer_text(response: str) -> str | None:
    """The part of ``response`` after the reasoning, or ``None`` when the reasoning never ends."""
    close = response.rfind(THINK_CLOSE)
    answer = response if close < 0 else response[close + len(THINK_CLOSE) :]
    if THINK_OPEN in answer:
        return None
    return answer


def boxed_content(answer: str) -> str | None:
    """The text inside the last ``\\boxed{...}`` of ``answer``, or ``None`` without a closed box."""
    start = answer.rfind(BOX_OPEN)
    if start < 0:
        return None
    start += len(BOX_OPEN)
    end = answer.find(BOX_CLOSE, start, start + MAX_BOX_CONTENT_CHARS + 1)
    if end < 0:
        return None
    return answer[start:end]


def parse_scores(box_content: str) -> tuple[float, float] | None:
    """The two scores ``(v_a, v_b)`` written in a box, or ``None`` if they break the format."""
    match = _BOX_CONTENT.fullmatch(box_content)
    if match is None:
        return None
    groups = [g for g in match.groups() if g is not None]
    scores = (float(groups[0]), float(groups[1]))
    if not all(SCORE_MIN <= v <= SCORE_MAX for v in scores):
        return None
    return scores


def parse_verdict(response: str) -> tuple[float, float] | None:
    """The scores ``(v_a, v_b)`` a response ends with, or ``None`` on a format failure."""
    answer = answer_text(response)
    if answer is None:
        return None
    content = boxed_content(answer)
    if content is None:
        return None
    return parse_scores(content)

"""Taking model responses apart: the reasoning, the final answer and its last code block."""

from __future__ import annotations

import re

from corpo_advantage.verdict_parsing import answer_text

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#.-]*)[^\n]*\n(.*?)```", re.DOTALL)
PYTHON_TAGS = {"", "python", "python3", "py", "py3"}


def reasoning_finished(response: str) -> bool:
    """False when the reasoning never ends: a ``<think>`` never closed, or reopened after the last
    ``</think>`` (the verifier's own rule, ``corpo_advantage.verdict_parsing.answer_text``)."""
    return answer_text(response) is not None


def strip_reasoning(response: str) -> str:
    """The text after the reasoning: after the last ``</think>``; empty if reasoning never ended."""
    answer = answer_text(response)
    return "" if answer is None else answer.strip()


def extract_code(response: str) -> tuple[str | None, str]:
    """The candidate program: the last fenced code block after the reasoning.

    Returns ``(code, why)``: ``code`` is None when there is no block, or when the last block is in
    another language than Python (``why`` says which).
    """
    blocks = _FENCE.findall(strip_reasoning(response))
    if not blocks:
        return None, "no fenced code block after the reasoning"
    language, code = blocks[-1]
    if language.lower() not in PYTHON_TAGS:
        return None, f"last code block is {language!r}, only Python is run"
    if not code.strip():
        return None, "last code block is empty"
    return code, ""

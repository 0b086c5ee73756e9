"""Taking model responses apart: the reasoning, the final answer and its last code block."""

from __future__ import annotations

import re

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#.-]*)[^\n]*\n(.*?)```", re.DOTALL)
PYTHON_TAGS = {"", "python", "python3", "py", "py3"}


def strip_reasoning(response: str) -> str:
    """The text after the reasoning: after the last ``</think>``; empty if reasoning never ended."""
    if "</think>" in response:
        return response.rsplit("</think>", 1)[1].strip()
    if "<think>" in response:
        return ""
    return response.strip()


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

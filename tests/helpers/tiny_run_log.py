"""Reads the per-step metrics verl's console logger prints (``step:N - key:value - ...``)."""

from __future__ import annotations

import re
from pathlib import Path

_STEP_LINE = re.compile(r"step:(\d+) - (.*)$")
_WRAPPED = re.compile(r"^np\.\w+\((.*)\)$")


def _number(text: str) -> float | None:
    text = text.strip()
    match = _WRAPPED.match(text)
    if match:
        text = match.group(1)
    try:
        return float(text)
    except ValueError:
        return None


def step_lines(log: str | Path) -> list[tuple[int, dict[str, float]]]:
    """(step, {metric: value}) for every step line of a console log, in order (a step that was
    logged twice, e.g. before and after a resume, appears twice)."""
    text = Path(log).read_text(errors="replace") if isinstance(log, Path) else log
    lines = []
    for line in text.splitlines():
        match = _STEP_LINE.search(line)
        if not match:
            continue
        metrics = {}
        for item in match.group(2).split(" - "):
            key, _, value = item.partition(":")
            number = _number(value)
            if number is not None:
                metrics[key.strip()] = number
        lines.append((int(match.group(1)), metrics))
    return lines


def step_metrics(log: str | Path) -> dict[int, dict[str, float]]:
    """{step: {metric: value}} for every training step line in a console log (the last line of a step)."""
    return dict(step_lines(log))

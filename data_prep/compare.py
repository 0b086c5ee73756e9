"""Judging a program's standard output against the expected one.

Comparison is token-wise: both outputs are split on any whitespace, so spacing, line breaks and
trailing newlines do not matter. Two tokens match when they are equal, or when both parse as
numbers and agree within an absolute or relative tolerance (default 1e-6), the convention of
judges that accept floating-point answers.
"""

from __future__ import annotations

import math

DEFAULT_TOLERANCE = 1e-6


def _as_float(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def tokens_match(got: str, expected: str, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether two whitespace-free tokens are the same answer."""
    if got == expected:
        return True
    a, b = _as_float(got), _as_float(expected)
    if a is None or b is None:
        return False
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


def outputs_match(got: str, expected: str, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether ``got`` equals ``expected`` token by token (whitespace-insensitive, float tolerance)."""
    got_tokens, expected_tokens = got.split(), expected.split()
    if len(got_tokens) != len(expected_tokens):
        return False
    return all(tokens_match(g, e, tolerance) for g, e in zip(got_tokens, expected_tokens))

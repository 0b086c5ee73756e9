"""The runs of the experiment: every (reward, estimator, seed) trained by the direct loop, evaluated.

    python -m recipe.corpo.cpu_tasks.learn.experiment --warm-start DIR --out OUT [--seeds 0 1 2 3 4]
        [--estimators grpo corpo_static corpo] [--rewards ordinal binary] [--steps 100] [--workers 2]

Each run (``direct.rl_step`` per step) starts from the warm start's model, validates every
``--val-every`` steps (in-domain pass@1, ``--val-samples`` samples per prompt, T = 0.6, top-p 0.95)
and at the end saves its weights as a Hugging Face folder (``runs/<name>/checkpoint``, which
``python -m recipe.corpo.evaluation.evaluate`` loads) and evaluates them (``evaluation``: ``--samples``
samples per prompt of both validation sets, both orders). One JSON per run,
``runs/<name>/run.json``; the warm start's evaluation in ``warm_start_eval.json``. Runs already
complete (their ``run.json`` written with the same settings) are kept.

Pairing: for a seed, every estimator and reward reads the training rows in the same order, samples
from a generator with the same seed, and is evaluated with the same evaluation streams.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

EVAL_SEED = 10_000  # evaluation streams: EVAL_SEED + seed (+ step for the curve)


def run_name(reward: str, estimator: str, seed: int) -> str:
    return f"{reward}-{estimator}-s{seed}"


def _load(warm_start: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    model_dir = warm_start / "model"
    return AutoModelForCausalLM.from_pretrained(model_dir), AutoTokenizer.from_pretrained(model_dir)


def val_files(warm_start: Path) -> dict[str, str]:
    from recipe.corpo.cpu_tasks.learn.evaluation import GROUPS
    return {group: str(warm_start / "data" / f"{split}.parquet") for group, split in GROUPS.items()}


def evaluate_warm_start(warm_start: Path, out: Path, options: dict) -> dict:
    """The warm start's evaluation (the same prompts, samples and streams as the runs' seed 0)."""
    import torch
    from recipe.corpo.cpu_tasks.learn import evaluation
    target = out / "warm_start_eval.json"
    if target.exists() and json.loads(target.read_text()).get("options") == options:
        return json.loads(target.read_text())
    torch.set_num_threads(1)
    model, tokenizer = _load(warm_start)
    prompts = evaluation.load_rows(tokenizer, val_files(warm_start), options["val_pairs"])
    samples = evaluation.sample_correct(model, tokenizer, prompts, options["samples"], EVAL_SEED,
                                        options["max_new_tokens"])
    result = {"options": options, "samples": samples,
              "pass": evaluation.summarise(samples, options["samples"], tuple(options["ks"]))}
    target.write_text(json.dumps(result))
    return result


def train_and_evaluate(warm_start: str, out: str, reward: str, estimator: str, seed: int, options: dict) -> str:
    """One run (module docstring); returns its name."""
    import torch
    from recipe.corpo.cpu_tasks.learn import direct, evaluation
    torch.set_num_threads(1)
    name = run_name(reward, estimator, seed)
    run_dir = Path(out) / "runs" / name
    target = run_dir / "run.json"
    settings = direct.RunSettings(estimator=estimator, reward=reward, seed=seed, steps=options["steps"],
                                  prompts=options["prompts"], rollouts=options["rollouts"], lr=options["lr"],
                                  max_new_tokens=options["max_new_tokens"])
    if target.exists() and json.loads(target.read_text()).get("options") == options:
        return name
    started = time.time()
    torch.manual_seed(seed)
    model, tokenizer = _load(Path(warm_start))
    train = evaluation.train_rows(tokenizer, str(Path(warm_start) / "data" / "train.parquet"))
    prompts = evaluation.load_rows(tokenizer, val_files(Path(warm_start)), options["val_pairs"])
    in_domain = [p for p in prompts if p.row.startswith("in_domain/")]
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed)
    order = direct.data_order(len(train), seed, settings.steps, settings.prompts)

    def validate(step: int) -> dict:
        samples = evaluation.sample_correct(model, tokenizer, in_domain, options["val_samples"],
                                            EVAL_SEED + seed + 7919 * step, settings.max_new_tokens)
        return {"step": step, "in_domain_pass1": evaluation.summarise(samples, options["val_samples"], ())["in_domain"]["pass1"]}

    curve = [validate(0)]
    steps = []
    for step in range(1, settings.steps + 1):
        steps.append(direct.rl_step(model, optimizer, tokenizer, [train[i] for i in order[step - 1]], settings,
                                    generator, step))
        if step % options["val_every"] == 0 or step == settings.steps:
            curve.append(validate(step))
            print(f"[{name}] step {step}: train success {steps[-1]['train_success']:.2f}, "
                  f"in-domain pass@1 {curve[-1]['in_domain_pass1']:.3f} ({time.time() - started:.0f} s)",
                  file=sys.stderr, flush=True)
    checkpoint = run_dir / "checkpoint"
    model.save_pretrained(checkpoint)
    tokenizer.save_pretrained(checkpoint)
    train_s = time.time() - started
    samples = evaluation.sample_correct(model, tokenizer, prompts, options["samples"], EVAL_SEED + seed,
                                        settings.max_new_tokens)
    result = {"options": options, "settings": dataclasses.asdict(settings), "checkpoint": str(checkpoint),
              "steps": steps, "curve": curve, "samples": samples,
              "pass": evaluation.summarise(samples, options["samples"], tuple(options["ks"])),
              "train_s": round(train_s, 1), "wall_s": round(time.time() - started, 1)}
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, target)
    return name


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm-start", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--estimators", nargs="+", default=["grpo", "corpo_static", "corpo"])
    parser.add_argument("--rewards", nargs="+", default=["ordinal", "binary"])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--prompts", type=int, default=16, help="prompts per training batch")
    parser.add_argument("--rollouts", type=int, default=8, help="samples per prompt in training")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--val-every", type=int, default=10)
    parser.add_argument("--val-samples", type=int, default=1, help="samples per prompt for the validation curve")
    parser.add_argument("--val-pairs", type=int, default=None, help="first N pairs of each validation set (all)")
    parser.add_argument("--samples", type=int, default=16, help="samples per prompt in the final evaluation")
    parser.add_argument("--ks", type=int, nargs="+", default=[4], help="pass@k besides pass@1")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    options = {"steps": args.steps, "prompts": args.prompts, "rollouts": args.rollouts, "lr": args.lr,
               "val_every": args.val_every, "val_samples": args.val_samples, "val_pairs": args.val_pairs,
               "samples": args.samples, "ks": args.ks, "max_new_tokens": args.max_new_tokens}
    if any(k >= args.samples for k in args.ks):
        parser.error(f"--ks must be below --samples ({args.samples}) for an unbiased pass@k")
    (args.out / "runs").mkdir(parents=True, exist_ok=True)
    jobs = [(r, e, s) for s in args.seeds for r in args.rewards for e in args.estimators]
    started = time.time()
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(evaluate_warm_start, args.warm_start, args.out, options)]
        futures += [pool.submit(train_and_evaluate, str(args.warm_start), str(args.out), *job, options) for job in jobs]
        for future in as_completed(futures):
            done = future.result()
            print(f"[experiment] done: {done if isinstance(done, str) else 'warm start evaluation'} "
                  f"({time.time() - started:.0f} s)", file=sys.stderr, flush=True)
    (args.out / "experiment.json").write_text(json.dumps(
        {"options": options, "workers": args.workers, "seeds": args.seeds, "estimators": args.estimators, "rewards": args.rewards,
         "warm_start": str(args.warm_start), "val_files": val_files(args.warm_start)}, indent=2))


if __name__ == "__main__":
    main()

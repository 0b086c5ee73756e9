"""The shared warm start of the CPU learning runs: the task's data, a small model and its tokenizer.

Built locally on first use, nothing downloaded, and cached (``--out`` or ``$CORPO_LEARN_HOME``,
default ``~/.cache/verl-corpo/learn``); a missing or incomplete cache, or one built with other
settings, is rebuilt::

    python -m recipe.corpo.cpu_tasks.learn.warm_start [--out DIR] [--force]

- data: ``recipe.corpo.cpu_tasks.learn.task`` (four splits in the real data format) under ``data/``;
- tokenizer: byte-level BPE trained on the prompts, with the tiny default's chat template; each
  constant (2..19), digit, operator, bracket and variable is a piece of its own, so every formula
  is seven tokens and the statement and each candidate sit at fixed distances; everything between
  may merge, so the prompt's fixed instructions cost a few tokens (a prompt is ~110 tokens);
- model: ``LlamaForCausalLM``, ``layers`` layers, hidden ``hidden``, heads of dim 32 (~0.6-0.9M
  parameters). (A ``qwen2`` folder would have its tokenizer replaced by transformers'
  ``Qwen2Tokenizer`` on loading; Llama's tokenizer loads as saved.)
- warm start, supervised next-token training on the *training problems* in all four pair
  configurations (RL then trains on one-correct pairs only), in two stages:

  1. ``steps`` steps (cosine) with right, confident judgments (``\boxed{9, 1}`` for a correct A and
     an incorrect B), learning the prompts' tokens as well (``prompt_weight`` times their loss
     beside the answers'; in the development probes, docs/learn_cpu.md, the answers' loss alone
     left the model at chance for 750 steps on the task's first version, and with both it caught
     this version's crashes within 200 steps);
  2. ``calibrate_steps`` steps at a low learning rate from a *calibrated* teacher
     (``calibrated_answer``): each score drawn on its own with P(correct | v) = v / 10.

  The model learns what a candidate's own text shows (a crash) and not the comparison with the
  problem that a wrong answer needs (``task``): the result is an imperfect, calibrated judge of
  every configuration
  (``judge`` in the summary: its accuracy per candidate kind and pair configuration on the
  validation problems, one sample per prompt at T = 0.6), whose failures come at many reward
  levels (one wrong judgment or two, confident or not, format): the partial credit GRPO's mean
  baseline can turn into a positive advantage for a failure, and CoRPO never does.
  ``stage_losses`` in the summary records each stage's answer loss.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from transformers import AutoTokenizer, GenerationConfig

from data_prep.formats.verl_rows import build_verifier_prompt
from recipe.corpo.cpu_tasks.learn import evaluation, task
from recipe.corpo.cpu_tasks.learn.policy import prompt_text
from recipe.corpo.cpu_tasks.tiny_default import build_model, build_tokenizer, warm_start

COMPLETE_MARKER = "warm_start.json"
#: pieces the tokenizer never merges with their neighbours (see the module docstring)
SPLIT_PATTERN = r" ?[-+*] ?|1[0-9]|[0-9]|[(){},$\\]|\b[abc]\b"
#: the runs' data.max_prompt_length and max_response_length (an answer such as \boxed{10, 3} is ~10 tokens)
PROMPT_TOKENS = 128
RESPONSE_TOKENS = 16


@dataclass(frozen=True)
class Settings:
    task_seed: int = 0
    seed: int = 0
    vocab_size: int = 1024
    hidden: int = 128
    layers: int = 2
    heads: int = 4
    steps: int = 800
    batch_size: int = 32
    lr: float = 1e-3
    prompt_weight: float = 0.3
    calibrate_steps: int = 300
    calibrate_lr: float = 2e-4


def default_home() -> Path:
    """``$CORPO_LEARN_HOME``, else ``$XDG_CACHE_HOME/verl-corpo/learn``, else ``~/.cache/verl-corpo/learn``."""
    if os.environ.get("CORPO_LEARN_HOME"):
        return Path(os.environ["CORPO_LEARN_HOME"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "verl-corpo" / "learn"


#: the scores a calibrated teacher writes, and how often it writes each for a correct candidate
#: (P(v | correct) ~ v) and for an incorrect one (P(v | incorrect) ~ 10 - v): with as many correct
#: as incorrect candidates, P(correct | v) = v / 10, so a score is the teacher's true confidence.
#: Right judgments 73%, undecided (5) 9%, wrong 18%.
CALIBRATED_SCORES = tuple(range(11))


def right_answer(labels: list[int]) -> str:
    """``\\boxed{vA, vB}`` with each judgment right and confident: 9 = correct, 1 = incorrect."""
    scores = [9 if label else 1 for label in labels]
    return f"\\boxed{{{scores[0]}, {scores[1]}}}"


def calibrated_answer(labels: list[int], rng: random.Random) -> str:
    """``\\boxed{vA, vB}``, each score drawn on its own from the calibrated teacher (``CALIBRATED_SCORES``)."""
    scores = [rng.choices(CALIBRATED_SCORES, weights=[v if y else 10 - v for v in CALIBRATED_SCORES])[0] for y in labels]
    return f"\\boxed{{{scores[0]}, {scores[1]}}}"


#: the warm start sees every pair configuration (RL then trains on one-correct pairs only)
CONFIGURATIONS = ((1, 0), (0, 1), (1, 1), (0, 0))


def warm_start_examples(tokenizer, problems: list, count: int, answer, rng: random.Random) -> list[tuple[str, str]]:
    """``count`` (prompt, answer) texts on the training problems, the configuration drawn uniformly
    from ``CONFIGURATIONS``, each candidate on its own (``task.FunctionTask.pair``)."""
    out = []
    for _ in range(count):
        labels = rng.choice(CONFIGURATIONS)
        statement, a, b, _ = rng.choice(problems).pair(rng, "code", labels)
        messages = build_verifier_prompt(statement, a, b, "code")
        out.append((prompt_text(tokenizer, messages), answer(list(labels)) + "<|im_end|>"))
    return out


def build(out: Path, settings: Settings = Settings()) -> Path:
    """Data, tokenizer and warm-started model under ``out`` (atomically: a temp dir, then a rename)."""
    started = time.time()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".learn-", dir=out.parent))
    try:
        task_summary = task.build(staging / "data", settings.task_seed)
        splits = {split: pd.read_parquet(staging / "data" / f"{split}.parquet") for split in task.SPLITS}
        rng = random.Random(settings.seed)
        wrappers = ["<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n"]
        corpus = [m["content"] for rows in splits.values() for prompt in rows["prompt"] for m in prompt]
        corpus += wrappers * 64 + [f"\\boxed{{{a}, {b}}}<|im_end|>" for a in range(11) for b in range(11)] * 4
        tokenizer = build_tokenizer(corpus, settings.vocab_size, split_pattern=SPLIT_PATTERN)
        model = build_model(
            tokenizer, settings.seed, hidden=settings.hidden, layers=settings.layers, heads=settings.heads,
            kv_heads=settings.heads, intermediate=4 * settings.hidden, family="llama",
        )
        train_problems = task.split_problems(settings.task_seed)["train"]

        def examples(steps: int, answer) -> list[tuple[str, str]]:
            return warm_start_examples(tokenizer, train_problems, steps * settings.batch_size, answer, rng)

        losses: dict[str, list[float]] = {}

        def progress(stage: str, steps: int):
            def report(step: int, loss: float) -> None:
                losses.setdefault(stage, []).append(loss)
                if step % 100 == 99 or step == steps - 1:
                    print(f"[learn warm start] {stage} step {step + 1}/{steps} loss {_recent(losses[stage]):.3f} "
                          f"(mean of the last 100 steps; {time.time() - started:.0f} s)", file=sys.stderr, flush=True)
            return report

        warm_start(model, tokenizer, examples(settings.steps, right_answer), settings.steps, settings.seed,
                   lr=settings.lr, batch_size=settings.batch_size, cosine=True, clip=1.0, weight_decay=0.0,
                   prompt_weight=settings.prompt_weight, progress=progress("right judgments", settings.steps))
        final_loss = warm_start(
            model, tokenizer, examples(settings.calibrate_steps, lambda labels: calibrated_answer(labels, rng)),
            settings.calibrate_steps, settings.seed, lr=settings.calibrate_lr, batch_size=settings.batch_size, clip=1.0,
            weight_decay=0.0, progress=progress("calibrated teacher", settings.calibrate_steps),
        )
        model.save_pretrained(staging / "model")
        model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
        model.generation_config.save_pretrained(staging / "model")
        tokenizer.save_pretrained(staging / "model")
        # lengths as verl sees them: the tokenizer reloaded the way verl loads it
        reloaded = AutoTokenizer.from_pretrained(staging / "model")
        prompt_tokens = [len(reloaded(prompt_text(reloaded, p)).input_ids) for rows in splits.values() for p in rows["prompt"]]
        answer_tokens = len(reloaded("\\boxed{10, 10}<|im_end|>").input_ids)
        if max(prompt_tokens) > PROMPT_TOKENS or answer_tokens > RESPONSE_TOKENS:
            raise ValueError(f"prompts of up to {max(prompt_tokens)} tokens (limit {PROMPT_TOKENS}), answers of "
                             f"{answer_tokens} (limit {RESPONSE_TOKENS}): raise the limits or the vocabulary size")
        judge = judge_check(model, reloaded, staging / "data", settings.seed)
        print(f"[learn warm start] the judge before any RL (validation problems, 1 sample at T=0.6): "
              f"{json.dumps(judge)}", file=sys.stderr, flush=True)
        summary = {
            "settings": dataclasses.asdict(settings),
            "task": task_summary,
            "vocab_size": len(tokenizer),
            "parameters": sum(p.numel() for p in model.parameters()),
            "warm_start_final_loss": round(final_loss, 4),
            # answer-token loss, mean of each stage's last 100 steps; judging at chance with the
            # format right costs ~ln(2)/9 = 0.077 in stage 1 (one bit over the ~9 answer tokens)
            "stage_losses": {stage: round(_recent(values), 4) for stage, values in losses.items()},
            "judge": judge,
            "max_prompt_tokens": max(prompt_tokens),
            "prompt_length": PROMPT_TOKENS,
            "response_length": RESPONSE_TOKENS,
            "build_s": round(time.time() - started, 1),
        }
        (staging / COMPLETE_MARKER).write_text(json.dumps(summary, indent=2))
        staging.chmod(0o755)  # mkdtemp's folder is private; the cache is not
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


#: validation pairs per configuration group the build's judge check samples (both orders each)
JUDGE_PAIRS = 100


def judge_check(model, tokenizer, data: Path, seed: int) -> dict:
    """The warm start as a judge, before any RL: pass@1 per pair configuration and the share of right
    judgments per candidate kind, one sample per prompt at T = 0.6, top-p 0.95 (as evaluated), on the
    first ``JUDGE_PAIRS`` pairs of each validation set."""
    files = {group: str(data / f"{split}.parquet") for group, split in evaluation.GROUPS.items()}
    samples = evaluation.sample_correct(model, tokenizer, evaluation.load_rows(tokenizer, files, JUDGE_PAIRS), 1,
                                        seed, RESPONSE_TOKENS)
    return {"pass1": {row: round(v["pass1"], 3) for row, v in evaluation.summarise(samples, 1, ()).items()},
            "kind_accuracy": {group: {k: round(v, 3) for k, v in evaluation.kind_accuracy(samples, 1, group).items()}
                              for group in files}}


def _recent(values: list[float], n: int = 100) -> float:
    return sum(values[-n:]) / len(values[-n:])


def is_complete(out: Path, settings: Settings) -> bool:
    marker = Path(out) / COMPLETE_MARKER
    if not marker.exists():
        return False
    try:
        return json.loads(marker.read_text()).get("settings") == dataclasses.asdict(settings)
    except json.JSONDecodeError:
        return False


def ensure(out: Path | None = None, force: bool = False, settings: Settings = Settings()) -> Path:
    """The cached warm start, built if missing, incomplete or built with other settings."""
    out = Path(out) if out else default_home()
    if force or not is_complete(out, settings):
        print(f"[learn warm start] building under {out} (nothing is downloaded; a few minutes)", file=sys.stderr, flush=True)
        build(out, settings)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="cache folder (default: $CORPO_LEARN_HOME or ~/.cache/verl-corpo/learn)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the cache is complete")
    for field in dataclasses.fields(Settings):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default)
    args = parser.parse_args()
    settings = Settings(**{field.name: getattr(args, field.name) for field in dataclasses.fields(Settings)})
    out = ensure(args.out, args.force, settings)
    print(json.dumps({"path": str(out), **json.loads((out / COMPLETE_MARKER).read_text())}))


if __name__ == "__main__":
    main()

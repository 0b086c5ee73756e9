"""The embedded tiny default: a small Qwen2-architecture model, its tokenizer and a verifier dataset.

Built locally on first use, nothing downloaded, and cached (``--out`` or ``$CORPO_TINY_HOME``,
default ``~/.cache/verl-corpo/tiny``); a missing or incomplete cache is rebuilt::

    python -m recipe.corpo.cpu_tasks.tiny_default [--out DIR] [--force]

- tokenizer: byte-level BPE trained with ``tokenizers`` on the verifier prompts, with a Qwen-style
  chat template (``<|im_start|>``/``<|im_end|>``, eos ``<|im_end|>``, pad ``<|endoftext|>``);
- model: ``Qwen2ForCausalLM``, 2 layers, hidden 64, 2 heads of dim 32 (vLLM's CPU kernels need
  head_dim >= 32), random weights, then a few seconds of next-token training on prompts followed
  by ``\\boxed{vA, vB}`` answers with random scores, so that its samples parse and rewards vary
  within a group (a purely random model fails every sample alike and GRPO has nothing to learn);
- data: the four splits of the real data format (``data_prep.formats.verl_rows.make_row``), from short
  synthetic problems and responses with known labels.

This proves that the pipeline runs; a model this small is not expected to learn the task.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

from data_prep.formats.verl_rows import make_row
from recipe.corpo.cpu_tasks.cache import cache_folder, ensure_built

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPLIT_SIZES = {"train": 32, "val_code_id": 4, "val_code_ood": 4, "val_math_ood": 4}
COMPLETE_MARKER = "tiny_default.json"

# (statement, correct program, incorrect program): deliberately tiny so prompts stay short
_CODE_PROBLEMS = [
    ("Print a+b.", "print(a+b)", "print(a-b)"),
    ("Print a*b.", "print(a*b)", "print(a+b)"),
    ("Print max(a,b).", "print(max(a,b))", "print(min(a,b))"),
    ("Print a%b.", "print(a%b)", "print(a//b)"),
    ("Print abs(a).", "print(abs(a))", "print(a)"),
    ("Print a**2.", "print(a*a)", "print(a*2)"),
]
_MATH_PROBLEMS = [("2+3=?", "5", "6"), ("4*2=?", "8", "6"), ("9-7=?", "2", "3"), ("6/3=?", "2", "3")]


def _pairs(rng: random.Random, split: str, count: int) -> list[dict]:
    math = split == "val_math_ood"
    problems = _MATH_PROBLEMS if math else _CODE_PROBLEMS
    rows = []
    for index in range(count):
        statement, right, wrong = problems[index % len(problems)]
        if split == "val_code_ood":  # both correct or both incorrect
            labels = [1, 1] if index % 2 == 0 else [0, 0]
            responses = (right, right + " ") if labels == [1, 1] else (wrong, wrong + " ")
        else:  # one correct, position balanced
            labels = [1, 0] if index % 2 == 0 else [0, 1]
            responses = (right, wrong) if labels == [1, 0] else (wrong, right)
        wrap = (lambda s: f"Answer: {s}") if math else (lambda s: f"```python\n{s}\n```")
        rows.append(
            make_row(
                split=split,
                index=index,
                problem_id=f"tiny-{'math' if math else 'code'}-{index % len(problems)}",
                source="tiny",
                statement=statement,
                response_a=wrap(responses[0]),
                response_b=wrap(responses[1]),
                labels=labels,
                task="math" if math else "code",
            )
        )
    return rows


def _answer(rng: random.Random) -> str:
    return f"<think>ok</think>\\boxed{{{rng.randint(0, 10)}, {rng.randint(0, 10)}}}"


def build_tokenizer(texts: list[str], vocab_size: int = 1024, split_pattern: str | None = None) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on ``texts``, wrapped for transformers with the chat template.

    By default words are pre-split as GPT-2 does. With ``split_pattern`` (a regex) only its matches
    are split off, each as a piece of its own, and BPE may merge everything between them, spaces
    included: a prompt's fixed instructions then cost a few tokens instead of one per word.
    """
    tokenizer = Tokenizer(models.BPE())
    if split_pattern is None:
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(split_pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        chat_template=CHAT_TEMPLATE,
        additional_special_tokens=SPECIAL_TOKENS[1:],
    )


#: model family -> (config class, model class)
FAMILIES = {"qwen2": (Qwen2Config, Qwen2ForCausalLM), "qwen3": (Qwen3Config, Qwen3ForCausalLM),
            "llama": (LlamaConfig, LlamaForCausalLM)}


def build_model(
    tokenizer: PreTrainedTokenizerFast, seed: int, hidden: int = 64, layers: int = 2, heads: int = 2, kv_heads: int = 1,
    intermediate: int | None = None, family: str = "qwen2",
):
    """A randomly initialised causal LM of ``family`` with heads of dim 32 (vLLM's CPU kernels need >= 32).

    transformers 5 loads a ``qwen2`` folder's tokenizer as ``Qwen2Tokenizer``, which replaces the
    saved pre-tokenizer with Qwen's own; ``qwen3`` and ``llama`` folders keep the saved tokenizer.
    """
    torch.manual_seed(seed)
    config_class, model_class = FAMILIES[family]
    config = config_class(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=intermediate or 2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        head_dim=32,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        dtype="float32",
    )
    return model_class(config)


def warm_start(
    model, tokenizer, examples: list[tuple[str, str]], steps: int, seed: int, lr: float = 3e-3, batch_size: int = 8,
    cosine: bool = False, clip: float | None = None, weight_decay: float = 0.01, progress=None,
    prompt_weight: float = 0.0,
) -> float:
    """Next-token training on (prompt, answer) texts, the loss on the answers only (AdamW); with a
    ``prompt_weight`` > 0, plus that weight times the mean loss on the prompts' tokens (language
    modelling of the prompts as well). ``progress`` and the return value see the answers' loss.

    Batches take ``examples`` in order, cycling. With ``cosine`` the learning rate warms up over the
    first 5% of the steps, then decays to 0 on a cosine; ``clip`` caps the gradient norm.
    ``progress(step, loss)`` is called every step.
    """
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = None
    if cosine:
        warmup = max(1, steps // 20)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
        )
    model.train()
    loss = torch.tensor(float("nan"))
    for step in range(steps):
        batch = [examples[(step * batch_size + i) % len(examples)] for i in range(batch_size)]
        encoded = tokenizer([prompt + answer for prompt, answer in batch], return_tensors="pt", padding=True)
        labels = encoded["input_ids"].masked_fill(encoded["attention_mask"] == 0, -100)
        for row, (prompt, _) in enumerate(batch):
            labels[row, : len(tokenizer(prompt).input_ids)] = -100
        logits = model(**encoded).logits[:, :-1].float()
        token_loss = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), encoded["input_ids"][:, 1:], reduction="none")
        answer = labels[:, 1:] != -100
        loss = token_loss[answer].mean()
        if prompt_weight:
            prompt = encoded["attention_mask"][:, 1:].bool() & ~answer
            (loss + prompt_weight * token_loss[prompt].mean()).backward()
        else:
            loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        optimizer.zero_grad()
        if schedule is not None:
            schedule.step()
        if progress is not None:
            progress(step, float(loss.detach()))
    model.eval()
    return float(loss.detach())


def build(out: Path, seed: int = 0, warm_start_steps: int = 60) -> Path:
    """Build the model, tokenizer and data under ``out`` (atomically: a temp dir, then a rename)."""
    rng = random.Random(seed)
    rows = {split: _pairs(rng, split, count) for split, count in SPLIT_SIZES.items()}
    prompts = [row["prompt"] for split_rows in rows.values() for row in split_rows]
    answers = [_answer(rng) for _ in range(256)]
    corpus = [message["content"] for prompt in prompts for message in prompt] + answers

    tokenizer = build_tokenizer(corpus * 4)
    model = build_model(tokenizer, seed)
    examples = [
        (
            tokenizer.apply_chat_template(prompts[i % len(prompts)], tokenize=False, add_generation_prompt=True),
            answers[i] + "<|im_end|>",
        )
        for i in range(len(answers))
    ]
    final_loss = warm_start(model, tokenizer, examples, warm_start_steps, seed)

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tiny-", dir=out.parent))
    model.save_pretrained(staging / "model")
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    model.generation_config.save_pretrained(staging / "model")
    tokenizer.save_pretrained(staging / "model")
    (staging / "data").mkdir()
    for split, split_rows in rows.items():
        pd.DataFrame(split_rows).to_parquet(staging / "data" / f"{split}.parquet", index=False)
    prompt_tokens = max(
        len(tokenizer(tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)).input_ids)
        for p in prompts
    )
    summary = {
        "seed": seed,
        "vocab_size": len(tokenizer),
        "parameters": sum(p.numel() for p in model.parameters()),
        "warm_start_steps": warm_start_steps,
        "warm_start_final_loss": round(final_loss, 4),
        "max_prompt_tokens": prompt_tokens,
        "rows": {split: len(split_rows) for split, split_rows in rows.items()},
    }
    (staging / COMPLETE_MARKER).write_text(json.dumps(summary, indent=2))
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)
    return out


def ensure(out: Path | None = None, force: bool = False) -> Path:
    """The cached tiny default (``$CORPO_TINY_HOME``, else ``~/.cache/verl-corpo/tiny``), built if missing or incomplete."""
    out = Path(out) if out else cache_folder("tiny", "CORPO_TINY_HOME")
    return ensure_built(out, lambda folder: (folder / COMPLETE_MARKER).exists(), build, "tiny default", force)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="cache folder (default: $CORPO_TINY_HOME or ~/.cache/verl-corpo/tiny)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the cache is complete")
    args = parser.parse_args()
    out = ensure(args.out, args.force)
    print(json.dumps({"path": str(out), **json.loads((out / COMPLETE_MARKER).read_text())}))


if __name__ == "__main__":
    main()

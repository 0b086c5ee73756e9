"""Evaluate a verifier checkpoint as the paper does: k samples per validation prompt, pass@k table.

    python -m recipe.corpo.evaluate --model CKPT/huggingface --val-files DIR/val_*.parquet \\
        --run CoRPO --k 16 --out eval/

``--model`` is a Hugging Face folder: verl's ``checkpoints/global_step_N/actor/huggingface`` after
merging (``python -m verl.model_merger merge --backend fsdp --local_dir .../actor --target_dir OUT``)
or any model. Samples come from vLLM when it is installed and a GPU is present
(``--backend vllm``), else from transformers (``--backend transformers``, for tiny models on a CPU).
Each answer is scored by ``corpo_advantage.reward.compute_score``; the scored samples go to
``OUT/<run>.samples.jsonl`` and the table to ``OUT/pass_at_<k>.md`` / ``.csv``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from corpo_advantage.reward import compute_score
from data_prep.io import write_jsonl_atomic
from recipe.corpo.results_table import build_table, read_samples, write_table


def load_prompts(val_files: list[Path]) -> list[dict]:
    """Validation rows (verl parquet format) with what scoring needs."""
    rows = []
    for path in val_files:
        frame = pd.read_parquet(path)
        for field in ("data_source", "prompt", "reward_model"):
            if field not in frame.columns:
                raise ValueError(f"{path}: missing column {field!r}")
        for index, row in enumerate(frame.itertuples(index=False)):
            ground_truth = row.reward_model["ground_truth"]
            rows.append(
                {
                    "data_source": row.data_source,
                    "prompt_index": f"{path.name}:{index}",
                    "messages": [dict(m) for m in row.prompt],
                    "ground_truth": ground_truth,
                    "labels": json.loads(ground_truth)["labels"],
                }
            )
    return rows


def sample_transformers(model_path: str, prompts: list[dict], n: int, max_new_tokens: int, temperature: float,
                        top_p: float, seed: int) -> list[list[str]]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
    answers = []
    for prompt in tqdm(prompts, desc="sampling (transformers)"):
        text = tokenizer.apply_chat_template(prompt["messages"], tokenize=False, add_generation_prompt=True)
        ids = tokenizer(text, return_tensors="pt").input_ids
        with torch.inference_mode():
            out = model.generate(
                ids, do_sample=temperature > 0, temperature=temperature or None, top_p=top_p,
                max_new_tokens=max_new_tokens, num_return_sequences=n,
                eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
            )
        answers.append([tokenizer.decode(seq[ids.shape[1]:], skip_special_tokens=True) for seq in out])
    return answers


def sample_vllm(model_path: str, prompts: list[dict], n: int, max_new_tokens: int, temperature: float,
                top_p: float, seed: int) -> list[list[str]]:
    from vllm import LLM, SamplingParams

    llm = LLM(model=model_path, seed=seed)
    params = SamplingParams(n=n, temperature=temperature, top_p=top_p, max_tokens=max_new_tokens)
    outputs = llm.chat([p["messages"] for p in prompts], params)
    return [[choice.text for choice in output.outputs] for output in outputs]


def choose_backend(requested: str) -> str:
    if requested != "auto":
        return requested
    try:
        import torch
        import vllm  # noqa: F401

        return "vllm" if torch.cuda.is_available() else "transformers"
    except ImportError:
        return "transformers"


def score(run: str, prompts: list[dict], answers: list[list[str]]) -> list[dict]:
    samples = []
    for prompt, prompt_answers in zip(prompts, answers):
        for answer in prompt_answers:
            result = compute_score(prompt["data_source"], answer, prompt["ground_truth"])
            samples.append(
                {"run": run, "data_source": prompt["data_source"], "prompt_index": prompt["prompt_index"],
                 "labels": prompt["labels"], "acc": result["acc"], "score": result["score"], "response": answer}
            )
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--val-files", type=Path, nargs="+", required=True)
    parser.add_argument("--run", required=True, help="column name of this run in the table")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--samples-per-prompt", type=int, default=None, help="n >= k (default k)")
    parser.add_argument("--max-new-tokens", type=int, default=12288)
    parser.add_argument("--temperature", type=float, default=0.6)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--backend", choices=["auto", "vllm", "transformers"], default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--merge", type=Path, nargs="*", default=[], help="other runs' samples to put in the table")
    args = parser.parse_args()
    n = args.samples_per_prompt or args.k
    if n < args.k:
        parser.error(f"--samples-per-prompt ({n}) must be >= --k ({args.k})")

    prompts = load_prompts(args.val_files)
    backend = choose_backend(args.backend)
    sampler = sample_vllm if backend == "vllm" else sample_transformers
    print(f"[evaluate] {len(prompts)} prompts x {n} samples with {backend}")
    answers = sampler(args.model, prompts, n, args.max_new_tokens, args.temperature, args.top_p, args.seed)
    samples_path = args.out / f"{args.run}.samples.jsonl"
    write_jsonl_atomic(samples_path, score(args.run, prompts, answers))
    table = build_table(read_samples([*args.merge, samples_path]), args.k)
    markdown, csv = write_table(table, args.out, args.k)
    print(markdown.read_text())
    print(f"[evaluate] samples: {samples_path}; table: {markdown}, {csv}")


if __name__ == "__main__":
    main()

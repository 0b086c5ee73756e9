"""Evaluate a verifier checkpoint as the paper does: k samples per validation prompt, pass@k table.

    python -m recipe.corpo.evaluate --model CKPT --val-files DIR/val_*.parquet --run CoRPO --k 16 --out eval/

``--model`` is one of:

- a Hugging Face model folder (``config.json`` and weights): a merged model, any model, or verl's
  ``checkpoints/global_step_N/actor/huggingface`` when the run saved ``hf_model`` (the paper
  scripts do: ``actor.checkpoint.save_contents=[model,optimizer,extra,hf_model]``);
- a verl FSDP checkpoint without Hugging Face weights: ``global_step_N``, its ``actor`` folder or
  ``actor/huggingface`` (config and tokenizer only). It is merged first with verl's own
  ``python -m verl.model_merger merge --backend fsdp`` into ``OUT/merged/<run>``.

Samples come from vLLM (``--backend vllm``, a GPU) or transformers (``--backend transformers``,
tiny models on a CPU); ``auto`` picks vLLM when it is importable and a GPU is present. Each answer
is scored by ``corpo_advantage.reward.compute_score`` (a sample succeeds when ``acc`` is 1: the
trajectory is CORRECT). The scored samples go to ``OUT/<run>.samples.jsonl``; the table (this run,
plus the runs given with ``--merge``) to ``OUT/pass_at_<k>.md`` and ``.csv``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tqdm import tqdm

from corpo_advantage.reward import compute_score
from data_prep.io import DataError, read_records, require_columns, write_jsonl_atomic
from recipe.corpo.results_table import build_table, read_samples, write_table

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
VERL_SHARD_PATTERN = "model_world_size_*_rank_*.pt"


def _has_hf_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(any(folder.glob(p)) for p in WEIGHT_PATTERNS)


def _verl_actor_dir(path: Path) -> Path | None:
    """The verl FSDP actor checkpoint folder that ``path`` names or sits in, if any."""
    for candidate in (path, path / "actor", path.parent):
        if any(candidate.glob(VERL_SHARD_PATTERN)):
            return candidate
    return None


def resolve_model(path: Path, merged_dir: Path) -> Path:
    """A Hugging Face model folder for ``path``, merging a verl checkpoint into ``merged_dir`` if needed."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model or checkpoint")
    if _has_hf_weights(path):
        return path
    actor = _verl_actor_dir(path)
    if actor is None:
        raise ValueError(
            f"{path}: neither a Hugging Face model (config.json and *.safetensors / pytorch_model*.bin) "
            f"nor a verl FSDP checkpoint ({VERL_SHARD_PATTERN} in it, in actor/ or in its parent)"
        )
    if _has_hf_weights(merged_dir):
        print(f"[evaluate] using the merged model already in {merged_dir}")
        return merged_dir
    print(f"[evaluate] merging the verl checkpoint {actor} into {merged_dir} (verl.model_merger)")
    merged_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{merged_dir.name}.", dir=merged_dir.parent))
    try:
        subprocess.run(
            [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
             "--local_dir", str(actor), "--target_dir", str(staging)],
            check=True,
        )
        staging.chmod(0o755)  # mkdtemp's folder is private; the model is not
        if merged_dir.exists():
            shutil.rmtree(merged_dir)
        staging.replace(merged_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return merged_dir


def load_prompts(val_files: list[Path]) -> list[dict]:
    """Validation rows (verl parquet format) with what sampling and scoring need."""
    prompts = []
    for path in val_files:
        require_columns(path, ("data_source", "prompt", "reward_model"))
        for row, record in read_records(path, columns=["data_source", "prompt", "reward_model"]):
            try:
                ground_truth = record["reward_model"]["ground_truth"]
                labels = [int(y) for y in json.loads(ground_truth)["labels"]]
            except (TypeError, KeyError, ValueError) as err:
                raise DataError(path, row, "reward_model.ground_truth", f'expected {{"labels": [yA, yB]}} ({err!r})') from None
            if len(labels) != 2 or any(y not in (0, 1) for y in labels):
                raise DataError(path, row, "reward_model.ground_truth", f"labels must be two values in {{0, 1}}, got {labels}")
            if not isinstance(record["prompt"], list) or not record["prompt"]:
                raise DataError(path, row, "prompt", "expected a non-empty list of chat messages")
            prompts.append(
                {
                    "data_source": record["data_source"],
                    "prompt_index": f"{Path(path).name}:{row}",
                    "messages": [dict(message) for message in record["prompt"]],
                    "ground_truth": ground_truth,
                    "labels": labels,
                }
            )
    return prompts


def sample_transformers(model_path: Path, prompts: list[dict], n: int, args: argparse.Namespace) -> list[list[str]]:
    """n answers per prompt from transformers' ``generate`` (a CPU is enough for tiny models)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype="auto").eval()
    answers = []
    for prompt in tqdm(prompts, desc=f"sampling {n} per prompt (transformers)"):
        text = tokenizer.apply_chat_template(prompt["messages"], tokenize=False, add_generation_prompt=True)
        ids = tokenizer(text, return_tensors="pt").input_ids
        with torch.inference_mode():
            out = model.generate(
                ids, do_sample=args.temperature > 0, temperature=args.temperature or None,
                top_p=args.top_p if args.temperature > 0 else None, max_new_tokens=args.max_new_tokens,
                num_return_sequences=n, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
            )
        answers.append([tokenizer.decode(seq[ids.shape[1]:], skip_special_tokens=True) for seq in out])
    return answers


def sample_vllm(model_path: Path, prompts: list[dict], n: int, args: argparse.Namespace) -> list[list[str]]:
    """n answers per prompt from vLLM's offline ``LLM.chat`` (one GPU, or ``--tensor-parallel-size``)."""
    from vllm import LLM, SamplingParams

    llm = LLM(model=str(model_path), seed=args.seed, tensor_parallel_size=args.tensor_parallel_size)
    params = SamplingParams(n=n, temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_new_tokens)
    outputs = llm.chat([p["messages"] for p in prompts], params, use_tqdm=True)
    return [[choice.text for choice in output.outputs] for output in outputs]


def choose_backend(requested: str) -> str:
    """``vllm`` or ``transformers``; ``auto`` is vLLM when it is importable and CUDA is available."""
    if requested != "auto":
        return requested
    try:
        import torch
        import vllm  # noqa: F401
    except ImportError:
        return "transformers"
    return "vllm" if torch.cuda.is_available() else "transformers"


def score(run: str, prompts: list[dict], answers: list[list[str]]) -> list[dict]:
    """One scored-sample row per answer (the format ``recipe.corpo.results_table`` reads)."""
    samples = []
    for prompt, prompt_answers in zip(prompts, answers, strict=True):
        for answer in prompt_answers:
            result = compute_score(prompt["data_source"], answer, prompt["ground_truth"])
            samples.append(
                {"run": run, "data_source": prompt["data_source"], "prompt_index": prompt["prompt_index"],
                 "labels": prompt["labels"], "acc": result["acc"], "score": result["score"], "response": answer}
            )
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="Hugging Face folder or verl checkpoint")
    parser.add_argument("--val-files", type=Path, nargs="+", required=True)
    parser.add_argument("--run", required=True, help="this run's column name in the table")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--samples-per-prompt", type=int, default=None,
                        help="n >= k samples per prompt (default k); n > k uses the unbiased estimator")
    parser.add_argument("--max-new-tokens", type=int, default=12288, help="the paper runs' max_response_length")
    parser.add_argument("--temperature", type=float, default=0.6)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--backend", choices=["auto", "vllm", "transformers"], default="auto")
    parser.add_argument("--tensor-parallel-size", type=int, default=1, help="vLLM only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--merge", type=Path, nargs="*", default=[], help="other runs' samples files for the table")
    args = parser.parse_args()
    n = args.samples_per_prompt or args.k
    if n < args.k:
        parser.error(f"--samples-per-prompt ({n}) must be >= --k ({args.k})")

    prompts = load_prompts(args.val_files)
    model = resolve_model(args.model, args.out / "merged" / args.run)
    backend = choose_backend(args.backend)
    sampler = sample_vllm if backend == "vllm" else sample_transformers
    print(f"[evaluate] {args.run}: {len(prompts)} prompts x {n} samples from {model} with {backend}")
    answers = sampler(model, prompts, n, args)
    samples_path = args.out / f"{args.run}.samples.jsonl"
    write_jsonl_atomic(samples_path, score(args.run, prompts, answers))
    table = build_table(read_samples([*args.merge, samples_path]), args.k)
    markdown, csv = write_table(table, args.out, args.k)
    print(markdown.read_text())
    print(f"[evaluate] samples: {samples_path}; table: {markdown}, {csv}")


if __name__ == "__main__":
    main()

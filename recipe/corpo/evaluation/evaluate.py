"""Evaluate a verifier checkpoint as the paper does: k samples per validation prompt, pass@k table.

    python -m recipe.corpo.evaluation.evaluate --model CKPT --val-files DIR/val_*.parquet --run CoRPO --k 16 --out eval/

``--model`` is a Hugging Face folder (verl's ``global_step_N/actor/huggingface`` when the run
saved ``hf_model``, a merged model, any model) or a verl FSDP checkpoint (``global_step_N`` or its
``actor``), merged once with verl's model merger into ``OUT/merged/<global_step_N>-<fingerprint>``.

What it does, in this order (reference: docs/evaluation.md):

1. validates everything before the first sample: every row of the validation files (the labels
   with the reward's own parser), the ``--merge`` files, the model, the flags; exit code 2 and
   ``FILE, row N, field 'x': ...`` on bad input;
2. keeps exactly the prompts training validates on (verl's tokenizer, chat template and
   ``data.max_prompt_length`` filter: ``--max-prompt-length``, default 4,096 as the paper runs) and
   adds each pair with A and B swapped (``--swapped-samples-per-prompt``, 0 to skip);
3. samples with vLLM or transformers (``--backend``), data-parallel over all GPUs
   (``--data-parallel-size``), ``--tensor-parallel-size`` GPUs per vLLM engine, one seed per prompt;
4. scores each answer with ``corpo_advantage.reward.compute_score`` and appends it to
   ``OUT/<run>.samples.jsonl`` as soon as its prompt is done: rerun the same command after a crash
   and only what is missing is sampled;
5. writes the table of this run and the ``--merge`` runs: ``OUT/pass_at_<k>.md``, ``.csv``,
   ``.json`` (pass@k, pass@1, order consistency, Brier score per task/configuration row), and
   ``OUT/<run>.summary.json`` (settings, prompt counts, timings, this run's rows).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from corpo_advantage.reward import compute_score
from corpo_sampling.engine import (
    Request,
    add_engine_arguments,
    engine_settings,
    pick_backend,
    request_seed,
)
from corpo_sampling.launcher import sample
from data_prep.formats.io import DataError, write_json_atomic
from recipe.corpo.evaluation.model_resolution import identify, resolve_model
from recipe.corpo.evaluation.sample_store import ResumeMismatch, SampleStore
from recipe.corpo.evaluation.val_prompts import (
    ORIGINAL,
    SWAPPED,
    EvalPrompt,
    PromptRenderer,
    PromptReport,
    build_prompts,
    read_val_rows,
)
from recipe.corpo.reports.results_table import (
    TABLE_ROWS,
    Results,
    pair_labels,
    read_samples,
    summarize,
    table_row_of,
    write_results_table,
)

#: the paper runs' ``data.max_prompt_length`` (scripts/paper_common.sh)
DEFAULT_MAX_PROMPT_LENGTH = 4096


class UsageError(ValueError):
    """A flag or an input that cannot work: reported in one line, exit code 2."""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="Hugging Face folder or verl checkpoint")
    parser.add_argument("--val-files", type=Path, nargs="+", required=True)
    parser.add_argument("--run", required=True, help="this run's column name in the table (and its file names)")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--samples-per-prompt", type=int, default=None,
                        help="n >= k samples per prompt (default k); n > k uses the unbiased estimator")
    parser.add_argument("--swapped-samples-per-prompt", type=int, default=None,
                        help="samples of each pair with A and B swapped, for order consistency (default n; 0: none)")
    parser.add_argument("--max-prompt-length", type=int, default=DEFAULT_MAX_PROMPT_LENGTH,
                        help="the training run's data.max_prompt_length: longer prompts are dropped, as training does")
    parser.add_argument("--keep-overlong-prompts", action="store_true",
                        help="as data.filter_overlong_prompts=false: keep them, left-truncated as verl's rollout does")
    parser.add_argument("--chat-template-kwargs", type=json.loads, default={},
                        help="the training run's data.apply_chat_template_kwargs, as JSON")
    add_engine_arguments(parser, temperature=0.6, top_p=0.95, max_new_tokens=12288)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--merge", type=Path, nargs="*", default=[], help="other runs' samples files for the table")
    parser.add_argument("--restart", action="store_true", help="discard this run's samples on disk and start over")
    args = parser.parse_args(argv)
    args.n = args.samples_per_prompt or args.k
    args.swapped_n = args.n if args.swapped_samples_per_prompt is None else args.swapped_samples_per_prompt
    if args.k < 1 or args.n < args.k:
        parser.error(f"need 1 <= --k <= --samples-per-prompt, got k={args.k}, n={args.n}")
    if args.swapped_n < 0:
        parser.error("--swapped-samples-per-prompt must be >= 0")
    if not args.run or "/" in args.run or args.run.startswith("."):
        parser.error(f"--run {args.run!r}: a name without '/' that does not start with '.'")
    return args


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _warn_unmatched_rows(rows) -> None:
    """Before sampling: the validation rows whose samples no table row will count."""
    unmatched = Counter((row.data_source, row.labels) for row in rows if table_row_of(row.data_source, row.labels) is None)
    if unmatched:
        which = "; ".join(f"{count} with data_source {source!r}, labels {list(labels)}"
                          for (source, labels), count in sorted(unmatched.items()))
        print(f"[evaluate] warning: {sum(unmatched.values())} of {len(rows)} validation rows fit no table row ({which}; "
              f"the table expects data_source in {sorted({r.data_source for r in TABLE_ROWS})}): their samples are "
              "written but not counted", file=sys.stderr)


def _merge_samples(args) -> list[dict]:
    """The ``--merge`` runs' samples, validated now (not after hours of sampling)."""
    own = (args.out / f"{args.run}.samples.jsonl").resolve()
    paths = [p for p in args.merge if Path(p).resolve() != own]
    samples = read_samples(paths)
    if any(s["run"] == args.run for s in samples):
        raise UsageError(f"--merge files hold samples of run {args.run!r}, the run being evaluated: use another --run")
    _check_enough_samples(paths, samples, args.k)
    return samples


def _check_enough_samples(paths: list[Path], samples: list[dict], k: int) -> None:
    """Every prompt of every merged run needs k samples (original order) for pass@k: checked before
    sampling, not found by the table after it."""
    counts = Counter((s["run"], s["prompt_index"]) for s in samples
                     if s.get("order", ORIGINAL) == ORIGINAL and table_row_of(s["data_source"], pair_labels(s)))
    short = {key: n for key, n in counts.items() if n < k}
    if short:
        (run, prompt), n = min(short.items(), key=lambda item: item[1])
        where = ", ".join(str(p) for p in paths if any(s["run"] == run for s in read_samples([p])))
        raise UsageError(f"--merge {where}: run {run!r} has {n} sample{'' if n == 1 else 's'} for some prompts "
                         f"({len(short)} prompts, e.g. {prompt}); pass@{k} needs at least {k} samples per prompt: "
                         f"evaluate with --k {n}, or merge a run sampled with --samples-per-prompt >= {k}")


def _record(run: str, prompt: EvalPrompt, index: int, answer: str) -> dict:
    """One scored answer (the format recipe.corpo.reports.results_table reads)."""
    result = compute_score(prompt.data_source, answer, prompt.ground_truth)
    return {"run": run, "data_source": prompt.data_source, "prompt_index": prompt.key, "order": prompt.order,
            "sample_index": index, "labels": list(prompt.labels), "acc": result["acc"], "score": result["score"],
            "format_ok": result["format_ok"], "score_a": result["score_a"], "score_b": result["score_b"],
            "response": answer}


def _manifest(args, backend: str, source: Path, fingerprint: str) -> dict:
    """What the samples depend on (``OUT/<run>.manifest.json``; a rerun must match it to resume)."""
    return {
        "run": args.run, "model": {"source": str(source), "fingerprint": fingerprint},
        "backend": backend, "samples_per_prompt": args.n, "swapped_samples_per_prompt": args.swapped_n,
        "temperature": args.temperature, "top_p": args.top_p, "max_new_tokens": args.max_new_tokens, "seed": args.seed,
        "max_prompt_length": args.max_prompt_length, "filter_overlong_prompts": not args.keep_overlong_prompts,
        "chat_template_kwargs": args.chat_template_kwargs,
        "val_files": {str(Path(p).resolve()): _file_sha256(Path(p)) for p in args.val_files},
    }


def _print_prompt_report(report: PromptReport, args) -> None:
    dropped = sum(report.dropped_overlong.values())
    print(f"[evaluate] {report.kept} of {report.rows} validation prompts kept"
          + (f" ({dropped} longer than {args.max_prompt_length} tokens dropped, as training drops them)" if dropped else "")
          + (f"; {report.swapped} also with A and B swapped" if args.swapped_n else "")
          + (f" ({report.swap_unavailable} not in the verifier template, {report.swap_overlong} too long swapped)"
             if report.swap_unavailable or report.swap_overlong else ""), file=sys.stderr)


def _sample_and_score(args, store: SampleStore, prompts: list[EvalPrompt], done: set, settings) -> dict:
    """Sample the prompts not complete on disk; append each prompt's scored answers as it finishes."""
    per_order = {ORIGINAL: args.n, SWAPPED: args.swapped_n}
    todo = {f"{p.key}#{p.order}": p for p in prompts if (p.key, p.order) not in done}
    requests = [Request(key=key, token_ids=p.token_ids, n=per_order[p.order], seed=request_seed(args.seed, p.seed_key))
                for key, p in todo.items()]
    if done:
        print(f"[evaluate] resuming: {len(done)} of {len(prompts)} prompts already on disk in {store.samples_path}",
              file=sys.stderr)
    answers = sum(r.n for r in requests)
    print(f"[evaluate] {args.run}: sampling {len(requests)} prompts ({answers} answers) from {settings.model} with "
          f"{settings.backend}, {settings.data_parallel_size} data-parallel rank(s)", file=sys.stderr)
    started = time.perf_counter()
    with tqdm(total=len(requests), desc=f"sampling ({settings.backend})", unit="prompt") as bar:
        for request, texts in sample(settings, requests):
            store.append([_record(args.run, todo[request.key], index, text) for index, text in enumerate(texts)])
            bar.update()
    seconds = time.perf_counter() - started
    return {"resumed_prompts": len(done), "sampled_prompts": len(requests), "sampled_answers": answers,
            "sampling_s": round(seconds, 3), "answers_per_s": round(answers / seconds, 3) if answers else None}


def _tabulate(args, samples: list[dict]) -> tuple[Results, tuple[Path, Path, Path]]:
    """The table of this run and the merged runs; warnings (samples fitting no row) on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = summarize(samples, args.k)
    for warning in caught:
        print(f"[evaluate] warning: {warning.message}", file=sys.stderr)
    return results, write_results_table(results, args.out)


def evaluate(args: argparse.Namespace) -> dict:
    """Validate, sample what is missing, score, tabulate; returns the run summary."""
    rows = read_val_rows(args.val_files)
    merged_samples = _merge_samples(args)
    _warn_unmatched_rows(rows)
    try:
        backend = pick_backend(args.backend)
        source, fingerprint, _ = identify(args.model)
    except (RuntimeError, ValueError, FileNotFoundError) as err:
        raise UsageError(str(err)) from None
    manifest = _manifest(args, backend, source, fingerprint)
    store = SampleStore(args.out, args.run)
    store.check(manifest, restart=args.restart)  # before merging a checkpoint or loading a model
    try:
        model = resolve_model(args.model, args.out / "merged")
        settings = engine_settings(args, str(model.path), backend)
    except (RuntimeError, ValueError) as err:
        raise UsageError(str(err)) from None
    renderer = PromptRenderer(model.path, args.max_prompt_length, not args.keep_overlong_prompts, args.chat_template_kwargs)
    prompts, report = build_prompts(rows, renderer, swapped=args.swapped_n > 0)
    _print_prompt_report(report, args)
    per_order = {ORIGINAL: args.n, SWAPPED: args.swapped_n}
    done = store.open(manifest, {(p.key, p.order): per_order[p.order] for p in prompts})
    try:
        sampling = _sample_and_score(args, store, prompts, done, settings)
    finally:
        store.close()
    results, (markdown, csv, js) = _tabulate(args, [*merged_samples, *read_samples([store.samples_path])])
    summary = {
        **manifest, "model": {**manifest["model"], "path": str(model.path), "merged": model.merged}, "k": args.k,
        "prompts": report.as_dict(), **sampling,
        "data_parallel_size": settings.data_parallel_size, "tensor_parallel_size": settings.tensor_parallel_size,
        "samples": str(store.samples_path), "table": {"markdown": str(markdown), "csv": str(csv), "json": str(js)},
        "rows": results.as_json()["runs"].get(args.run, {}), "unmatched": results.unmatched.get(args.run, []),
    }
    summary_path = args.out / f"{args.run}.summary.json"
    write_json_atomic(summary_path, summary)
    print(markdown.read_text())
    print(f"[evaluate] samples: {store.samples_path}; table: {markdown}, {csv}, {js}; summary: {summary_path}",
          file=sys.stderr)
    return summary


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        evaluate(args)
    except (DataError, ResumeMismatch, UsageError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

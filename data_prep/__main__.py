"""``python -m data_prep``: the data pipeline's stages, in order (each stage is a folder here).

    1. convert  (data_prep/convert/):  raw dataset rows -> problems.jsonl (statement, tests, judge rule)
    2. generate (data_prep/generate/): problems -> your model's generations (corpo_sampling's engine)
    3. label    (data_prep/label/):    generations -> labelled responses (run in data_prep/label/sandbox/)
    4. pairs    (data_prep/pairs/):    labelled responses -> train / val parquet files (data_prep/formats/)
    audit (data_prep/label/audit.py):  the datasets' known-good and known-bad programs through stage 3

    python -m data_prep convert  --format codeforces --input 'data/train-*.parquet' --out problems.jsonl
    python -m data_prep generate --problems problems.jsonl --model PATH --n 8 --out generations.jsonl
    python -m data_prep label    --problems problems.jsonl --generations generations.jsonl --out labelled.parquet
    python -m data_prep pairs    --labelled labelled.parquet [--math labelled_math.parquet] --out DIR
    python -m data_prep audit    --format code_contests --input 'test-*.parquet' --out audit.json

Every command shows a progress bar, prints a summary table and saves it as JSON next to its output.
Bad input stops with ``file, row N, field 'x': ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from corpo_sampling.engine import add_engine_arguments
from data_prep.convert.sources import FORMATS
from data_prep.formats.io import (
    DataError,
    count_records,
    expand_inputs,
    summary_path,
    write_json_atomic,
    write_records,
)
from data_prep.formats.text_table import format_table


def _convert_options(args):
    from data_prep.convert.sources import ConvertOptions
    from data_prep.convert.sources.generated_tests import GeneratedTests

    if args.generated_tests and args.format != "codeforces":
        raise DataError(args.generated_tests[0], None, None, "--generated-tests is for --format codeforces")
    return ConvertOptions(language=None if args.language == "all" else args.language,
                          require_executable=not args.keep_unexecutable,
                          require_complete_tests=not args.keep_incomplete_tests, input_mode=args.input_mode,
                          min_rating=args.min_rating, max_rating=args.max_rating,
                          generated_tests=GeneratedTests(expand_inputs(args.generated_tests))
                          if args.generated_tests else None)


def _row_bar(paths, desc):
    return tqdm(total=sum(count_records(p) for p in paths), desc=desc, unit="row")


def cmd_convert(args) -> dict:
    from data_prep.convert.converter import convert

    paths = expand_inputs(args.input)
    options = _convert_options(args)
    with _row_bar(paths, "convert") as bar:
        summary = convert(paths, args.format, args.out, options, on_row=bar.update)
    print(format_table(["", "count"], [["problems written", summary["problems"]]] +
                       [[f"skipped: {why}", n] for why, n in summary["skipped"].items()]))
    return summary


def _sandbox(args):
    """The isolation this run uses; stops when candidates could forge their labels there, unless
    the code is trusted (``--trusted-code``)."""
    from data_prep.label.sandbox.run import MODE_VARIABLE, SandboxError, detect_isolation

    try:
        isolation = detect_isolation()
    except SandboxError as err:
        raise SystemExit(f"sandbox: {err}") from None
    print(f"sandbox: {isolation.describe()}", file=sys.stderr)
    if isolation.candidates_can_forge_labels and not args.trusted_code:
        raise SystemExit(
            f"sandbox: mode {isolation.name} has no mount namespace: a hostile candidate could rewrite the "
            "labeller's cache and output files and so forge its own label. Run as root in a container, or where "
            f"user namespaces are allowed (docs/sandbox.md), or pass --trusted-code if every program is yours "
            f"({MODE_VARIABLE} chooses a mode).")
    return isolation


def cmd_audit(args) -> dict:
    from collections import Counter

    from data_prep.label.audit import agreement_table, audit, dataset_jobs, file_jobs

    if bool(args.format) == bool(args.problems):
        build_parser().error("audit needs either --format/--input (the dataset's own programs) "
                             "or --problems/--references (your own)")
    skipped = Counter()
    if args.format:
        if not args.input:
            build_parser().error("--format needs --input")
        paths = expand_inputs(args.input)
        jobs = dataset_jobs(paths, args.format, _convert_options(args), args.max_per_problem, skipped)
    else:
        if not args.references:
            build_parser().error("--problems needs --references")
        jobs = file_jobs(args.problems, args.references)
    isolation = _sandbox(args)
    with tqdm(desc="audit", unit="program") as bar:
        report = audit(jobs, _label_settings(args), args.workers, on_done=bar.update)
    report["skipped"] = dict(sorted(skipped.items()))
    report["settings"] = {"time_scale": args.time_scale, "default_time_limit_s": args.default_time_limit,
                          "default_memory_mb": args.default_memory_mb, "max_per_problem": args.max_per_problem}
    report["sandbox"] = isolation.describe()
    headers, rows = agreement_table(report)
    print(format_table(headers, rows))
    if not rows:
        print("warning: no reference program was run (open-r1/codeforces ships none: audit it with "
              "--problems/--references)", file=sys.stderr)
    for key, title in (("failures", "problems whose tests reject their own known-good program"),
                       ("reference_timeouts", "known-good programs that timed out (not counted as wrong)"),
                       ("accepts_known_bad", "problems whose tests accept a known-bad program"),
                       ("checker_errors", "problems whose checker could not judge (checker_error: no label, left "
                                          "out of pairs)")):
        if report[key]:
            print(f"\n{title}:")
            print(format_table(["problem", "reference", "verdict", "detail"],
                               [[e["problem_id"], e["reference"], e["verdict"], e["detail"][:60].replace("\n", " ")]
                                for e in report[key]]))
    return report


def cmd_generate(args) -> dict:
    from corpo_sampling.engine import engine_settings, pick_backend
    from data_prep.formats.problems import load_problems
    from data_prep.generate.generator import generate

    problems = list(load_problems(args.problems).values())
    try:
        settings = engine_settings(args, args.model, pick_backend(args.backend))
    except (RuntimeError, ValueError) as err:  # a flag that cannot work here: one line, exit 2
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    order = {problem.problem_id: index for index, problem in enumerate(problems)}
    done = []
    with tqdm(total=len(problems) * args.n, desc=f"generate ({settings.backend})", unit="sample") as bar:
        for rows in generate(problems, settings, args.n, args.seed):
            done.append(rows)
            bar.update(len(rows))
    rows = [row for problem_rows in sorted(done, key=lambda r: order[r[0]["problem_id"]]) for row in problem_rows]
    write_records(args.out, rows)
    print(format_table(["", "value"], [["backend", settings.backend], ["data-parallel ranks", settings.data_parallel_size],
                                       ["problems", len(problems)], ["samples", len(rows)]]))
    return {"backend": settings.backend, "model": args.model, "problems": len(problems), "samples": len(rows),
            "seed": args.seed, "temperature": args.temperature, "top_p": args.top_p,
            "data_parallel_size": settings.data_parallel_size, "tensor_parallel_size": settings.tensor_parallel_size}


def _label_settings(args):
    from data_prep.label.labeller import LabelSettings

    return LabelSettings(default_time_limit_s=args.default_time_limit, default_memory_limit_mb=args.default_memory_mb,
                         time_scale=args.time_scale, output_limit_mb=args.output_limit_mb)


def cmd_label(args) -> dict:
    from data_prep.formats.problems import load_problems, read_generations
    from data_prep.label.labeller import ResultCache, label_generations

    problems = load_problems(args.problems)
    generations = list(read_generations(args.generations, problems))  # validates every row before running any
    isolation = _sandbox(args)
    settings = _label_settings(args)
    cache_path = args.cache or Path(str(args.out) + ".cache.jsonl")
    cache = ResultCache(None if args.no_cache else cache_path)
    bar = tqdm(total=len(generations), desc="label", unit="response")
    try:
        rows = label_generations(problems, generations, settings, cache, args.workers, on_done=lambda _: bar.update())
    finally:
        bar.close()
        cache.close()
    write_records(args.out, rows)  # parquet or JSONL, by the suffix
    verdicts = Counter(row["verdict"] for row in rows)
    per_source = Counter((row["source"], row["label"]) for row in rows)
    print(format_table(["verdict", "responses"], sorted(verdicts.items())))
    print(format_table(["source", "correct", "incorrect"],
                       [[s, per_source[(s, True)], per_source[(s, False)]] for s in sorted({s for s, _ in per_source})]))
    return {
        "problems": str(args.problems), "generations": str(args.generations), "responses": len(rows),
        "correct": sum(row["label"] for row in rows), "verdicts": dict(verdicts),
        "from_cache": sum(row["cached"] for row in rows), "sandbox": isolation.describe(),
    }


def cmd_pairs(args) -> dict:
    from data_prep.formats.split_set import MANIFEST, write_split_set
    from data_prep.label.audit import excluded_problems
    from data_prep.pairs.planning import plan_splits
    from data_prep.pairs.selection import PairSettings

    settings = PairSettings(train_size=args.train_size, val_code_id_size=args.val_code_id_size,
                            val_code_ood_size=args.val_code_ood_size, val_math_ood_size=args.val_math_ood_size,
                            max_pairs_per_problem=args.max_pairs_per_problem,
                            max_val_pairs_per_problem=args.max_val_pairs_per_problem, seed=args.seed,
                            keep_reasoning=args.keep_reasoning, max_prompt_tokens=args.max_prompt_tokens,
                            exclude_problems=excluded_problems(args.exclude_audit_failures)
                            if args.exclude_audit_failures else ())
    tokenizer = None
    if args.tokenizer:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    plans, summary = plan_splits(args.labelled, args.math, settings, tokenizer, progress=lambda m: print(m, file=sys.stderr))
    rows = {name: tqdm(plan.rows(name), total=summary["splits"][name]["written"], desc=f"write {name}", unit="pair")
            for name, plan in plans.items()}
    manifest = write_split_set(args.out, rows)
    summary["set_id"] = manifest["set_id"]
    table = [[name, s["requested"], s["written"], s["problems"],
              ", ".join(f"{k}={v}" for k, v in sorted(s["pair_types"].items())),
              f"{s['one_correct_with_correct_in_A']}/{s['one_correct_with_correct_in_B']}", s["positive_label_fraction"]]
             for name, s in summary["splits"].items()]
    print(format_table(["split", "requested", "written", "problems", "pair types", "correct A/B", "positive"], table))
    if summary["dropped"]:
        print(format_table(["dropped", "responses or pairs"], sorted(summary["dropped"].items())))
    print(f"{len(manifest['splits'])} split files written as one set to {args.out} ({MANIFEST}: set {manifest['set_id']})",
          file=sys.stderr)
    for name, s in summary["splits"].items():
        if s["shortfall"] and s["written"]:
            print(f"warning: {name} is {s['shortfall']} pairs short of {s['requested']}", file=sys.stderr)
    for name in summary["missing_splits"]:
        why = "no --math given" if name == "val_math_ood" and not args.math else "no pair could be made"
        print(f"WARNING: {name}.parquet NOT WRITTEN ({why}); any earlier {name}.parquet in {args.out} was removed. "
              "The paper's runs (scripts/paper_common.sh) validate on all four splits.", file=sys.stderr)
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_prep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("convert", help="downloaded dataset rows -> problems file")
    _add_source_args(p, required=True)
    p.add_argument("--out", type=Path, required=True, help="problems file (.jsonl or .parquet)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("generate", help="sample N responses per problem from a local model")
    p.add_argument("--problems", type=Path, required=True)
    p.add_argument("--model", required=True, help="local model directory (or a name vLLM can load)")
    p.add_argument("--n", type=int, default=8, help="samples per problem")
    add_engine_arguments(p, temperature=0.8, top_p=1.0, max_new_tokens=16384)
    p.add_argument("--out", type=Path, required=True, help="generations file (.jsonl or .parquet)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("label", help="run each response's code against its problem's tests")
    p.add_argument("--problems", type=Path, required=True)
    p.add_argument("--generations", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="labelled responses: .parquet (or .jsonl)")
    _add_limit_args(p)
    p.add_argument("--cache", type=Path, help="resume cache (default: OUT.cache.jsonl)")
    p.add_argument("--no-cache", action="store_true")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser("pairs", help="labelled responses -> verl parquet splits")
    p.add_argument("--labelled", type=Path, required=True, help="labelled code responses")
    p.add_argument("--math", type=Path, help="labelled math responses (for val_math_ood)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--train-size", type=int, default=4890)
    p.add_argument("--val-code-id-size", type=int, default=196)
    p.add_argument("--val-code-ood-size", type=int, default=98)
    p.add_argument("--val-math-ood-size", type=int, default=157)
    p.add_argument("--max-pairs-per-problem", type=int, default=8, help="in train")
    p.add_argument("--max-val-pairs-per-problem", type=int, default=2, help="in the validation splits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep-reasoning", action="store_true", help="keep the candidates' <think> reasoning")
    p.add_argument("--tokenizer", help="local tokenizer directory, for --max-prompt-tokens")
    p.add_argument("--max-prompt-tokens", type=int, help="drop pairs whose templated prompt is longer")
    p.add_argument("--exclude-audit-failures", type=Path, metavar="AUDIT_JSON",
                   help="drop the problems this `audit` report lists as rejecting their own reference")
    p.set_defaults(func=cmd_pairs)

    p = sub.add_parser("audit", help="run the dataset's known-good/known-bad programs through the labeller")
    _add_source_args(p, required=False)
    p.add_argument("--max-per-problem", type=int, default=3, help="known-good and known-bad programs per problem")
    p.add_argument("--problems", type=Path, help="instead of --format/--input: a problems file ...")
    p.add_argument("--references", type=Path, help="... and your programs: rows {problem_id, code, correct}")
    p.add_argument("--out", type=Path, required=True, help="the report (JSON)")
    _add_limit_args(p)
    p.set_defaults(func=cmd_audit)
    return parser


def _add_source_args(p, required: bool) -> None:
    p.add_argument("--format", choices=FORMATS, required=required)
    p.add_argument("--input", nargs="+", required=required, metavar="PATH",
                   help="files (.parquet, .jsonl, .jsonl.gz), glob patterns or folders of shards")
    p.add_argument("--generated-tests", nargs="+", metavar="PATH",
                   help="codeforces: open-r1's generated_tests/test_cases_*.parquet (files, globs or a folder)")
    p.add_argument("--language", default="python",
                   help="codeforces verifiable-prompts: keep this language's rows ('all' keeps every row)")
    p.add_argument("--keep-unexecutable", action="store_true", help="codeforces: keep rows with executable == false")
    p.add_argument("--keep-incomplete-tests", action="store_true",
                   help="codeforces: keep rows with official_tests_complete == false (weak tests)")
    p.add_argument("--input-mode", choices=["stdio", "file"], help="codeforces: keep only this input mode")
    p.add_argument("--min-rating", type=int, help="codeforces: lowest rating kept (rows without rating are dropped)")
    p.add_argument("--max-rating", type=int, help="codeforces: highest rating kept")


def _add_limit_args(p) -> None:
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="programs run at once")
    p.add_argument("--default-time-limit", type=float, default=4.0, help="seconds per test, when a problem has none")
    p.add_argument("--default-memory-mb", type=int, default=512)
    p.add_argument("--time-scale", type=float, default=1.0, help="multiply every time limit (Python is slow)")
    p.add_argument("--output-limit-mb", type=int, default=32)
    p.add_argument("--trusted-code", action="store_true",
                   help="run even in a sandbox mode where a hostile candidate could forge its label (no mount namespace)")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "max_prompt_tokens", None) and not args.tokenizer:
        build_parser().error("--max-prompt-tokens needs --tokenizer")
    try:
        summary = args.func(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    saved_to = {"pairs": out / "summary.json", "audit": out}.get(args.command) or summary_path(out)
    write_json_atomic(saved_to, summary)
    print(f"summary saved to {saved_to}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The paper's evaluation table (spec section 6) from scored samples, one column per run.

Scored samples are JSONL rows ``{"run", "data_source", "prompt_index", "labels": [yA, yB], "acc"}``,
one per sampled answer (``acc`` 1.0 when the trajectory is CORRECT). Per prompt, pass@k uses the
unbiased estimator over its n >= k samples; pass@1 is the mean accuracy. Merge several runs::

    python -m recipe.corpo.results_table --samples grpo.jsonl static.jsonl corpo.jsonl --k 16 --out DIR
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import pandas as pd

from data_prep.io import DataError, atomic_path, read_records
from data_prep.rows import DATA_SOURCES
from recipe.corpo.pass_at_k import pass_at_k

#: (task, configuration) rows of the paper's table: data_source and labels [yA, yB]
TABLE_ROWS = [
    ("in-domain", "first correct", DATA_SOURCES["val_code_id"], (1, 0)),
    ("in-domain", "second correct", DATA_SOURCES["val_code_id"], (0, 1)),
    ("OOD coding", "both incorrect", DATA_SOURCES["val_code_ood"], (0, 0)),
    ("OOD coding", "both correct", DATA_SOURCES["val_code_ood"], (1, 1)),
    ("OOD math", "first correct", DATA_SOURCES["val_math_ood"], (1, 0)),
    ("OOD math", "second correct", DATA_SOURCES["val_math_ood"], (0, 1)),
]
#: The paper's own numbers (pass@16, %), for comparison.
PAPER = {
    "GRPO": [87.1, 86.3, 50.0, 89.6, 79.3, 81.4],
    "Static": [80.2, 89.5, 64.0, 93.7, 80.5, 87.1],
    "CoRPO": [83.2, 86.3, 56.0, 95.8, 81.6, 81.4],
}
REQUIRED = ("run", "data_source", "prompt_index", "labels", "acc")


def read_samples(paths: list[Path]) -> list[dict]:
    """Scored samples from JSONL files; a missing field is an error naming file, row and field."""
    samples = []
    source_of_run: dict[str, Path] = {}
    for path in dict.fromkeys(Path(p) for p in paths):
        for row, record in read_records(path):
            for field in REQUIRED:
                if field not in record:
                    raise DataError(path, row, field, "missing")
            first = source_of_run.setdefault(record["run"], path)
            if first != path:
                raise DataError(path, row, "run", f"run {record['run']!r} is already in {first}: one file per run")
            samples.append(record)
    return samples


def build_table(samples: list[dict], k: int) -> pd.DataFrame:
    """Rows: the six configurations; columns per run: pass@k and pass@1 (%), and #prompts."""
    correct = defaultdict(lambda: [0, 0])  # (run, source, labels, prompt) -> [n, c]
    for row in samples:
        key = (row["run"], row["data_source"], tuple(int(y) for y in row["labels"]), row["prompt_index"])
        correct[key][0] += 1
        correct[key][1] += int(float(row["acc"]) >= 1.0)
    runs = list(dict.fromkeys(row["run"] for row in samples))
    table = []
    for task, configuration, source, labels in TABLE_ROWS:
        line = {"task": task, "configuration": configuration}
        for run in runs:
            counts = [nc for (r, s, y, _), nc in correct.items() if (r, s, y) == (run, source, labels)]
            if counts and min(n for n, _ in counts) < k:
                raise ValueError(f"run {run!r}, {source} {list(labels)}: pass@{k} needs >= {k} samples per prompt, "
                                 f"some prompts have {min(n for n, _ in counts)}")
            line[f"{run} pass@{k}"] = 100 * sum(pass_at_k(n, c, k) for n, c in counts) / len(counts) if counts else float("nan")
            line[f"{run} pass@1"] = 100 * sum(c / n for n, c in counts) / len(counts) if counts else float("nan")
            line[f"{run} prompts"] = len(counts)
        table.append(line)
    return pd.DataFrame(table)


def _write_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as temp:
        temp.write_text(text, encoding="utf-8")


def write_table(table: pd.DataFrame, out_dir: Path, k: int) -> tuple[Path, Path]:
    """``pass_at_{k}.md`` (with the paper's numbers) and ``pass_at_{k}.csv`` under ``out_dir``."""
    markdown = out_dir / f"pass_at_{k}.md"
    csv = out_dir / f"pass_at_{k}.csv"
    shown = table.round(1)
    for name, values in PAPER.items():
        shown[f"paper {name} pass@16"] = values
    _write_atomic(markdown, shown.to_markdown(index=False) + "\n")
    _write_atomic(csv, table.to_csv(index=False))
    return markdown, csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=Path, nargs="+", required=True, help="scored-sample JSONL files")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    markdown, csv = write_table(build_table(read_samples(args.samples), args.k), args.out, args.k)
    print(markdown.read_text())
    print(f"wrote {markdown} and {csv}")


if __name__ == "__main__":
    main()

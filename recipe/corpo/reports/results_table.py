"""The paper's evaluation table (spec section 6) from scored samples, one column group per run.

Scored samples are JSONL rows, one per sampled answer (``recipe.corpo.evaluation.evaluate`` writes them)::

    {"run", "data_source", "prompt_index", "sample_index", "labels": [yA, yB], "acc",
     "order": "original"|"swapped", "score_a", "score_b", ...}

``acc`` is 1.0 when the trajectory is CORRECT; ``labels`` are those of the prompt the sample
answered (reversed for the swapped order). Per prompt, pass@k uses the unbiased estimator over its
n >= k original-order samples; pass@1 is the mean accuracy; both are averaged over the prompts of a
row. Beside them the judge-quality metrics of :mod:`recipe.corpo.reports.judge_metrics` (order
consistency, Brier score, share of parsed answers), averaged the same way. A run's samples may be
spread over several files; the same sample (run, prompt, order, sample_index) twice is an error.
Samples that fit no row of the table are reported with a warning, with counts. Merge runs::

    python -m recipe.corpo.reports.results_table --samples grpo.jsonl static.jsonl corpo.jsonl --k 16 --out DIR

writes ``DIR/pass_at_16.md`` (with the paper's numbers), ``.csv`` (percent) and ``.json``
(fractions, one object per run and row, for scripts).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections import defaultdict
from dataclasses import dataclass
from math import fsum
from pathlib import Path

import pandas as pd

from data_prep.formats.io import DataError, read_records, write_text_atomic
from data_prep.formats.verl_rows import DATA_SOURCES
from recipe.corpo.reports.judge_metrics import (
    ORIGINAL,
    SWAPPED,
    answered,
    brier,
    order_consistency,
)
from recipe.corpo.reports.pass_at_k import pass_at_k


@dataclass(frozen=True)
class TableRow:
    key: str
    task: str
    configuration: str
    data_source: str
    labels: tuple[int, int]


#: (task, configuration) rows of the paper's table: data_source and the pair's labels [yA, yB]
TABLE_ROWS = [
    TableRow("in_domain_first_correct", "in-domain", "first correct", DATA_SOURCES["val_code_id"], (1, 0)),
    TableRow("in_domain_second_correct", "in-domain", "second correct", DATA_SOURCES["val_code_id"], (0, 1)),
    TableRow("ood_code_both_incorrect", "OOD coding", "both incorrect", DATA_SOURCES["val_code_ood"], (0, 0)),
    TableRow("ood_code_both_correct", "OOD coding", "both correct", DATA_SOURCES["val_code_ood"], (1, 1)),
    TableRow("ood_math_first_correct", "OOD math", "first correct", DATA_SOURCES["val_math_ood"], (1, 0)),
    TableRow("ood_math_second_correct", "OOD math", "second correct", DATA_SOURCES["val_math_ood"], (0, 1)),
]
ROW_OF = {(row.data_source, row.labels): row for row in TABLE_ROWS}
#: The paper's own numbers (pass@16, %), for comparison.
PAPER = {
    "GRPO": [87.1, 86.3, 50.0, 89.6, 79.3, 81.4],
    "Static": [80.2, 89.5, 64.0, 93.7, 80.5, 87.1],
    "CoRPO": [83.2, 86.3, 56.0, 95.8, 81.6, 81.4],
}
REQUIRED = ("run", "data_source", "prompt_index", "sample_index", "labels", "acc")
ORDERS = (ORIGINAL, SWAPPED)


class UnmatchedSamplesWarning(UserWarning):
    """Samples whose (data_source, labels) is no row of the table."""


def pair_labels(sample: dict) -> tuple[int, int]:
    """The labels of the original pair (a swapped sample's labels are reversed)."""
    labels = tuple(int(y) for y in sample["labels"])
    return labels[::-1] if sample.get("order", ORIGINAL) == SWAPPED else labels


def table_row_of(data_source: str, labels) -> TableRow | None:
    return ROW_OF.get((data_source, tuple(int(y) for y in labels)))


def read_samples(paths: list[Path]) -> list[dict]:
    """Scored samples from JSONL files, checked: required fields, labels, order, no duplicates."""
    samples = []
    first_seen: dict[tuple, tuple[Path, int]] = {}
    for path in dict.fromkeys(Path(p).resolve() for p in paths):
        for row, record in read_records(path):
            for name in REQUIRED:
                if name not in record:
                    raise DataError(path, row, name, "missing")
            labels = record["labels"]
            if not isinstance(labels, list) or len(labels) != 2 or any(y not in (0, 1) or isinstance(y, bool) for y in labels):
                raise DataError(path, row, "labels", f"expected [yA, yB] with values 0 or 1, got {labels!r}")
            if record.get("order", ORIGINAL) not in ORDERS:
                raise DataError(path, row, "order", f"expected one of {ORDERS}, got {record['order']!r}")
            identity = (record["run"], record["prompt_index"], record.get("order", ORIGINAL), record["sample_index"])
            if identity in first_seen:
                where = first_seen[identity]
                raise DataError(path, row, "sample_index", f"the same sample {identity} is already in {where[0]}, row {where[1]}")
            first_seen[identity] = (path, row)
            samples.append(record)
    return samples


def _mean(values) -> float:
    values = [v for v in values if v is not None]
    return fsum(values) / len(values) if values else math.nan


@dataclass
class Results:
    """Per run and table row: ``pass_at_k``, ``pass_at_1``, ``order_consistency``, ``answered``
    (fractions), ``brier``, ``prompts``, ``samples`` (original order), ``order_pairs`` (prompts
    with swapped samples); plus, per run, the samples that fit no row."""

    k: int
    runs: dict[str, dict[str, dict]]
    unmatched: dict[str, list[dict]]

    def frame(self) -> pd.DataFrame:
        """The table: one line per table row; per run, pass@k, pass@1, order consistency and
        answered in percent, the Brier score as is, and the number of prompts."""
        lines = []
        for row in TABLE_ROWS:
            line = {"task": row.task, "configuration": row.configuration}
            for run, rows in self.runs.items():
                m = rows[row.key]
                line[f"{run} pass@{self.k}"] = 100 * m["pass_at_k"]
                line[f"{run} pass@1"] = 100 * m["pass_at_1"]
                line[f"{run} prompts"] = m["prompts"]
                line[f"{run} order consistency"] = 100 * m["order_consistency"]
                line[f"{run} Brier"] = m["brier"]
                line[f"{run} answered"] = 100 * m["answered"]
            lines.append(line)
        return pd.DataFrame(lines)

    def as_json(self) -> dict:
        def clean(value):
            return None if isinstance(value, float) and math.isnan(value) else value

        return {
            "k": self.k,
            "rows": [{"key": r.key, "task": r.task, "configuration": r.configuration, "data_source": r.data_source,
                      "labels": list(r.labels)} for r in TABLE_ROWS],
            "runs": {run: {key: {name: clean(v) for name, v in m.items()} for key, m in rows.items()}
                     for run, rows in self.runs.items()},
            "unmatched": self.unmatched,
        }


def summarize(samples: list[dict], k: int) -> Results:
    """The table's numbers from scored samples (module docstring); warns about samples fitting no row."""
    groups: dict[tuple, dict[str, list[dict]]] = defaultdict(lambda: {ORIGINAL: [], SWAPPED: []})
    unmatched: dict[tuple, list] = defaultdict(lambda: [0, set()])
    for sample in samples:
        labels = pair_labels(sample)
        row = table_row_of(sample["data_source"], labels)
        if row is None:
            count = unmatched[(sample["run"], sample["data_source"], labels)]
            count[0] += 1
            count[1].add(sample["prompt_index"])
            continue
        groups[(sample["run"], row.key, sample["prompt_index"])][sample.get("order", ORIGINAL)].append(sample)
    runs: dict[str, dict[str, dict]] = {}
    for run in dict.fromkeys(sample["run"] for sample in samples):
        runs[run] = {}
        for row in TABLE_ROWS:
            prompts = [groups[key] for key in sorted(groups) if key[:2] == (run, row.key) and groups[key][ORIGINAL]]
            counts = [(len(p[ORIGINAL]), sum(float(s["acc"]) >= 1.0 for s in p[ORIGINAL])) for p in prompts]
            if counts and min(n for n, _ in counts) < k:
                raise ValueError(f"run {run!r}, {row.data_source} {list(row.labels)}: pass@{k} needs >= {k} samples "
                                 f"per prompt, some prompts have {min(n for n, _ in counts)}")
            runs[run][row.key] = {
                "pass_at_k": _mean(pass_at_k(n, c, k) for n, c in counts),
                "pass_at_1": _mean(c / n for n, c in counts),
                "prompts": len(prompts),
                "samples": sum(n for n, _ in counts),
                "order_consistency": _mean(order_consistency(p[ORIGINAL], p[SWAPPED]) for p in prompts),
                "order_pairs": sum(bool(p[SWAPPED]) for p in prompts),
                "brier": _mean(brier(p[ORIGINAL], row.labels) for p in prompts),
                "answered": _mean(answered(p[ORIGINAL]) for p in prompts),
            }
    report = defaultdict(list)
    for (run, source, labels), (count, prompts) in sorted(unmatched.items()):
        report[run].append({"data_source": source, "labels": list(labels), "samples": count, "prompts": len(prompts)})
    if report:
        warnings.warn(UnmatchedSamplesWarning(describe_unmatched(report)), stacklevel=2)
    return Results(k=k, runs=runs, unmatched=dict(report))


def describe_unmatched(report: dict[str, list[dict]]) -> str:
    parts = [f"run {run!r}: " + "; ".join(f"{u['samples']} samples of {u['prompts']} prompts with data_source "
                                            f"{u['data_source']!r}, labels {u['labels']}" for u in items)
             for run, items in report.items()]
    expected = sorted({row.data_source for row in TABLE_ROWS})
    return f"samples that fit no table row (the table expects data_source in {expected}): " + " | ".join(parts)


def build_table(samples: list[dict], k: int) -> pd.DataFrame:
    """The table (:meth:`Results.frame`) of scored samples."""
    return summarize(samples, k).frame()


def write_results_table(results: Results, out_dir: Path) -> tuple[Path, Path, Path]:
    """``pass_at_{k}.md`` (the paper's numbers beside, then judge quality), ``.csv`` and ``.json``."""
    k = results.k
    table = results.frame()
    base = ["task", "configuration"]
    shown = table[base + [c for c in table.columns if c.endswith((f" pass@{k}", " pass@1", " prompts"))]].round(1)
    for name, values in PAPER.items():
        shown[f"paper {name} pass@16"] = values
    judge = table[base + [c for c in table.columns if c.endswith((" order consistency", " Brier", " answered"))]]
    judge = judge.round({c: 3 if c.endswith("Brier") else 1 for c in judge.columns[2:]})
    markdown, csv, js = (out_dir / f"pass_at_{k}.{suffix}" for suffix in ("md", "csv", "json"))
    write_text_atomic(markdown, f"pass@{k} and pass@1 (%), prompts per row\n\n{shown.to_markdown(index=False)}\n\n"
                                "Judge quality: order consistency (%), Brier score (0 best, 0.25 = always 5), "
                                f"answered (% parsed)\n\n{judge.to_markdown(index=False)}\n")
    write_text_atomic(csv, table.to_csv(index=False))
    write_text_atomic(js, json.dumps(results.as_json(), indent=2) + "\n")
    return markdown, csv, js


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=Path, nargs="+", required=True, help="scored-sample JSONL files")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        markdown, csv, js = write_results_table(summarize(read_samples(args.samples), args.k), args.out)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(markdown.read_text())
    print(f"wrote {markdown}, {csv} and {js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

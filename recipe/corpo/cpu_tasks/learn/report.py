"""The report of ``scripts/learn_cpu.sh``: table, learning curves, summary and ``results.json``.

    python -m recipe.corpo.cpu_tasks.learn.report --out DIR --warm-start WS --k 16 --steps 40 --max-new-tokens 16 \\
        --seeds 0 1 2 --estimators grpo corpo_static corpo --wall-s 3300

Reads what the script left under ``DIR``: ``eval/<run>/<run>.samples.jsonl`` (``recipe.corpo.evaluation.evaluate``;
``warm_start`` and ``<estimator>-s<seed>``) and ``runs/<estimator>-s<seed>/tensorboard`` (verl's
tracker). Writes, under ``DIR``:

- ``report.md``: the table (per row of the paper's table and per estimator: mean ± std over the
  seeds of pass@1 and pass@k, the warm start beside them, the paper's pass@16 columns), the
  summary (sentences generated from the numbers), the plots;
- ``results.json``: ``{"wall_s", "warm_start", "max_new_tokens", "val_files", "runs": [{"estimator",
  "seed", "checkpoint", "start", "end"}]}``, figures as fractions;
- ``plots/<panel>.png``: per estimator the mean over seeds per step, the band from the lowest to
  the highest seed, for every panel of ``recipe.corpo.reports.plot_diagnostics``.
"""

from __future__ import annotations

import argparse
import math
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from data_prep.formats.io import atomic_path, write_json_atomic  # noqa: E402
from recipe.corpo.reports.plot_diagnostics import PANELS, read_scalars, series  # noqa: E402
from recipe.corpo.reports.results_table import (  # noqa: E402
    PAPER,
    TABLE_ROWS,
    Results,
    read_samples,
    summarize,
)

NAMES = {"grpo": "GRPO", "corpo_static": "Static", "corpo": "CoRPO"}
WARM_START_RUN = "warm_start"
#: aggregate rows: name -> the TABLE_ROWS task it pools (prompt-weighted)
GROUPS = {"in_domain": "in-domain", "ood_code": "OOD coding", "ood_math": "OOD math"}
#: the panels of recipe.corpo.reports.plot_diagnostics plus the group-level shares (corpo_advantage.diagnostics)
PLOT_PANELS = {
    **PANELS,
    "equal_reward_group_frac": ("corpo/equal_reward_group_frac", "groups whose rewards are all equal (share)"),
    "all_failed_group_frac": ("corpo/all_failed_group_frac", "groups in which every sample failed (share)"),
}
#: judge-quality figures per group: name -> (Results field, the field weighting the pooled mean, label)
JUDGE = {"order_consistency": ("order_consistency", "order_pairs", "order consistency (%)"),
         "brier": ("brier", "prompts", "Brier score")}
VAL_FILES = {"in_domain": "val_code_id.parquet", "ood_code": "val_code_ood.parquet", "ood_math": "val_math_ood.parquet"}
#: the training-reward panel and the validation panel, also drawn together as learning.png
LEARNING_PANELS = ("val_accuracy", "mean_reward")


def run_name(estimator: str, seed: int) -> str:
    return f"{estimator}-s{seed}"


def _pooled(members: list[dict], field: str, weight: str) -> float | None:
    """The ``weight``-weighted mean of ``field`` over table rows (None when nothing is weighted)."""
    pairs = [(m[field], m[weight]) for m in members if m[weight] and m[field] is not None and not math.isnan(m[field])]
    total = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / total if total else None


def figures(results: Results, run: str, k: int) -> dict[str, float | None]:
    """One run's figures from ``recipe.corpo.reports.results_table.summarize``, per table row (its key) and
    per group (its rows pooled over prompts): ``pass1`` and ``pass<k>`` (fractions),
    ``order_consistency`` (fraction) and ``brier``; None where not measured."""
    rows = results.runs[run]
    fields = {"pass1": ("pass_at_1", "prompts"), f"pass{k}": ("pass_at_k", "prompts"),
              **{name: (field, weight) for name, (field, weight, _) in JUDGE.items()}}
    out: dict[str, float | None] = {}
    for name, (field, weight) in fields.items():
        for row in TABLE_ROWS:
            out[f"{row.key}_{name}"] = _pooled([rows[row.key]], field, weight)
        for group, task in GROUPS.items():
            out[f"{group}_{name}"] = _pooled([rows[r.key] for r in TABLE_ROWS if r.task == task], field, weight)
    return out


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _cell(values: list[float | None], scale: float = 100, digits: int = 1) -> str:
    if any(v is None for v in values):
        return "n/a"
    mean, std = mean_std([scale * v for v in values])
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if len(values) > 1 else f"{mean:.{digits}f}"


def table_markdown(start: dict, ends: dict[str, list[dict]], k: int) -> str:
    """Rows: the paper's six plus the three pooled groups; columns: warm start, estimators, paper."""
    header = ["task", "configuration", "warm start pass@1"] + [f"{NAMES.get(e, e)} pass@1" for e in ends]
    header += [f"warm start pass@{k}"] + [f"{NAMES.get(e, e)} pass@{k}" for e in ends]
    header += [f"paper {name} pass@16" for name in PAPER]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for task, configuration, key, paper_index in _keyed_rows():
        cells = [task, configuration, _cell([start[f"{key}_pass1"]])]
        cells += [_cell([run[f"{key}_pass1"] for run in runs]) for runs in ends.values()]
        cells += [_cell([start[f"{key}_pass{k}"]])]
        cells += [_cell([run[f"{key}_pass{k}"] for run in runs]) for runs in ends.values()]
        if paper_index is None:
            cells += [f"{statistics.fmean(PAPER[name][i] for i, r in enumerate(TABLE_ROWS) if r.task == task):.1f}" for name in PAPER]
        else:
            cells += [f"{PAPER[name][paper_index]:.1f}" for name in PAPER]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _keyed_rows() -> list[tuple[str, str, str, int | None]]:
    """(task, configuration, figure key, index in the paper's table or None) for the table's rows and the pooled groups."""
    keyed = [(row.task, row.configuration, row.key, i) for i, row in enumerate(TABLE_ROWS)]
    return keyed + [(task, "all", group, None) for group, task in GROUPS.items()]


def judge_markdown(start: dict, ends: dict[str, list[dict]]) -> str:
    """Order consistency (each pair also judged with A and B swapped) and the Brier score, per group."""
    header = ["task"]
    for _, _, label in JUDGE.values():
        header += [f"warm start {label}"] + [f"{NAMES.get(e, e)} {label}" for e in ends]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for group, task in GROUPS.items():
        cells = [task]
        for name in JUDGE:
            scale, digits = (100, 1) if name == "order_consistency" else (1, 3)
            key = f"{group}_{name}"
            cells += [_cell([start[key]], scale, digits)] + [_cell([r[key] for r in runs], scale, digits) for runs in ends.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def curves(runs: dict[str, list[Path]]) -> dict[str, dict[str, list[dict[int, float]]]]:
    """{panel: {estimator: [one {step: value} per seed]}} from the runs' tensorboard folders."""
    scalars = {estimator: [read_scalars(path) for path in paths] for estimator, paths in runs.items()}
    return {
        panel: {estimator: [series(s, pattern) for s in seeds] for estimator, seeds in scalars.items()}
        for panel, (pattern, _) in PLOT_PANELS.items()
    }


def _draw(axis, per_estimator: dict[str, list[dict[int, float]]], title: str) -> None:
    for index, (estimator, seeds) in enumerate(per_estimator.items()):
        steps = sorted(set.intersection(*(set(s) for s in seeds))) if seeds and all(seeds) else []
        if not steps:
            continue
        values = [[s[step] for s in seeds] for step in steps]
        mean = [statistics.fmean(v) for v in values]
        line = axis.plot(steps, mean, label=f"{NAMES.get(estimator, estimator)} (mean of {len(seeds)})",
                         linestyle=("-", "--", ":", "-.")[index % 4], marker=("o", "s", "^", "D")[index % 4], markersize=3)
        if len(seeds) > 1:
            axis.fill_between(steps, [min(v) for v in values], [max(v) for v in values], alpha=0.15, color=line[0].get_color())
    axis.set_title(title, fontsize=9)
    axis.set_xlabel("training step")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    if axis.lines:
        axis.legend(fontsize=7)
    else:
        axis.text(0.5, 0.5, "not logged", ha="center", va="center", transform=axis.transAxes)


def _save(figure, target: Path) -> Path:
    try:
        with atomic_path(target) as temp:
            figure.savefig(temp, format="png", dpi=100, bbox_inches="tight")
    finally:
        plt.close(figure)
    return target


def plot(data: dict, out_dir: Path) -> list[Path]:
    """``learning.png`` with the two learning panels, then one PNG per panel that some run logged
    (mean over seeds, min-max band)."""
    written = []
    figure, axes = plt.subplots(1, len(LEARNING_PANELS), figsize=(11, 4))
    for axis, panel in zip(axes, LEARNING_PANELS):
        _draw(axis, data[panel], PLOT_PANELS[panel][1])
    written.append(_save(figure, out_dir / "learning.png"))
    for panel, (_, title) in PLOT_PANELS.items():
        if not any(seed for seeds in data[panel].values() for seed in seeds):
            continue  # not logged by any run (e.g. verl's pass@N with one validation sample)
        figure, axis = plt.subplots(figsize=(6, 4))
        _draw(axis, data[panel], title)
        written.append(_save(figure, out_dir / f"{panel}.png"))
    return written


def _phase_means(points: dict[int, float], width: int) -> tuple[float, float]:
    """Mean over the first ``width`` logged steps and over the last ``width``."""
    steps = sorted(points)
    return statistics.fmean(points[s] for s in steps[:width]), statistics.fmean(points[s] for s in steps[-width:])


def _versus(a: list[float], b: list[float]) -> str:
    """Whether mean(a) - mean(b) exceeds two standard errors of the difference."""
    if len(a) < 2 or len(b) < 2:
        return "one seed: no spread to judge by"
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    gap = statistics.fmean(a) - statistics.fmean(b)
    return "more than two standard errors" if abs(gap) > 2 * se else "within two standard errors (not distinguishable at this number of seeds)"


def summary_markdown(start: dict, ends: dict[str, list[dict]], data: dict, k: int, target_points: float) -> str:
    """Sentences generated from the numbers: learning per estimator, the target, the table's rows, diagnostics."""
    lines = []
    pts = lambda v: 100 * v  # noqa: E731
    lines.append(f"- Warm start: in-domain pass@1 {pts(start['in_domain_pass1']):.1f}%, pass@{k} {pts(start[f'in_domain_pass{k}']):.1f}% "
                 f"(`recipe.corpo.evaluation.evaluate`, {k} samples per prompt).")
    for estimator, runs in ends.items():
        gains = [pts(run["in_domain_pass1"] - start["in_domain_pass1"]) for run in runs]
        mean, std = mean_std(gains)
        reward = [_phase_means(seed, 5) for seed in data["mean_reward"][estimator] if seed]
        reward_text = ""
        if reward:
            first, last = statistics.fmean(r[0] for r in reward), statistics.fmean(r[1] for r in reward)
            reward_text = (f"; mean training reward {first:+.3f} over the first 5 steps, {last:+.3f} over the last 5 "
                           f"({'up' if last > first else 'down or flat'})")
        lines.append(f"- {NAMES.get(estimator, estimator)} ({len(runs)} seed{'s' if len(runs) > 1 else ''}): in-domain pass@1 "
                     f"{pts(start['in_domain_pass1']):.1f}% -> {statistics.fmean(pts(r['in_domain_pass1']) for r in runs):.1f}%, "
                     f"a change of {mean:+.1f} ± {std:.1f} points (mean ± std over seeds; per seed: "
                     f"{', '.join(f'{g:+.1f}' for g in gains)}){reward_text}.")
    if "corpo" in ends:
        gain = statistics.fmean(pts(r["in_domain_pass1"] - start["in_domain_pass1"]) for r in ends["corpo"])
        verdict = "met" if gain >= target_points else "NOT met"
        lines.append(f"- Target (CoRPO's in-domain pass@1 up by >= {target_points:.0f} points, mean over seeds): {verdict} ({gain:+.1f}).")
    keys = [(key, f"{task}, {configuration}") for task, configuration, key, _ in _keyed_rows()]
    for metric, label in (("pass1", "pass@1"), (f"pass{k}", f"pass@{k}")):
        for key, row in keys:
            ranked = sorted(ends, key=lambda e: statistics.fmean(r[f"{key}_{metric}"] for r in ends[e]), reverse=True)
            if len(ranked) < 2:
                continue
            best, second = ranked[0], ranked[1]
            a = [pts(r[f"{key}_{metric}"]) for r in ends[best]]
            b = [pts(r[f"{key}_{metric}"]) for r in ends[second]]
            lines.append(f"- {row}, {label}: highest {NAMES.get(best, best)} {statistics.fmean(a):.1f}, next "
                         f"{NAMES.get(second, second)} {statistics.fmean(b):.1f}; the gap is {_versus(a, b)}.")
    compared = sum(1 for metric in ("pass1", f"pass{k}") for key, _ in keys if len(ends) > 1)
    if compared:
        lines.append(f"- {compared} rows were compared above; at two standard errors about one comparison in 20 "
                     "crosses by chance alone, so a single crossing is no evidence of a difference.")
    for estimator in ends:
        shares = [statistics.fmean(s.values()) for s in data["failed_pos_adv_frac"][estimator] if s]
        counterfactual = [statistics.fmean(s.values()) for s in data["grpo_failed_pos_adv_frac"][estimator] if s]
        if shares:
            lines.append(f"- {NAMES.get(estimator, estimator)}: failed rows with a positive advantage, mean over steps and seeds "
                         f"{statistics.fmean(shares):.3f} (GRPO's mean baseline would give one to {statistics.fmean(counterfactual):.3f} of them).")
        equal = [statistics.fmean(s.values()) for s in data["equal_reward_group_frac"][estimator] if s]
        all_failed = [statistics.fmean(s.values()) for s in data["all_failed_group_frac"][estimator] if s]
        if equal and all_failed:
            lines.append(f"- {NAMES.get(estimator, estimator)}: groups with all rewards equal (no learning signal under GRPO) "
                         f"{statistics.fmean(equal):.3f}, groups where every sample failed {statistics.fmean(all_failed):.3f} "
                         "(mean over steps and seeds).")
        modes = [_phase_means(s, 5) for s in data["correctness_mode_frac"][estimator] if s]
        if modes and estimator == "corpo":
            first, last = statistics.fmean(m[0] for m in modes), statistics.fmean(m[1] for m in modes)
            lines.append(f"- CoRPO: share of groups in correctness-seeking mode {first:.2f} over the first 5 steps, {last:.2f} over the last 5.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="the learn_cpu.sh output folder")
    parser.add_argument("--warm-start", type=Path, required=True, help="the warm start's folder (model/, data/)")
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--max-new-tokens", type=int, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--estimators", nargs="+", required=True)
    parser.add_argument("--wall-s", type=float, required=True)
    parser.add_argument("--target-points", type=float, default=15.0)
    args = parser.parse_args()

    names = [WARM_START_RUN] + [run_name(e, s) for e in args.estimators for s in args.seeds]
    results_table = summarize(read_samples([args.out / "eval" / name / f"{name}.samples.jsonl" for name in names]), args.k)
    start = figures(results_table, WARM_START_RUN, args.k)
    ends = {e: [figures(results_table, run_name(e, s), args.k) for s in args.seeds] for e in args.estimators}
    data = curves({e: [args.out / "runs" / run_name(e, s) / "tensorboard" for s in args.seeds] for e in args.estimators})
    plots = plot(data, args.out / "plots")

    results = {
        "wall_s": args.wall_s,
        "warm_start": str(args.warm_start / "model"),
        "max_new_tokens": args.max_new_tokens,
        "val_files": {group: str(args.warm_start / "data" / name) for group, name in VAL_FILES.items()},
        "runs": [
            {
                "estimator": e, "seed": s,
                "checkpoint": str(args.out / "runs" / run_name(e, s) / "checkpoints" / f"global_step_{args.steps}" / "actor" / "huggingface"),
                "start": start, "end": ends[e][i],
            }
            for e in args.estimators for i, s in enumerate(args.seeds)
        ],
    }
    write_json_atomic(args.out / "results.json", results)
    report = [
        "# CoRPO learns on a CPU: GRPO vs static vs CoRPO from one warm start", "",
        f"Written by `scripts/learn_cpu.sh` in {args.wall_s / 60:.1f} min: {len(args.seeds)} seed(s) x {args.steps} steps per "
        f"estimator, evaluated with {args.k} samples per validation prompt (pass@1 and pass@{args.k}, %; mean ± std over seeds).", "",
        table_markdown(start, ends, args.k), "",
        "Judge quality (pooled per task; order consistency: share of pairs judged the same with A and B swapped; "
        "Brier score of the scores / 10 against the labels, 0 best):", "",
        judge_markdown(start, ends), "## Summary", "",
        summary_markdown(start, ends, data, args.k, args.target_points), "## Plots", "",
    ]
    report += [f"![{path.stem}](plots/{path.name})" for path in plots]
    with atomic_path(args.out / "report.md") as temp:
        temp.write_text("\n".join(report) + "\n", encoding="utf-8")
    print((args.out / "report.md").read_text())
    print(f"[learn report] {args.out / 'report.md'}, {args.out / 'results.json'}, {args.out / 'plots'}")


if __name__ == "__main__":
    main()

"""The report of ``scripts/learn_cpu.sh``: ``results.json``, ``report.md`` and plots.

    python -m recipe.corpo.cpu_tasks.learn.report --out DIR [--verl-runs DIR/verl] --wall-s 2400

Reads ``DIR/experiment.json``, ``DIR/warm_start_eval.json`` and ``DIR/runs/*/run.json``
(``recipe.corpo.cpu_tasks.learn.experiment``) and, when given, the verl runs' tensorboard folders
(``<verl-runs>/<estimator>/tensorboard``). Writes under ``DIR``:

- ``results.json``: the contract of issue 18 (``wall_s``, ``trainer``, ``temperature``, ``top_p``,
  ``max_new_tokens``, ``rows``, ``val_files``, ``warm_start``, ``runs``, ``differences``,
  ``predictions``), plus ``verl_runs`` (their per-step curves) and ``mechanism``;
- ``report.md``: the pre-registered predictions (``predictions.md``, verbatim) with verdicts, the
  tables (pass@1 per row, mean and 95% interval over seeds; paired differences with intervals and
  Holm-adjusted p), the mechanism per estimator, the control, the plots;
- ``plots/*.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from recipe.corpo.cpu_tasks.learn import stats  # noqa: E402
from recipe.corpo.cpu_tasks.learn.evaluation import ROWS, TEMPERATURE, TOP_P, kind_accuracy  # noqa: E402
from recipe.corpo.reports.pass_at_k import pass_at_k  # noqa: E402

NAMES = {"grpo": "GRPO", "corpo_static": "Static", "corpo": "CoRPO"}
GROUP_ROWS = ("in_domain", "ood_code")
TABLE_ROWS = (*ROWS, *GROUP_ROWS)
COMPARISONS = (("corpo", "grpo"), ("corpo_static", "grpo"), ("corpo", "corpo_static"))
#: the smallest gap of the paper's table (points): "no difference" must exclude it
PAPER_GAP = 0.04
#: predictions' margins (fractions)
MARGIN = 0.02
FAILED_POSITIVE_CLAIM = 0.10
R_COUNT_CLAIM = 3.0
LAST_STEPS = 10
TEMPLATE = Path(__file__).with_name("predictions.md")
MECHANISM_KEYS = ("train_success", "reward_mean", "corpo/failed_pos_adv_frac", "corpo/grpo_failed_pos_adv_frac",
                  "corpo/r_count", "corpo/correctness_mode_frac", "corpo/equal_reward_group_frac",
                  "level/correct", "level/one_wrong", "level/two_wrong", "level/format",
                  "kind_acc/correct", "kind_acc/constant", "kind_acc/operator", "kind_acc/swap", "kind_acc/name",
                  "position_bias", "abs(position_bias)", "one_above_5")


def per_prompt(samples: list[dict], row: str, n: int, k: int = 1) -> np.ndarray:
    """pass@k of each prompt of a row (or group), in file order."""
    return np.array([pass_at_k(n, s["c"], k) for s in samples if s["row"] == row or s["row"].split("/")[0] == row])


def load(out: Path) -> tuple[dict, dict, dict]:
    """(experiment.json, warm start evaluation, runs by (reward, estimator) -> {seed: run})."""
    experiment = json.loads((out / "experiment.json").read_text())
    warm = json.loads((out / "warm_start_eval.json").read_text())
    runs: dict = {}
    for reward in experiment["rewards"]:
        for estimator in experiment["estimators"]:
            for seed in experiment["seeds"]:
                path = out / "runs" / f"{reward}-{estimator}-s{seed}" / "run.json"
                runs.setdefault((reward, estimator), {})[seed] = json.loads(path.read_text())
    return experiment, warm, runs


def differences(runs: dict, reward: str, seeds: list[int], n: int) -> list[dict]:
    """Paired differences per table row and comparison for one reward, Holm-adjusted over them."""
    out = []
    for row in TABLE_ROWS:
        for a, b in COMPARISONS:
            matrix = {e: np.stack([per_prompt(runs[(reward, e)][s]["samples"], row, n) for s in seeds])
                      for e in (a, b)}
            result = stats.paired_bootstrap(matrix[a], matrix[b])
            out.append({"reward": reward, "row": row, "a": a, "b": b, **result})
    for d, adjusted in zip(out, stats.holm([d["p"] for d in out])):
        d["p_holm"] = adjusted
        d["words"] = stats.describe(d, PAPER_GAP)
    return out


def _finite_mean(values) -> float:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return sum(values) / len(values) if values else math.nan


def failed_positive_while_failing(steps: list[dict]) -> float:
    """Failure-weighted failed-positive share over the steps with training success below 50% (NaN if none)."""
    chosen = [s for s in steps if s["train_success"] < 0.5 and s["corpo/failed_count"] > 0]
    weight = sum(s["corpo/failed_count"] for s in chosen)
    return sum(s["corpo/failed_pos_adv_frac"] * s["corpo/failed_count"] for s in chosen) / weight if weight else math.nan


def final_r_count(steps: list[dict]) -> float:
    return _finite_mean(s["corpo/r_count"] for s in steps[-LAST_STEPS:])


def predictions(runs: dict, diffs: list[dict], seeds: list[int]) -> list[dict]:
    """The verdicts of ``predictions.md`` (ordinal reward)."""
    out = []
    shares = [failed_positive_while_failing(runs[("ordinal", "grpo")][s]["steps"]) for s in seeds]
    mean, low, high = stats.seed_bootstrap(np.array(shares))
    counted = sum(math.isfinite(v) for v in shares)
    verdict = ("inconclusive" if not counted else "confirmed" if low >= FAILED_POSITIVE_CLAIM
               else "refuted" if high < FAILED_POSITIVE_CLAIM else "inconclusive")
    out.append({"claim": "(a) GRPO's failed-positive share >= 10% while training success < 50%", "verdict": verdict,
                "evidence": {"mean": mean, "ci_low": low, "ci_high": high, "seeds_with_such_steps": counted,
                             "per_seed": shares}})
    ratios = []
    for s in seeds:
        static, corpo = (final_r_count(runs[("ordinal", e)][s]["steps"]) for e in ("corpo_static", "corpo"))
        ratios.append(math.log(static / corpo) if static > 0 and corpo > 0 and math.isfinite(static / corpo) else math.nan)
    mean, low, high = (math.exp(v) if math.isfinite(v) else math.nan for v in stats.seed_bootstrap(np.array(ratios)))
    verdict = ("inconclusive" if not math.isfinite(mean) else "confirmed" if low > R_COUNT_CLAIM
               else "refuted" if high < R_COUNT_CLAIM else "inconclusive")
    out.append({"claim": "(c) static's final r_count > 3x CoRPO's", "verdict": verdict,
                "evidence": {"geometric_mean_ratio": mean, "ci_low": low, "ci_high": high,
                             "per_seed_ratio": [math.exp(r) if math.isfinite(r) else None for r in ratios]}})
    pick = {(d["row"], d["a"], d["b"]): d for d in diffs if d["reward"] == "ordinal"}
    ood = [pick[("ood_code", e, "grpo")] for e in ("corpo_static", "corpo")]
    within = pick[("in_domain", "corpo", "corpo_static")]
    if all(d["ci_low"] >= -MARGIN for d in ood) and -MARGIN <= within["ci_low"] and within["ci_high"] <= MARGIN:
        verdict = "confirmed"
    elif any(d["ci_high"] < 0 for d in ood) or within["ci_low"] > MARGIN or within["ci_high"] < -MARGIN:
        verdict = "refuted"
    else:
        verdict = "inconclusive"
    out.append({"claim": "(d) static and CoRPO >= GRPO out of domain; CoRPO within 2 points of static in domain",
                "verdict": verdict, "evidence": {
                    "static_minus_grpo_ood": _interval(ood[0]), "corpo_minus_grpo_ood": _interval(ood[1]),
                    "corpo_minus_static_in_domain": _interval(within)}})
    return out


#: a run has settled when, over ``SETTLE_WINDOW`` steps, each of these kinds' batch accuracy averages above ``SETTLE_ACCURACY``
SETTLE_KINDS = ("kind_acc/correct", "kind_acc/name")
SETTLE_WINDOW = 5
SETTLE_ACCURACY = 0.95


def settle_step(steps: list[dict]) -> float:
    """The first step ending a ``SETTLE_WINDOW``-step window in which the batches judged correct
    candidates and crashes right more than ``SETTLE_ACCURACY`` of the time on average (NaN if never):
    when the policy reached what a judge blind to wrong answers can learn. Exploratory, not
    pre-registered."""
    for end in range(SETTLE_WINDOW, len(steps) + 1):
        window = steps[end - SETTLE_WINDOW:end]
        if all(_finite_mean(st.get(key) for st in window) > SETTLE_ACCURACY for key in SETTLE_KINDS):
            return float(window[-1]["step"])
    return math.nan


def settling(runs: dict, rewards: list[str], seeds: list[int]) -> list[dict]:
    """Per reward and comparison, the paired difference of ``settle_step`` over seeds (mean and 95%
    bootstrap interval over seeds), with each estimator's per-seed steps."""
    out = []
    for reward in rewards:
        for a, b in COMPARISONS:
            if (reward, a) not in runs or (reward, b) not in runs:
                continue
            per_seed = {e: [settle_step(runs[(reward, e)][s]["steps"]) for s in seeds] for e in (a, b)}
            mean, low, high = stats.seed_bootstrap(np.array(per_seed[a]) - np.array(per_seed[b]))
            out.append({"reward": reward, "a": a, "b": b, "mean": mean, "ci_low": low, "ci_high": high,
                        "steps": per_seed})
    return out


def _interval(d: dict) -> dict:
    return {k: d[k] for k in ("mean", "ci_low", "ci_high", "p_holm")}


def mechanism(runs: dict, seeds: list[int]) -> dict:
    """Per reward and estimator: each key's mean over seeds of its mean over the first and the last 10 steps."""
    out = {}
    for (reward, estimator), by_seed in runs.items():
        entry = {}
        for key in MECHANISM_KEYS:
            if key.startswith("|"):
                continue  # computed below
            for phase, part in (("first", slice(0, LAST_STEPS)), ("last", slice(-LAST_STEPS, None))):
                entry[f"{key}|{phase}"] = _finite_mean(
                    _finite_mean(step.get(key) for step in by_seed[s]["steps"][part]) for s in seeds)
        # the signed bias averages seeds leaning to A with seeds leaning to B: also its size per seed
        for phase, part in (("first", slice(0, LAST_STEPS)), ("last", slice(-LAST_STEPS, None))):
            entry[f"abs(position_bias)|{phase}"] = _finite_mean(
                abs(_finite_mean(step.get("position_bias") for step in by_seed[s]["steps"][part])) for s in seeds)
        entry["failed_positive_steps_share"] = _finite_mean(
            _finite_mean(float(step["corpo/failed_pos_adv_frac"] > 0) for step in by_seed[s]["steps"]
                         if math.isfinite(step["corpo/failed_pos_adv_frac"])) for s in seeds)
        out[f"{reward}/{estimator}"] = entry
    return out


def judge_table(runs: dict, warm: dict, reward: str, estimators: list[str], seeds: list[int], n: int) -> str:
    """Per-candidate accuracy by kind, warm start and final checkpoints (mean over seeds), in-domain and OOD."""
    kinds = sorted({k for s in warm["samples"] for k in s["kind_right"]})
    lines = ["| group | kind | warm start | " + " | ".join(NAMES[e] for e in estimators) + " |",
             "|---|---|---|" + "---|" * len(estimators)]
    for group in GROUP_ROWS:
        base = kind_accuracy(warm["samples"], n, group)
        final = {e: [kind_accuracy(runs[(reward, e)][s]["samples"], n, group) for s in seeds] for e in estimators}
        for kind in kinds:
            if kind not in base:
                continue
            cells = [group, kind, _pct(base[kind])]
            cells += [_pct(_finite_mean(accuracy.get(kind, math.nan) for accuracy in final[e])) for e in estimators]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pct(value: float, digits: int = 1) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.{digits}f}"


def pass_table(runs: dict, warm: dict, reward: str, estimators: list[str], seeds: list[int], n: int,
               ks: list[int]) -> str:
    """pass@1 (and pass@k unless trivially 100% everywhere) per row: mean [95% CI over seeds]."""
    columns = [1] + [k for k in ks if not all(
        runs[(reward, e)][s]["pass"][row][f"pass{k}"] > 0.995 for e in estimators for s in seeds for row in TABLE_ROWS)]
    header = "| row | warm start | " + " | ".join(f"{NAMES[e]} pass@{k}" for k in columns for e in estimators) + " |"
    lines = [header, "|" + "---|" * (2 + len(columns) * len(estimators))]
    for row in TABLE_ROWS:
        cells = [row, _pct(warm["pass"][row]["pass1"])]
        for k in columns:
            for e in estimators:
                mean, low, high = stats.seed_bootstrap(np.array([runs[(reward, e)][s]["pass"][row][f"pass{k}"] for s in seeds]))
                cells.append(f"{_pct(mean)} [{_pct(low)}, {_pct(high)}]")
        lines.append("| " + " | ".join(cells) + " |")
    dropped = [k for k in ks if k not in columns]
    if dropped:
        lines.append(f"\npass@{', '.join(map(str, dropped))} dropped: above 99.5% for every run and row (trivial).")
    return "\n".join(lines)


def difference_table(diffs: list[dict], reward: str) -> str:
    lines = ["| row | difference | mean (points) | 95% CI | p (Holm) | reading |", "|---|---|---|---|---|---|"]
    for d in diffs:
        if d["reward"] == reward:
            lines.append(f"| {d['row']} | {NAMES[d['a']]} - {NAMES[d['b']]} | {100 * d['mean']:+.1f} | "
                         f"[{100 * d['ci_low']:+.1f}, {100 * d['ci_high']:+.1f}] | {d['p_holm']:.3f} | {d['words']} |")
    return "\n".join(lines)


def mechanism_table(mech: dict, reward: str, estimators: list[str]) -> str:
    lines = ["| per step (mean over seeds), first 10 -> last 10 steps | " + " | ".join(NAMES[e] for e in estimators) + " |",
             "|---|" + "---|" * len(estimators)]
    for key in MECHANISM_KEYS:
        cells = []
        for e in estimators:
            m = mech[f"{reward}/{e}"]
            first, last = m[f"{key}|first"], m[f"{key}|last"]
            cells.append(f"{first:.3f} -> {last:.3f}" if math.isfinite(first) or math.isfinite(last) else "n/a")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    cells = [f"{mech[f'{reward}/{e}']['failed_positive_steps_share']:.2f}" for e in estimators]
    lines.append("| steps with any failed sample reinforced (share) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _band(axis, curves: list[list[tuple[int, float]]], label: str, color=None):
    """Mean over seeds per step and the band from the lowest to the highest seed; returns the colour."""
    steps = sorted({x for curve in curves for x, _ in curve})
    table = [[dict(curve).get(x, math.nan) for x in steps] for curve in curves]
    values = np.array(table, dtype=float)
    with warnings.catch_warnings():  # a step where every seed is undefined (NaN) stays a gap
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, low, high = np.nanmean(values, 0), np.nanmin(values, 0), np.nanmax(values, 0)
    line, = axis.plot(steps, mean, label=label, color=color)
    if len(curves) > 1:
        axis.fill_between(steps, low, high, alpha=0.2, color=line.get_color())
    return line.get_color()


def _smooth(points: list[tuple[int, float]], width: int = 5) -> list[tuple[int, float]]:
    out = []
    for i, (x, _) in enumerate(points):
        window = [v for _, v in points[max(0, i - width + 1):i + 1] if math.isfinite(v)]
        out.append((x, sum(window) / len(window) if window else math.nan))
    return out


PLOTS = {
    "validation": ("in-domain pass@1 (validation, T=0.6)", None),
    "train_success": ("training success (batch, smoothed over 5 steps)", "train_success"),
    "failed_pos_adv_frac": ("failed samples with A > 0 (share, smoothed)", "corpo/failed_pos_adv_frac"),
    "grpo_failed_pos_adv_frac": ("failed samples above their group mean (share, smoothed)", "corpo/grpo_failed_pos_adv_frac"),
    "r_count": ("r_count = #{A>0} / #{A<0} (smoothed)", "corpo/r_count"),
    "level_one_wrong": ("answers with one wrong judgment (share, smoothed)", "level/one_wrong"),
    "one_above_5": ("answers with exactly one score above 5 (share, smoothed)", "one_above_5"),
    "position_bias": ("position bias: P(A > 5) - P(B > 5) (smoothed)", "position_bias"),
}


def plot(runs: dict, seeds: list[int], estimators: list[str], rewards: list[str], out: Path, verl: dict) -> list[str]:
    """One figure per panel, a column per reward; per estimator the mean over seeds and the seed range."""
    (out / "plots").mkdir(exist_ok=True)
    written = []
    for name, (title, key) in PLOTS.items():
        figure, axes = plt.subplots(1, len(rewards), figsize=(5.5 * len(rewards), 3.6), squeeze=False)
        for axis, reward in zip(axes[0], rewards):
            for color, e in zip(("C0", "C1", "C2"), estimators):
                if key is None:
                    curves = [[(p["step"], p["in_domain_pass1"]) for p in runs[(reward, e)][s]["curve"]] for s in seeds]
                else:
                    curves = [_smooth([(st["step"], float(st.get(key, math.nan))) for st in runs[(reward, e)][s]["steps"]])
                              for s in seeds]
                _band(axis, curves, f"{NAMES[e]} (direct)", color)
                if key is None and reward == "ordinal" and e in verl:
                    axis.plot(*zip(*verl[e]["validation"]), linestyle="--", marker=".", color=color,
                              label=f"{NAMES[e]} (verl trainer, seed 0)")
            axis.set_title(f"{reward} reward", fontsize=9)
            axis.set_xlabel("step")
            axis.legend(fontsize=7)
        figure.suptitle(title, fontsize=10)
        figure.tight_layout()
        figure.savefig(out / "plots" / f"{name}.png", dpi=90)
        plt.close(figure)
        written.append(f"plots/{name}.png")
    return written


def verl_curves(folder: Path | None) -> dict:
    """Per estimator, the verl run's validation accuracy and training success per step (tensorboard)."""
    if folder is None or not folder.exists():
        return {}
    from recipe.corpo.reports.plot_diagnostics import PANELS, read_scalars, series
    out = {}
    for run in sorted(p for p in folder.iterdir() if (p / "tensorboard").exists()):
        try:
            scalars = read_scalars(run / "tensorboard")
        except ValueError:  # a run stopped before its first logged step
            continue
        out[run.name] = {"validation": sorted(series(scalars, PANELS["val_accuracy"][0]).items()),
                         "reward_mean": sorted(scalars.get("critic/score/mean", {}).items()),
                         "failed_pos_adv_frac": sorted(scalars.get("corpo/failed_pos_adv_frac", {}).items()),
                         "step_s": float(np.median(list(scalars.get("timing_s/step", {math.nan: math.nan}).values())))}
    return out


def write(out: Path, wall_s: float, verl_dir: Path | None = None) -> dict:
    experiment, warm, runs = load(out)
    seeds, estimators, rewards = experiment["seeds"], experiment["estimators"], experiment["rewards"]
    options = experiment["options"]
    n = options["samples"]
    diffs = [d for reward in rewards for d in differences(runs, reward, seeds, n)]
    preds = predictions(runs, diffs, seeds) if "ordinal" in rewards and len(estimators) == 3 else []
    mech = mechanism(runs, seeds)
    settled = settling(runs, rewards, seeds)
    verl = verl_curves(verl_dir)
    results = {
        "wall_s": wall_s, "trainer": "direct", "temperature": TEMPERATURE, "top_p": TOP_P,
        "max_new_tokens": options["max_new_tokens"], "rows": list(TABLE_ROWS), "val_files": experiment["val_files"],
        "warm_start": {"checkpoint": str(Path(experiment["warm_start"]) / "model"),
                       "pass1": {row: warm["pass"][row]["pass1"] for row in TABLE_ROWS},
                       "kind_accuracy": {group: kind_accuracy(warm["samples"], n, group) for group in GROUP_ROWS}},
        "runs": [{"estimator": e, "reward": r, "seed": s, "checkpoint": runs[(r, e)][s]["checkpoint"],
                  "steps": runs[(r, e)][s]["steps"], "curve": runs[(r, e)][s]["curve"],
                  "pass1": {row: runs[(r, e)][s]["pass"][row]["pass1"] for row in TABLE_ROWS},
                  "pass": runs[(r, e)][s]["pass"], "train_s": runs[(r, e)][s]["train_s"]}
                 for r in rewards for e in estimators for s in seeds],
        "differences": [{k: d[k] for k in ("reward", "row", "a", "b", "mean", "ci_low", "ci_high", "p", "p_holm", "words")}
                        for d in diffs],
        "predictions": preds, "mechanism": mech, "settling": settled, "verl_runs": verl, "options": options,
    }
    (out / "results.json").write_text(json.dumps(results, indent=1, allow_nan=True))
    plots = plot(runs, seeds, estimators, rewards, out, verl)
    lines = [f"# CoRPO vs GRPO on the CPU verifier task: report", "",
             f"`bash scripts/learn_cpu.sh`: {len(seeds)} seeds x {len(estimators)} estimators x {len(rewards)} rewards, "
             f"{options['steps']} steps each ({options['prompts']} prompts x {options['rollouts']} samples per step), "
             f"trained by the direct loop (`recipe.corpo.cpu_tasks.learn.direct`: verl's `compute_advantage`, verl's policy loss, "
             f"our reward and diagnostics); evaluation {n} samples per prompt at T={TEMPERATURE}, top-p {TOP_P}, every pair "
             f"in both orders. Wall time {wall_s:.0f} s.", "", TEMPLATE.read_text().strip(), "", "### Verdicts", ""]
    for p in preds:
        lines.append(f"- **{p['verdict']}**: {p['claim']}. Evidence: `{json.dumps(p['evidence'], default=str)}`")
    for reward in rewards:
        lines += ["", f"## {reward} reward: pass@1 (%), mean [95% CI over seeds]", "",
                  pass_table(runs, warm, reward, estimators, seeds, n, options["ks"]), "",
                  f"### Judgments right per candidate kind ({reward}), % of judgments, final checkpoints (mean over seeds)", "",
                  judge_table(runs, warm, reward, estimators, seeds, n), "",
                  f"### Paired differences ({reward}), points", "", difference_table(diffs, reward), "",
                  f"### Mechanism ({reward})", "", mechanism_table(mech, reward, estimators)]
    lines += ["", "## When the runs settled (exploratory, not pre-registered)", "",
              f"Step at which a run's batches first judged correct candidates and crashes right more than "
              f"{100 * SETTLE_ACCURACY:.0f}% of the time over {SETTLE_WINDOW} steps (`settle_step`); paired differences "
              f"over seeds, 95% bootstrap interval (5 seeds: too narrow, see stats.py).", "",
              "| reward | difference | steps per seed (a; b) | mean (steps) | 95% CI |", "|---|---|---|---|---|"]
    for d in settled:
        lines.append(f"| {d['reward']} | {NAMES[d['a']]} - {NAMES[d['b']]} | {d['steps'][d['a']]}; {d['steps'][d['b']]} | "
                     f"{d['mean']:+.1f} | [{d['ci_low']:+.1f}, {d['ci_high']:+.1f}] |")
    direct_step = np.median([r["train_s"] / options["steps"] for by_seed in runs.values() for r in by_seed.values()])
    lines += ["", "## Cost", "", f"Direct loop: median {direct_step:.2f} s per training step per run (one thread, "
              f"validation included, {experiment.get('workers', 2)} runs at a time)."]
    if verl:
        lines += ["", "## The same task through verl's trainer (seed 0 per estimator, ordinal reward)", ""]
        for e, curve in verl.items():
            points = ", ".join(f"{int(x)}: {100 * v:.0f}%" for x, v in curve["validation"])
            lines.append(f"- {NAMES.get(e, e)} (median {curve['step_s']:.1f} s per step in verl's timing): "
                         f"in-domain validation accuracy (1 sample per prompt, T=0.6) by step: {points}")
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    (out / "summary.md").write_text(summary_markdown(runs, warm, diffs, preds, experiment, wall_s))
    return results


def summary_markdown(runs: dict, warm: dict, diffs: list[dict], preds: list[dict], experiment: dict, wall_s: float) -> str:
    """The README's excerpt: the verdicts, and per reward the pooled rows' pass@1 with the paired differences."""
    seeds, estimators = experiment["seeds"], experiment["estimators"]
    lines = [f"Wall time {wall_s / 60:.0f} min; {len(seeds)} seeds, {experiment['options']['steps']} steps per run.", ""]
    lines += [f"- **{p['verdict']}** {p['claim']}" for p in preds]
    for reward in experiment["rewards"]:
        lines += ["", f"{reward} reward, pass@1 (%), mean [95% CI] over seeds; differences in points, Holm p:", "",
                  "| row | warm start | " + " | ".join(NAMES[e] for e in estimators) + " | CoRPO - GRPO | Static - GRPO | CoRPO - Static |",
                  "|---|---|" + "---|" * (len(estimators) + 3)]
        for row in TABLE_ROWS:
            cells = [row, _pct(warm["pass"][row]["pass1"])]
            for e in estimators:
                mean, low, high = stats.seed_bootstrap(np.array([runs[(reward, e)][s]["pass"][row]["pass1"] for s in seeds]))
                cells.append(f"{_pct(mean)} [{_pct(low)}, {_pct(high)}]")
            for a, b in COMPARISONS:
                d = next((d for d in diffs if (d["reward"], d["row"], d["a"], d["b"]) == (reward, row, a, b)), None)
                cells.append("" if d is None else f"{100 * d['mean']:+.1f} [{100 * d['ci_low']:+.1f}, {100 * d['ci_high']:+.1f}], p={d['p_holm']:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--verl-runs", type=Path, default=None)
    parser.add_argument("--wall-s", type=float, required=True)
    args = parser.parse_args(argv)
    results = write(args.out, args.wall_s, args.verl_runs)
    for p in results["predictions"]:
        print(f"{p['verdict']}: {p['claim']}")
    print(f"report: {args.out / 'report.md'}")


if __name__ == "__main__":
    main()

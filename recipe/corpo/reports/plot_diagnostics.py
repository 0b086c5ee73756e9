"""Plot the paper's training diagnostics per step, one line per run, from verl's tensorboard logs.

    python -m recipe.corpo.reports.plot_diagnostics --run GRPO=outputs/paper/grpo/tensorboard \\
        --run Static=outputs/paper/corpo_static/tensorboard --run CoRPO=outputs/paper/corpo/tensorboard --out plots/

The logs are what verl 0.9.1's own tracker writes with ``trainer.logger='[console,tensorboard]'``
into ``$TENSORBOARD_DIR`` (the paper scripts and ``scripts/run_corpo_tiny_cpu.sh`` set both; verl's
default folder is ``tensorboard_log/<project>/<experiment>``). One PNG per panel: the share of
failed rows with a positive advantage (and GRPO's counterfactual share), r_count, r_loss, the
share of groups in correctness-seeking mode, the mean reward, and validation accuracy: the mean
over the validation sets of verl's ``val-core/<set>/acc/mean@N`` (pass@1) and ``acc/best@N/mean``
(verl's bootstrap estimate of pass@N).
"""

from __future__ import annotations

import argparse
from fnmatch import fnmatchcase
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from data_prep.formats.io import atomic_path  # noqa: E402

#: file name -> (tag, or a pattern whose matching tags are averaged per step; title)
PANELS = {
    "failed_pos_adv_frac": ("corpo/failed_pos_adv_frac", "failed rows with A > 0 (share)"),
    "grpo_failed_pos_adv_frac": ("corpo/grpo_failed_pos_adv_frac", "failed rows GRPO's mean baseline would reinforce (share)"),
    "r_count": ("corpo/r_count", "r_count = #{A>0} / #{A<0}"),
    "r_loss": ("corpo/r_loss", "r_loss = loss weight of A>0 / of A<0"),
    "correctness_mode_frac": ("corpo/correctness_mode_frac", "groups in correctness-seeking mode (share)"),
    "mean_reward": ("critic/score/mean", "mean training reward"),
    "val_accuracy": ("val-core/*/acc/mean@*", "validation accuracy, pass@1 (mean over sets)"),
    "val_pass_at_n": ("val-core/*/acc/best@*/mean", "validation pass@N, verl's estimate (mean over sets)"),
}
LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v")


def read_scalars(log_dir: Path) -> dict[str, dict[int, float]]:
    """{tag: {step: value}} of every scalar in a tensorboard log folder."""
    if not Path(log_dir).is_dir():
        raise FileNotFoundError(f"{log_dir}: no such tensorboard folder")
    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    tags = accumulator.Tags()["scalars"]
    if not tags:
        raise ValueError(f"{log_dir}: no tensorboard scalars (was the run started with trainer.logger containing tensorboard?)")
    return {tag: {event.step: event.value for event in accumulator.Scalars(tag)} for tag in tags}


def series(scalars: dict[str, dict[int, float]], pattern: str) -> dict[int, float]:
    """{step: value} of a tag; for a pattern with ``*``, the mean over the matching tags at each step."""
    matching = [values for tag, values in scalars.items() if fnmatchcase(tag, pattern)]
    steps = sorted({step for values in matching for step in values})
    return {step: sum(v[step] for v in matching if step in v) / sum(step in v for v in matching) for step in steps}


def plot(runs: dict[str, Path], out_dir: Path) -> list[Path]:
    """One PNG per panel under ``out_dir``, one line per run; returns the files written."""
    scalars = {name: read_scalars(path) for name, path in runs.items()}
    written = []
    for file_name, (pattern, title) in PANELS.items():
        figure, axis = plt.subplots(figsize=(6, 4))
        for index, (name, run_scalars) in enumerate(scalars.items()):
            points = series(run_scalars, pattern)
            if points:  # styles differ so that runs with equal values (e.g. two zero lines) stay visible
                axis.plot(list(points), list(points.values()), label=name,
                          linestyle=LINE_STYLES[index % len(LINE_STYLES)], marker=MARKERS[index % len(MARKERS)])
        axis.set_title(title)
        axis.set_xlabel("training step")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        if axis.lines:
            axis.legend()
        else:
            axis.text(0.5, 0.5, f"not logged: {pattern}", ha="center", va="center", transform=axis.transAxes)
        target = out_dir / f"{file_name}.png"
        try:
            with atomic_path(target) as temp:
                figure.savefig(temp, format="png", dpi=100, bbox_inches="tight")
        finally:
            plt.close(figure)
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, metavar="NAME=TENSORBOARD_DIR")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    runs = {}
    for item in args.run:
        name, sep, path = item.partition("=")
        if not sep or not name:
            parser.error(f"--run takes NAME=TENSORBOARD_DIR, got {item!r}")
        runs[name] = Path(path)
    for path in plot(runs, args.out):
        print(path)


if __name__ == "__main__":
    main()

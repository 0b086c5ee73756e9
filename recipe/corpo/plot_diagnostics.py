"""Plot the paper's training diagnostics per step, one line per run, from verl's tensorboard logs.

    python -m recipe.corpo.plot_diagnostics --run GRPO=outputs/grpo/tensorboard --run CoRPO=... --out plots/

Train with ``trainer.logger='[console,tensorboard]'`` and ``TENSORBOARD_DIR=<dir>`` (the run scripts
do). One PNG per metric: the share of failed rows with a positive advantage, r_count, r_loss, the
share of groups in correctness-seeking mode, mean reward, and validation accuracy (the mean of
verl's ``val-core/*/acc/mean@N`` over the validation sets).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from data_prep.io import atomic_path  # noqa: E402

PANELS = {
    "failed_pos_adv_frac": ("corpo/failed_pos_adv_frac", "failed rows with A > 0 (share)"),
    "grpo_failed_pos_adv_frac": ("corpo/grpo_failed_pos_adv_frac", "failed rows GRPO would reinforce (share)"),
    "r_count": ("corpo/r_count", "r_count = #{A>0} / #{A<0}"),
    "r_loss": ("corpo/r_loss", "r_loss = loss weight A>0 / A<0"),
    "correctness_mode_frac": ("corpo/correctness_mode_frac", "groups in correctness-seeking mode (share)"),
    "mean_reward": ("critic/score/mean", "mean reward"),
    "val_accuracy": ("val-core/*/acc/mean@*", "validation accuracy (mean over sets)"),
}


def read_scalars(log_dir: Path) -> dict[str, dict[int, float]]:
    """{tag: {step: value}} of every scalar in a tensorboard log folder."""
    if not Path(log_dir).is_dir():
        raise FileNotFoundError(f"{log_dir}: no such tensorboard folder")
    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {tag: {e.step: e.value for e in accumulator.Scalars(tag)} for tag in accumulator.Tags()["scalars"]}


def series(scalars: dict[str, dict[int, float]], pattern: str) -> dict[int, float]:
    """The step series of a tag; for the validation pattern, the mean over the matching tags."""
    if "*" not in pattern:
        return scalars.get(pattern, {})
    head, tail = pattern.split("*", 1)[0], pattern.rsplit("*", 1)[0].split("*")[-1]
    matching = [values for tag, values in scalars.items() if tag.startswith(head) and tail in tag]
    steps = sorted({step for values in matching for step in values})
    return {s: sum(v[s] for v in matching if s in v) / sum(1 for v in matching if s in v) for s in steps}


def plot(runs: dict[str, Path], out_dir: Path) -> list[Path]:
    """One PNG per panel under ``out_dir``; returns the files written."""
    scalars = {name: read_scalars(path) for name, path in runs.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, (pattern, title) in PANELS.items():
        figure, axis = plt.subplots(figsize=(6, 4))
        for name, run_scalars in scalars.items():
            points = series(run_scalars, pattern)
            if points:
                steps = sorted(points)
                axis.plot(steps, [points[s] for s in steps], marker="o", label=name)
        axis.set_title(title)
        axis.set_xlabel("training step")
        if axis.lines:
            axis.legend()
        else:
            axis.text(0.5, 0.5, "not logged", ha="center", va="center", transform=axis.transAxes)
        target = out_dir / f"{file_name}.png"
        with atomic_path(target) as temp:
            figure.savefig(temp, format="png", dpi=100, bbox_inches="tight")
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
        if not sep:
            parser.error(f"--run takes NAME=TENSORBOARD_DIR, got {item!r}")
        runs[name] = Path(path)
    for path in plot(runs, args.out):
        print(path)


if __name__ == "__main__":
    main()

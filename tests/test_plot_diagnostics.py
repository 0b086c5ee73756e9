"""The diagnostics plots from tensorboard logs written by verl 0.9.1's own tracker, as a training run does."""

import subprocess
import sys

import pytest
from verl.utils.tracking import Tracking

from recipe.corpo.reports.plot_diagnostics import PANELS, read_scalars, series

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _fake_run(monkeypatch, path, failed_pos):
    """Three steps of the metrics the CoRPO trainer logs, through verl's Tracking (tensorboard backend)."""
    monkeypatch.setenv("TENSORBOARD_DIR", str(path))
    tracker = Tracking("verl_corpo", path.name, default_backend=["tensorboard"])
    tracker.log({"val-core/corpo_val_code_id/acc/mean@16": 0.1}, step=0)  # val_before_train
    for step in (1, 2, 3):
        tracker.log(
            {
                "corpo/failed_pos_adv_frac": failed_pos * step,
                "corpo/r_count": 0.5 * step,
                "critic/score/mean": -0.5 + 0.1 * step,
                "val-core/corpo_val_code_id/acc/mean@16": 0.2 * step,
                "val-core/corpo_val_math_ood/acc/mean@16": 0.4 * step,
                "val-core/corpo_val_math_ood/acc/best@16/mean": 0.9,
            },
            step=step,
        )
    tracker.finish()
    return path


def test_plot_command_writes_one_png_per_panel(monkeypatch, tmp_path):
    grpo = _fake_run(monkeypatch, tmp_path / "grpo", 0.1)
    corpo = _fake_run(monkeypatch, tmp_path / "corpo", 0.0)
    result = subprocess.run(
        [sys.executable, "-m", "recipe.corpo.reports.plot_diagnostics", "--run", f"GRPO={grpo}", "--run", f"CoRPO={corpo}",
         "--out", str(tmp_path / "plots")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(tmp_path.joinpath("plots").iterdir())
    assert [p.name for p in written] == sorted(f"{name}.png" for name in PANELS)
    assert result.stdout.split() == [str(tmp_path / "plots" / f"{name}.png") for name in PANELS]
    for path in written:
        assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5000


def test_series_reads_the_logged_steps_and_averages_validation_sets(monkeypatch, tmp_path):
    scalars = read_scalars(_fake_run(monkeypatch, tmp_path / "run", 0.1))
    assert series(scalars, "corpo/r_count") == pytest.approx({1: 0.5, 2: 1.0, 3: 1.5})
    validation = series(scalars, PANELS["val_accuracy"][0])
    assert validation[0] == pytest.approx(0.1)  # only one set logged at step 0
    assert validation[2] == pytest.approx((0.4 + 0.8) / 2)
    assert series(scalars, PANELS["val_pass_at_n"][0]) == pytest.approx({1: 0.9, 2: 0.9, 3: 0.9})
    assert series(scalars, "corpo/not_logged") == {}


def test_missing_or_empty_log_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such tensorboard folder"):
        read_scalars(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no tensorboard scalars"):
        read_scalars(tmp_path / "empty")

"""The diagnostics plots from tensorboard logs written the way verl's tracker writes them."""

import pytest
from torch.utils.tensorboard import SummaryWriter

from recipe.corpo.plot_diagnostics import PANELS, plot, read_scalars, series


def _fake_run(path, failed_pos):
    writer = SummaryWriter(str(path))  # what verl's _TensorboardAdapter uses
    for step in (1, 2, 3):
        writer.add_scalar("corpo/failed_pos_adv_frac", failed_pos * step, step)
        writer.add_scalar("corpo/r_count", 0.5 * step, step)
        writer.add_scalar("critic/score/mean", -0.5 + 0.1 * step, step)
        writer.add_scalar("val-core/corpo_val_code_id/acc/mean@16", 0.2 * step, step)
        writer.add_scalar("val-core/corpo_val_math_ood/acc/mean@16", 0.4 * step, step)
    writer.close()


def test_plots_one_png_per_panel_with_a_line_per_run(tmp_path):
    _fake_run(tmp_path / "grpo", 0.1)
    _fake_run(tmp_path / "corpo", 0.0)
    written = plot({"GRPO": tmp_path / "grpo", "CoRPO": tmp_path / "corpo"}, tmp_path / "plots")
    assert {p.name for p in written} == {f"{name}.png" for name in PANELS}
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_validation_accuracy_is_the_mean_over_sets(tmp_path):
    _fake_run(tmp_path / "run", 0.1)
    scalars = read_scalars(tmp_path / "run")
    assert series(scalars, "val-core/*/acc/mean@*")[2] == pytest.approx((0.4 + 0.8) / 2)
    assert series(scalars, "corpo/r_count") == pytest.approx({1: 0.5, 2: 1.0, 3: 1.5})


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such tensorboard folder"):
        read_scalars(tmp_path / "nope")

"""Which checkpoint a run resumes from (recipe/corpo/checkpoints.py), on real folders, read back by
verl 0.9.1's own ``find_latest_ckpt_path`` (what ``trainer.resume_mode=auto`` loads).

Each case builds the state a kill leaves in ``trainer.default_local_dir`` (the files verl's save
writes, in its order) and checks that verl is pointed at the newest checkpoint whose save finished.
The end-to-end kill of a real run is in test_e2e_resume.py.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf
from verl.utils.checkpoint.checkpoint_manager import find_latest_ckpt_path

from recipe.corpo import checkpoints
from recipe.corpo.checkpoints import TRACKER, step_folder
from recipe.corpo.corpo_trainer import _VERL_ROTATION, _overridden

#: what verl 0.9.1's FSDP save writes into global_step_N, in order (actor shards, then data.pt)
FILES = ("actor/model_world_size_1_rank_0.pt", "actor/optim_world_size_1_rank_0.pt",
         "actor/extra_state_world_size_1_rank_0.pt", "actor/huggingface/config.json", "actor/fsdp_config.json", "data.pt")


def _save(root: Path, step: int, upto: int = len(FILES), mark: bool = True) -> Path:
    """verl's save of ``step`` up to its ``upto``-th file, then (when all were written) the recipe's marker."""
    folder = step_folder(root, step)
    checkpoints.unmark(folder)
    for name in FILES[:upto]:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes([step % 256]) * (100 + step))
    if upto == len(FILES):
        (root / TRACKER).write_text(str(step))  # verl, in place
        if mark:
            checkpoints.mark_complete(folder, step)
            checkpoints.write_tracker(root, step)
    return folder


def _verl_would_load(root: Path) -> Path | None:
    found = find_latest_ckpt_path(str(root))
    return Path(found) if found else None


def test_a_complete_save_is_marked_and_a_damaged_one_is_not(tmp_path):
    folder = _save(tmp_path, 2)
    assert checkpoints.incomplete_reason(folder) is None
    (folder / "data.pt").write_bytes(b"")  # a node crash lost the file's data
    assert "data.pt has 0 bytes" in checkpoints.incomplete_reason(folder)
    (folder / "data.pt").unlink()
    assert "data.pt is missing" in checkpoints.incomplete_reason(folder)
    assert "no completion marker" in checkpoints.incomplete_reason(_save(tmp_path, 4, upto=2))
    assert checkpoints.incomplete_reason(tmp_path / "global_step_6") == "no such folder"


def test_a_kill_during_a_new_save_resumes_from_the_previous_checkpoint(tmp_path):
    _save(tmp_path, 2)
    _save(tmp_path, 4, upto=1)  # killed after the model shard
    assert checkpoints.point_tracker_at_latest_complete(tmp_path) == 2
    assert _verl_would_load(tmp_path) == step_folder(tmp_path, 2)


def test_a_torn_tracker_no_longer_stops_the_resume(tmp_path):
    _save(tmp_path, 2)
    _save(tmp_path, 4)
    (tmp_path / TRACKER).write_text("")  # verl's open("w") truncated it, the kill came before the write
    with pytest.raises(ValueError):
        _verl_would_load(tmp_path)  # verl alone: int('') fails, the run cannot resume
    assert checkpoints.point_tracker_at_latest_complete(tmp_path) == 4
    assert _verl_would_load(tmp_path) == step_folder(tmp_path, 4)


def test_a_checkpoint_overwritten_when_killed_is_not_loaded(tmp_path):
    _save(tmp_path, 2)
    _save(tmp_path, 4)
    # restarted from step 2 (resume_path): step 4 belongs to the abandoned run ...
    assert checkpoints.start_from(tmp_path, 2, step_folder(tmp_path, 2)) == [4]
    assert _verl_would_load(tmp_path) == step_folder(tmp_path, 2)
    # ... and is overwritten when the restarted run reaches step 4; killed after one shard
    _save(tmp_path, 4, upto=1)
    (tmp_path / TRACKER).write_text("4")  # what verl's tracker would still say without the recipe
    assert checkpoints.point_tracker_at_latest_complete(tmp_path) == 2
    assert _verl_would_load(tmp_path) == step_folder(tmp_path, 2)


def test_a_half_deleted_checkpoint_is_skipped_and_none_left_is_an_error(tmp_path, capsys):
    _save(tmp_path, 2)
    old = _save(tmp_path, 4)
    for name in FILES[:3]:  # what verl's rotation (max_actor_ckpt_to_keep) deletes: the actor shards
        (old / name).unlink()
    assert checkpoints.point_tracker_at_latest_complete(tmp_path) == 2
    assert re.search(r"global_step_4: file actor/\S+ is missing", capsys.readouterr().out)
    (step_folder(tmp_path, 2) / "data.pt").unlink()
    with pytest.raises(RuntimeError, match="no complete checkpoint.*global_step_4.*global_step_2.*resume_mode=disable"):
        checkpoints.point_tracker_at_latest_complete(tmp_path)


def test_nothing_saved_yet_means_from_scratch(tmp_path):
    _save(tmp_path, 2, upto=3)  # killed during the very first save
    assert checkpoints.point_tracker_at_latest_complete(tmp_path) is None
    assert _verl_would_load(tmp_path) is None
    assert checkpoints.point_tracker_at_latest_complete(tmp_path / "not_created") is None


def test_stock_verl_checkpoints_are_left_to_verls_tracker_and_adopted_once_loaded(tmp_path):
    _save(tmp_path, 2, mark=False)
    _save(tmp_path, 4, mark=False)
    assert checkpoints.point_tracker_at_latest_complete(tmp_path) == 4
    assert (tmp_path / TRACKER).read_text() == "4"
    checkpoints.start_from(tmp_path, 4, step_folder(tmp_path, 4))
    assert checkpoints.incomplete_reason(step_folder(tmp_path, 4)) is None
    assert not checkpoints.is_marked(step_folder(tmp_path, 2))


def test_starting_from_scratch_abandons_every_checkpoint(tmp_path):
    _save(tmp_path, 2)
    _save(tmp_path, 4)
    assert checkpoints.start_from(tmp_path, 0, None) == [2, 4]  # trainer.resume_mode=disable
    assert not (tmp_path / TRACKER).exists()
    assert checkpoints.point_tracker_at_latest_complete(tmp_path) is None  # a crash now starts over, not at step 4


def test_a_kill_while_writing_the_marker_leaves_no_marker(tmp_path):
    folder = _save(tmp_path, 2, mark=False)
    (folder / f".{checkpoints.MARKER}.x1y2.tmp").write_text('{"step": 2, "fi')  # atomic_path's temporary file
    assert not checkpoints.is_marked(folder)
    checkpoints.mark_complete(folder, 2)  # the temporary file is not part of the checkpoint
    assert checkpoints.incomplete_reason(folder) is None


def test_resume_path_refuses_an_incomplete_folder(tmp_path, capsys):
    _save(tmp_path, 2)
    broken = _save(tmp_path, 4)
    (broken / "data.pt").write_bytes(b"x")
    checkpoints.check_resume_folder(step_folder(tmp_path, 2))
    with pytest.raises(RuntimeError, match="global_step_4: incomplete checkpoint: file data.pt has 1 bytes"):
        checkpoints.check_resume_folder(broken)
    checkpoints.check_resume_folder(_save(tmp_path, 6, mark=False))  # stock verl's: loaded, with a note
    assert "no completion marker" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError):
        checkpoints.check_resume_folder(tmp_path / "global_step_8")
    with pytest.raises(ValueError, match="global_step_<N>"):
        checkpoints.check_resume_folder(tmp_path)


def test_the_metrics_mark_follows_the_checkpoint(tmp_path):
    checkpoints.mark_logged(tmp_path, 2)  # no checkpoint: nothing to mark
    assert not checkpoints.was_logged(step_folder(tmp_path, 2))
    folder = _save(tmp_path, 2)
    checkpoints.mark_logged(tmp_path, 2)
    assert checkpoints.was_logged(folder) and checkpoints.incomplete_reason(folder) is None
    _save(tmp_path, 2)  # saved again: the metrics of the new save are not logged yet
    assert not checkpoints.was_logged(folder)


def test_rotation_deletes_whole_complete_folders_only(tmp_path):
    for step in (2, 4, 6):
        _save(tmp_path, step)
    _save(tmp_path, 8, upto=2)
    assert checkpoints.prune(tmp_path, None) == []
    assert checkpoints.prune(tmp_path, 2) == [2]
    assert sorted(checkpoints.checkpoint_folders(tmp_path)) == [4, 6, 8]
    assert checkpoints.prune(tmp_path, 1) == [4]
    assert checkpoints.point_tracker_at_latest_complete(tmp_path) == 6


@pytest.mark.parametrize(("keys", "keep"), [
    ({}, None),
    ({"max_actor_ckpt_to_keep": 3}, 3),
    ({"max_actor_ckpt_to_keep": 1, "max_critic_ckpt_to_keep": 2}, 2),
    ({"max_actor_ckpt_to_keep": 0}, None),
    ({"remove_previous_ckpt_in_save": True, "max_actor_ckpt_to_keep": 4}, 1),
])
def test_retention_follows_verls_keys(keys, keep):
    assert checkpoints.retention(OmegaConf.create(keys)) == keep


def test_verls_rotation_is_off_only_during_the_save():
    trainer = OmegaConf.create({"max_actor_ckpt_to_keep": 1, "max_critic_ckpt_to_keep": None})
    OmegaConf.set_struct(trainer, True)  # as verl's config is
    with _overridden(trainer, _VERL_ROTATION):
        assert trainer.max_actor_ckpt_to_keep is None and trainer.remove_previous_ckpt_in_save is False
    assert OmegaConf.to_container(trainer) == {"max_actor_ckpt_to_keep": 1, "max_critic_ckpt_to_keep": None}


@pytest.mark.parametrize(("trainer", "message"), [
    ({"resume_mode": "latest"}, "use one of auto, disable, resume_path"),
    ({"resume_mode": "resume_path", "resume_from_path": None}, "needs trainer.resume_from_path"),
    ({"resume_mode": "resume_path", "resume_from_path": "/ckpt/step_10"}, "global_step_<N>"),
])
def test_bad_resume_settings_are_refused_before_the_run(trainer, message):
    with pytest.raises(ValueError, match=message):
        checkpoints.check_resume_config(OmegaConf.create(trainer))
    checkpoints.check_resume_config(OmegaConf.create({"resume_mode": "resume_path", "resume_from_path": "/c/global_step_10"}))


#: the state a folder can be left in: complete, killed during its save (after k files), or damaged later
STATES = st.sampled_from(["complete", "killed_0", "killed_1", "killed_5", "truncated", "shards_deleted"])


@settings(max_examples=60, deadline=None)
@given(states=st.dictionaries(st.integers(1, 12), STATES, max_size=5), torn=st.booleans())
def test_verl_is_only_ever_pointed_at_the_newest_complete_checkpoint(states, torn):
    """Guarantee: after ``point_tracker_at_latest_complete``, verl loads the newest complete
    checkpoint, or nothing when there is none; never a half-written or damaged folder."""
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        for step, state in sorted(states.items()):
            if state.startswith("killed"):
                _save(root, step, upto=int(state.split("_")[1]))
                continue
            folder = _save(root, step)
            if state == "truncated":
                (folder / "actor/optim_world_size_1_rank_0.pt").write_bytes(b"")
            elif state == "shards_deleted":
                for file in FILES[:3]:
                    (folder / file).unlink()
        if torn and (root / TRACKER).exists():
            (root / TRACKER).write_text("")
        complete = [step for step, state in states.items() if state == "complete"]
        damaged = any(state in ("truncated", "shards_deleted") for state in states.values())
        if not complete and damaged:
            with pytest.raises(RuntimeError):
                checkpoints.point_tracker_at_latest_complete(root)
            return
        step = checkpoints.point_tracker_at_latest_complete(root)
        assert step == (max(complete) if complete else None)
        assert _verl_would_load(root) == (step_folder(root, step) if complete else None)

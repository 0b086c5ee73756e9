"""Checkpoints a killed run can trust: a ``global_step_N`` folder is resumed only if its save finished.

What verl 0.9.1 guarantees (v1 trainer, ``PPOTrainer._save_checkpoint`` / ``_load_checkpoint``):
a save writes the actor (and critic) shards, then ``data.pt`` (the dataloader's position), then
``latest_checkpointed_iteration.txt`` (the tracker: the step number) in ``trainer.default_local_dir``,
and ``trainer.resume_mode=auto`` loads the folder the tracker names. A kill while a *new* folder is
written therefore leaves the tracker naming the previous checkpoint. What it does not cover:

1. The tracker is rewritten in place (truncate, then write), and nothing is fsynced: a kill between
   the two leaves an empty tracker (``int('')`` fails: the run cannot resume), and after a node
   crash the tracker can reach the disk before the shards it vouches for.
2. A folder that is written again (after ``resume_mode=resume_path`` from an earlier step or
   ``disable`` in the same folder) stays named by the tracker while it is overwritten: a kill then
   leaves a mix of two saves, which auto-resume loads. The same tracker sends a crashed
   restarted run back into the abandoned run's later checkpoints.
3. With ``trainer.max_actor_ckpt_to_keep=1`` the previous checkpoint's shards are deleted right after
   the new actor shards are written, before the new ``data.pt`` and tracker: a kill in between
   leaves the tracker naming a folder without shards.

What the CoRPO trainer adds (``recipe/corpo/corpo_trainer.py`` calls the functions below):

- Before verl writes into ``global_step_N`` its completion marker (``corpo_checkpoint.json``) is
  removed; after verl's save returns, every file of the folder is fsynced and the marker, a list
  of the files and their sizes, is written atomically (temporary file, fsync, rename). Then the
  tracker is rewritten atomically, and old checkpoints beyond ``max_*_ckpt_to_keep`` are deleted
  (whole folders, only once the new one is complete; verl's own rotation is switched off).
- A folder is *complete* when its marker exists and every file it lists has the listed size.
  ``auto`` points the tracker at the newest complete folder before verl reads it, so verl
  never loads a half-written or half-deleted one; when checkpoints exist but none is complete,
  the run stops with the reasons instead of silently starting from scratch. Folders without any
  marker (written by stock verl) are left to verl's own tracker.
- Once the run knows the step it starts from, checkpoints after it in the folder belong to an
  abandoned run: their markers are removed and the tracker names the start step.
- After a step's metrics are logged, a checkpoint of that step gets ``corpo_metrics_logged``; a
  resume from it then skips ``trainer.val_before_train`` when that step's validation is already
  in the logs (``corpo_trainer.py``), so the checkpointed step is not logged twice.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from data_prep.formats.io import atomic_path

MARKER = "corpo_checkpoint.json"
LOGGED = "corpo_metrics_logged"
TRACKER = "latest_checkpointed_iteration.txt"  # verl's name (verl.utils.checkpoint.checkpoint_manager)
RESUME_MODES = ("auto", "disable", "resume_path")
_STEP_FOLDER = re.compile(r"global_step_(\d+)")


def step_folder(root, step: int) -> Path:
    return Path(root) / f"global_step_{step}"


def step_of(folder) -> int:
    """The step of a ``.../global_step_N`` folder (what verl parses from ``trainer.resume_from_path``)."""
    match = _STEP_FOLDER.fullmatch(Path(folder).name)
    if match is None:
        raise ValueError(f"{folder}: not a checkpoint folder (its name must be global_step_<N>)")
    return int(match.group(1))


def checkpoint_folders(root) -> dict[int, Path]:
    """{step: folder} of every ``global_step_N`` folder under ``root``."""
    root = Path(root)
    if not root.is_dir():
        return {}
    found = {}
    for entry in root.iterdir():
        match = _STEP_FOLDER.fullmatch(entry.name)
        if match and entry.is_dir():
            found[int(match.group(1))] = entry
    return dict(sorted(found.items()))


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # not every filesystem syncs directories; the files themselves are synced
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` atomically and durably: a crash leaves the old or the new file."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    _fsync_dir(path.parent)


def _remove_durably(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    _fsync_dir(path.parent)


def _is_ours(name: str) -> bool:
    """The marker files and their temporary files (``data_prep.formats.io.atomic_path``)."""
    return any(name == own or name.startswith(f".{own}.") for own in (MARKER, LOGGED))


def _payload_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not _is_ours(p.name))


def mark_complete(folder, step: int) -> None:
    """Flush every file of a finished save to disk, then write the folder's completion marker."""
    folder = Path(folder)
    files = _payload_files(folder)
    if not files:
        raise RuntimeError(f"{folder}: the checkpoint save returned but wrote no files")
    for path in files:
        _fsync_file(path)
    for directory in sorted({p.parent for p in files} | {folder.parent}, key=lambda d: len(d.parts), reverse=True):
        _fsync_dir(directory)
    manifest = {"step": step, "files": {p.relative_to(folder).as_posix(): p.stat().st_size for p in files}}
    _write_durably(folder / MARKER, json.dumps(manifest, indent=1) + "\n")


def unmark(folder) -> None:
    """Withdraw a folder's completion marker (before it is overwritten or once it is abandoned)."""
    _remove_durably(Path(folder) / LOGGED)
    _remove_durably(Path(folder) / MARKER)


def is_marked(folder) -> bool:
    return (Path(folder) / MARKER).is_file()


def incomplete_reason(folder) -> str | None:
    """None when the folder holds a complete checkpoint, else why not."""
    folder = Path(folder)
    if not folder.is_dir():
        return "no such folder"
    try:
        manifest = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        files = manifest["files"]
        step = manifest["step"]
    except FileNotFoundError:
        return "no completion marker (its save did not finish, or it was abandoned)"
    except (ValueError, KeyError, TypeError) as exc:
        return f"unreadable completion marker ({exc})"
    if step != step_of(folder):
        return f"its completion marker is for step {step}"
    for name, size in files.items():
        path = folder / name
        if not path.is_file():
            return f"file {name} is missing"
        actual = path.stat().st_size
        if actual != size:
            return f"file {name} has {actual} bytes, {size} when it was saved"
    return None


def read_tracker(root) -> int | None:
    """The step verl's tracker names, or None when it is missing or unreadable (e.g. torn)."""
    try:
        return int((Path(root) / TRACKER).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def write_tracker(root, step: int | None) -> None:
    """Point verl's tracker at ``step`` atomically, or remove it (None: nothing to resume)."""
    path = Path(root) / TRACKER
    if step is None:
        _remove_durably(path)
    elif read_tracker(root) != step:
        _write_durably(path, str(step))


def latest_complete(root, at_most: int | None = None) -> tuple[int | None, dict[int, str]]:
    """(newest complete step, or None; {step: reason} for newer marked folders that are not complete)."""
    rejected = {}
    for step, folder in sorted(checkpoint_folders(root).items(), reverse=True):
        if at_most is not None and step > at_most:
            continue
        if not is_marked(folder):
            continue
        reason = incomplete_reason(folder)
        if reason is None:
            return step, rejected
        rejected[step] = reason
    return None, rejected


def point_tracker_at_latest_complete(root) -> int | None:
    """For ``resume_mode=auto``: make verl's tracker name the newest complete checkpoint.

    Returns that step, or None when there is nothing to resume. Folders without any marker
    anywhere (written by stock verl) are left to verl's tracker. Raises when checkpoints exist
    but none is complete: silently starting over would overwrite them.
    """
    folders = checkpoint_folders(root)
    if not any(is_marked(folder) for folder in folders.values()):
        return read_tracker(root)
    step, rejected = latest_complete(root)
    for bad, reason in rejected.items():
        print(f"[corpo] not resuming from {step_folder(root, bad)}: {reason}", flush=True)
    if step is None:
        reasons = "; ".join(f"global_step_{s}: {r}" for s, r in rejected.items())
        raise RuntimeError(
            f"{root}: no complete checkpoint to resume from ({reasons}). Pass trainer.resume_mode=disable "
            "to start from scratch (these folders are then abandoned and overwritten), or "
            "trainer.resume_mode=resume_path trainer.resume_from_path=<folder> to load one anyway."
        )
    write_tracker(root, step)
    return step


def check_resume_folder(folder) -> None:
    """For ``resume_mode=resume_path``: refuse a folder whose save did not finish."""
    folder = Path(folder)
    step_of(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"trainer.resume_from_path={folder}: no such folder")
    if not is_marked(folder):
        print(f"[corpo] {folder} has no completion marker (written by stock verl?); loading it as asked", flush=True)
        return
    reason = incomplete_reason(folder)
    if reason is not None:
        raise RuntimeError(f"trainer.resume_from_path={folder}: incomplete checkpoint: {reason}")


def start_from(root, step: int, loaded: Path | None) -> list[int]:
    """The run starts after ``step`` (0: from scratch), from ``loaded`` (None: nothing loaded).

    Checkpoints in ``root`` after ``step`` belong to an abandoned run (the tracker would send a
    crash back into them, and they are overwritten as this run reaches their steps): their markers
    are removed. A folder of ``root`` that was just loaded without a marker (stock verl) is marked.
    The tracker then names the newest complete checkpoint up to ``step``. Returns the abandoned steps.
    """
    root = Path(root)
    abandoned = [s for s, folder in checkpoint_folders(root).items() if s > step and is_marked(folder)]
    for later in abandoned:
        unmark(step_folder(root, later))
    if loaded is not None and loaded.parent.resolve() == root.resolve() and not is_marked(loaded):
        mark_complete(loaded, step)
    write_tracker(root, latest_complete(root, at_most=step)[0])
    return abandoned


def mark_logged(root, step: int) -> None:
    """Record that ``step``'s metrics are logged, when ``step`` has a complete checkpoint."""
    folder = step_folder(root, step)
    if is_marked(folder) and not (folder / LOGGED).exists():
        _write_durably(folder / LOGGED, "")


def was_logged(folder) -> bool:
    return (Path(folder) / LOGGED).is_file()


def prune(root, keep: int | None) -> list[int]:
    """Delete complete checkpoints older than the newest ``keep`` (None: keep all); returns their steps.

    Only whole, complete folders are deleted, each unmarked first, so a kill during the deletion
    never leaves a marked folder without its files.
    """
    if keep is None:
        return []
    complete = [s for s, folder in checkpoint_folders(root).items() if incomplete_reason(folder) is None]
    old = complete[:-keep] if keep > 0 else complete
    for step in old:
        folder = step_folder(root, step)
        unmark(folder)
        shutil.rmtree(folder, ignore_errors=True)
    return old


def retention(trainer_config) -> int | None:
    """How many checkpoints to keep, from verl's keys (``max_actor_ckpt_to_keep``,
    ``max_critic_ckpt_to_keep``, the deprecated ``remove_previous_ckpt_in_save``); None: all.
    Whole folders are kept, so the larger of the two limits applies."""
    if trainer_config.get("remove_previous_ckpt_in_save", False):
        return 1
    limits = [trainer_config.get(key) for key in ("max_actor_ckpt_to_keep", "max_critic_ckpt_to_keep")]
    limits = [int(limit) for limit in limits if isinstance(limit, int) and limit > 0]
    return max(limits) if limits else None


def check_resume_config(trainer_config) -> None:
    """Clear errors, before Ray starts, for a resume setting verl would only trip over later."""
    mode = trainer_config.get("resume_mode", "auto")
    if mode not in RESUME_MODES:
        raise ValueError(f"trainer.resume_mode={mode!r}: use one of {', '.join(RESUME_MODES)}")
    if mode == "resume_path":
        path = trainer_config.get("resume_from_path")
        if not isinstance(path, str) or not path:
            raise ValueError("trainer.resume_mode=resume_path needs trainer.resume_from_path=<.../global_step_N>")
        step_of(path)

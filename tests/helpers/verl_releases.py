"""One environment per tested verl release, for the compatibility matrix (tests/test_verl_releases.py).

Each is this venv with verl swapped: ``pip install --no-deps --target .cache/verl_releases/<version>``
puts that release (and only what it cannot import without, :data:`SWAPPED`) in a folder that comes
first on ``PYTHONPATH``, so the release's own code runs against this venv's torch, Ray and the rest.
Built on first use (a few seconds each, 1-2 MB downloaded per release), reused after, rebuilt when
what it should hold changes. ``.cache/`` is git-ignored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers.fresh_python import VERL_MODULE_VARIABLES

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "verl_releases"
#: what a release cannot import without, beyond this venv: verl 0.6.1 imports names transformers 5
#: removed (AutoModelForVision2Seq), so it gets the transformers 4 its users have, and the hub and
#: datasets releases that go with it. The other releases import with this venv's packages, although
#: those before 0.9 declare numpy<2 (their estimator path runs with numpy 2: the matrix shows it).
SWAPPED = {"0.6.1": ("transformers==4.57.6", "huggingface-hub==0.36.2", "datasets==4.2.0")}
#: top-level folders verl's and transformers' wheels install besides their packages (verl ships its
#: own `tests` and `scripts` packages): not wanted first on PYTHONPATH
_STRAY = ("tests", "scripts", "bin")


def release_folder(version: str) -> Path:
    """The folder holding ``version`` of verl (built now if missing or stale)."""
    requirements = [f"verl=={version}", *SWAPPED.get(version, ())]
    folder, marker_text = CACHE / version, "\n".join(requirements) + "\n"
    marker = folder / ".requirements"
    if marker.is_file() and marker.read_text() == marker_text:
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    building = CACHE / f".{version}.{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
               "--target", str(building), *requirements]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        raise RuntimeError(f"installing {' '.join(requirements)} for the verl matrix failed "
                           f"(`{' '.join(command)}`):\n{done.stderr[-3000:]}")
    for stray in _STRAY:
        shutil.rmtree(building / stray, ignore_errors=True)
    (building / ".requirements").write_text(marker_text)
    shutil.rmtree(folder, ignore_errors=True)
    building.rename(folder)
    return folder


def run_in_release(version: str, arguments: list[str], **env: str) -> subprocess.CompletedProcess:
    """``python ARGUMENTS`` from ``/`` with ``version`` of verl first on the path, the verl plugin
    variables cleared and then set from ``env``."""
    environment = {k: v for k, v in os.environ.items() if k not in (*VERL_MODULE_VARIABLES, "PYTHONPATH")}
    environment["PYTHONPATH"] = str(release_folder(version))
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, timeout=600,
                          env={**environment, **env}, cwd="/")

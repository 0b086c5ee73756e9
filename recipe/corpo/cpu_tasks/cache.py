"""Where the locally built CPU tasks (the tiny default, the learning task's warm start) are cached,
and building one only when its cached copy is missing or incomplete."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable


def cache_folder(name: str, override_variable: str) -> Path:
    """``$<override_variable>``, else ``$XDG_CACHE_HOME/verl-corpo/<name>``, else ``~/.cache/verl-corpo/<name>``."""
    if os.environ.get(override_variable):
        return Path(os.environ[override_variable])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "verl-corpo" / name


def ensure_built(out: Path, is_complete: Callable[[Path], bool], build: Callable[[Path], object], what: str,
                 force: bool = False) -> Path:
    """``out``, after building it with ``build`` unless it is already complete (or ``force``)."""
    if force or not is_complete(out):
        # on stderr: scripts read the folder from stdout
        print(f"[{what}] building under {out} (nothing is downloaded)", file=sys.stderr, flush=True)
        build(out)
    return out

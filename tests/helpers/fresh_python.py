"""Run code in a fresh interpreter (a new process: what verl's plugin loading sees at start-up)."""

from __future__ import annotations

import os
import subprocess
import sys

VERL_MODULE_VARIABLES = ("VERL_PLATFORM", "VERL_USE_EXTERNAL_MODULES", "VERL_USE_EXTERNAL_PLUGINS")


def fresh_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """``python -c code`` from ``/`` (the installed package, not the source tree), with the verl
    plugin variables cleared and then set from ``env``."""
    environment = {k: v for k, v in os.environ.items() if k not in VERL_MODULE_VARIABLES}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env={**environment, **env}, cwd="/"
    )

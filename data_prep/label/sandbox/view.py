"""What a candidate sees of the host in a mount namespace (its own root, built by the harness), and
the import path it gets: those of ``python3 sol.py`` with the labeller's interpreter, wherever that
is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

HARNESS = Path(__file__).with_name("harness.py")

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
DEVICE_LINKS = (("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"), ("/dev/stdout", "/proc/self/fd/1"),
                ("/dev/stderr", "/proc/self/fd/2"))


@lru_cache(maxsize=1)
def candidate_import_path() -> tuple[str, ...]:
    """The import path ``python3 sol.py`` gets with this interpreter (that of ``python -I``, which
    leaves out the script's folder; symlinks resolved), measured once. The harness runs with ``-S``
    (its site processing, .pth files included, would cost more than the rest of a candidate's start)
    and hands this path to the candidate."""
    listing = subprocess.run([sys.executable, "-I", "-c", "import sys; print('\\0'.join(sys.path))"],
                             capture_output=True, text=True, check=True).stdout.rstrip("\n")
    return tuple(os.path.realpath(entry) for entry in listing.split("\0") if entry)


@dataclass(frozen=True)
class FilesystemView:
    """What a candidate sees of the host in a mount namespace, all of it read-only: ``binds`` (at the
    same paths), ``symlinks`` ((path, target)), ``devices``; plus its own /proc where it has a PID
    namespace, and its private tmpfs (W, /tmp, /var/tmp, /dev/shm)."""

    binds: tuple[str, ...]
    symlinks: tuple[tuple[str, str], ...]
    devices: tuple[str, ...] = DEVICES

    def job(self, proc: bool) -> dict:
        return {"binds": list(self.binds), "symlinks": [list(pair) for pair in self.symlinks],
                "devices": list(self.devices), "proc": proc}


@lru_cache(maxsize=1)
def filesystem_view() -> FilesystemView:
    """The system folders (``SYSTEM_DIRS``), the Python installation (prefixes, the interpreter's
    folder) and every folder of :func:`candidate_import_path`, wherever they are installed (under
    /tmp too), minus any folder holding this project's own code. Nested folders are bound once."""
    wanted = [*SYSTEM_DIRS, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              os.path.dirname(os.path.realpath(sys.executable)), *candidate_import_path()]
    symlinks, binds = list(DEVICE_LINKS), []
    for path in wanted:
        if os.path.islink(path) and os.path.dirname(path) == "/":  # /bin -> usr/bin on merged-/usr systems
            symlinks.append((path, os.readlink(path)))
            continue
        path = os.path.realpath(path)
        if not os.path.exists(path) or _contains(path, str(HARNESS.resolve())):
            continue
        binds.append(path)
    kept: list[str] = []
    for path in sorted(set(binds), key=len):
        if not any(_contains(outer, path) for outer in kept):
            kept.append(path)
    return FilesystemView(tuple(kept), tuple(dict.fromkeys(symlinks)))


def _contains(folder: str, path: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")

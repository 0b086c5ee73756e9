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


CHECKOUT = HARNESS.resolve().parents[3]  # this project's code: never shown to a candidate


@dataclass(frozen=True)
class FilesystemView:
    """What a candidate sees of the host in a mount namespace, all of it read-only: ``mounts`` in
    order, ``("bind", path)`` (the host's folder at the same path) or ``("hide", path)`` (an empty
    folder over it); ``symlinks`` ((path, target)); ``devices``; plus its own /proc where it has a
    PID namespace, and its private tmpfs (W, /tmp, /var/tmp, /dev/shm)."""

    mounts: tuple[tuple[str, str], ...]
    symlinks: tuple[tuple[str, str], ...]
    devices: tuple[str, ...] = DEVICES

    def job(self, proc: bool) -> dict:
        return {"mounts": [list(pair) for pair in self.mounts], "symlinks": [list(pair) for pair in self.symlinks],
                "devices": list(self.devices), "proc": proc}


@lru_cache(maxsize=1)
def filesystem_view() -> FilesystemView:
    """The system folders (``SYSTEM_DIRS``), the Python installation (prefixes, the interpreter's
    folder) and every folder of :func:`candidate_import_path`, wherever they are installed (under
    /tmp too); the project's checkout hidden where one of them holds it (a checkout under /usr, the
    checkout on the import path), with what the candidate needs inside it (a venv) bound again."""
    wanted = [*SYSTEM_DIRS, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              os.path.dirname(os.path.realpath(sys.executable)), *candidate_import_path()]
    symlinks, binds = list(DEVICE_LINKS), set()
    for path in wanted:
        if os.path.islink(path) and os.path.dirname(path) == "/":  # /bin -> usr/bin on merged-/usr systems
            symlinks.append((path, os.readlink(path)))
        elif os.path.exists(path):
            binds.add(os.path.realpath(path))
    checkout = str(CHECKOUT)
    outside = _outermost(path for path in binds if not _contains(checkout, path) or path == checkout)
    mounts = [("bind", path) for path in outside]
    if any(_contains(path, checkout) for path in outside):
        mounts.append(("hide", checkout))
    inside = _outermost(path for path in binds if _contains(checkout, path) and path != checkout)
    mounts += [("bind", path) for path in inside]
    return FilesystemView(tuple(mounts), tuple(dict.fromkeys(symlinks)))


def _outermost(paths) -> list[str]:
    """The paths no other of them contains, shortest first."""
    kept: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(_contains(outer, path) for outer in kept):
            kept.append(path)
    return kept


def _contains(folder: str, path: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")

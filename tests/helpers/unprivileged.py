"""Run a command as an unprivileged user, as a labeller outside a container runs (CI runs as root).

As root, the command runs as ``UID`` (nobody) in a private mount namespace where the folders it
needs are reachable: every ancestor folder that others may not traverse (pyenv under /root) gets a
small tmpfs holding only the needed folders, bound back in. Nothing changes on the host. As a user
who is not root, the command runs as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

UID = GID = 65534  # nobody

_EXPOSE = r"""
import ctypes, os, stat, sys
libc = ctypes.CDLL(None, use_errno=True)

def mount(source, target, fstype, flags, data):
    if libc.mount(source.encode(), target.encode(), fstype and fstype.encode(), flags, data and data.encode()):
        errno = ctypes.get_errno()
        raise OSError(errno, "mount %s on %s: %s" % (source, target, os.strerror(errno)))

uid, gid, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
paths, argv = [os.path.realpath(p) for p in sys.argv[4:4 + count]], sys.argv[4 + count:]
tops = {}
for path in paths:
    parts = path.split("/")
    for end in range(2, len(parts)):
        ancestor = "/".join(parts[:end])
        if not os.stat(ancestor).st_mode & stat.S_IXOTH:
            tops.setdefault(ancestor, []).append(path)
            break
handles = {path: os.open(path, os.O_PATH) for needed in tops.values() for path in needed}
for top in sorted(tops, key=len):
    mount("tmpfs", top, "tmpfs", 0, "mode=755,size=1m")
    for path in tops[top]:
        os.makedirs(path, exist_ok=True)
        mount("/proc/self/fd/%d" % handles[path], path, None, 4096 | 16384, None)  # MS_BIND | MS_REC
for handle in handles.values():
    os.close(handle)
os.setgroups([])
os.setgid(gid)
os.setuid(uid)
os.execvp(argv[0], argv)
"""


def command(argv: list[str], reachable: list[str]) -> list[str]:
    """``argv`` as an unprivileged user that can reach the ``reachable`` folders."""
    if os.geteuid() != 0:
        return list(argv)
    return [shutil.which("unshare"), "--mount", "--propagation", "private", sys.executable, "-I", "-c", _EXPOSE,
            str(UID), str(GID), str(len(reachable)), *reachable, *argv]


def user_namespaces_refused(python: str, reachable: list[str]) -> str | None:
    """Why the unprivileged user cannot create user namespaces here, or None when it can."""
    probe = subprocess.run(command([shutil.which("unshare"), "--user", "--map-root-user", "true"], reachable),
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return (f"user namespaces are refused to unprivileged users on this host "
                f"(`unshare --user` as uid {os.getuid() if os.geteuid() else UID}: {probe.stderr.strip()})")
    return None

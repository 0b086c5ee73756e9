"""Run a command, then remove the /dev/shm files and temporary files its processes left behind.

    python -m recipe.corpo.launch.shm_cleanup [--shared-shm] -- COMMAND [ARGS...]

Why: a vLLM engine keeps its message queues in POSIX shared memory (``/dev/shm/psm_*``, 160 MB and
240 MB for the tiny CPU run) and unlinks them when it shuts down. At the end of a verl run Ray kills
the rollout server's actor, and the engine processes under it die without shutting down: every
run leaked ~400 MB of RAM-backed files until reboot.

How: the command gets a /dev/shm of its own, a tmpfs (the size of the host's) in a private mount
namespace (as root; otherwise in a user namespace that maps the user to itself), so whatever its
processes leave there vanishes with the namespace when the last of them exits, however they exit:
vLLM's segments, and the named semaphores (``sem.mp-*``) that multiprocessing leaves when a
process and its resource tracker are killed, some of them mapped too briefly to be seen. Where no
namespace can be made, or with ``--shared-shm`` (or ``RAY_ADDRESS`` set: the run's workers then
live outside, in a cluster that shares the host's /dev/shm), the command uses the host's
/dev/shm and the files its processes map are recorded instead (polled every second) and removed
at the end if they still exist; a process counts as the run's only while its pid still names the
same process (pid and start time), so a reused pid never makes another program's files look like
the run's. Either way this process becomes a child subreaper (Linux), so every process the command
starts (Ray's raylet and workers, vLLM's engine and workers) stays its descendant, and it waits
for them (or a grace period) after the command ended. Files of any other program are never
touched. The exit status is the command's.

The run's processes also leave files in the temp folder: vLLM's engine IPC sockets (``<uuid4>``,
about 50 per engine, never unlinked when Ray kills it) and ``vllm_dist_*`` files, verl's checkpoint
locks (``ckpt_*.lock``), multiprocessing's ``pymp-*`` folders. So the command gets a temp folder of
its own (``TMPDIR=$TMPDIR/corpo-run-*``, inherited by the Ray cluster the run starts), removed at
the end; Ray's own folder stays where it would have been (``RAY_TMPDIR`` is pinned to it).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHM = Path("/dev/shm")
PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 30.0  # for the run's processes to exit after the command ended


def _become_subreaper() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: descendants are still found while their parents live
        pass


def _processes() -> dict[int, tuple[int, int]]:
    """{pid: (parent pid, start time)} of every live process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                found[int(entry.name)] = (int(fields[1]), int(fields[19]))
            except (OSError, IndexError, ValueError):  # exited meanwhile
                pass
    return found


def descendants(root: int, known: dict[int, int]) -> dict[int, int]:
    """Live descendants of ``root`` ({pid: start time}), also through ``known`` processes whose parents
    have exited. A known pid counts only while it names the same process (same start time)."""
    processes = _processes()
    found = {pid: start for pid, start in known.items() if processes.get(pid, (0, None))[1] == start}
    found[root] = processes.get(root, (0, 0))[1]
    grew = True
    while grew:
        children = {pid: start for pid, (parent, start) in processes.items() if parent in found and pid not in found}
        found.update(children)
        grew = bool(children)
    found.pop(root)
    return found


def mapped_shm(pids) -> set[str]:
    """Names of the /dev/shm files these processes have mapped."""
    names = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text(errors="replace")
        except OSError:
            continue
        for line in maps.splitlines():
            if " /dev/shm/" in line:
                names.add(line.split(" /dev/shm/", 1)[1].removesuffix(" (deleted)"))
    return names


CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 16384, 1 << 18


def _libc_call(libc, name: str, *args) -> None:
    if getattr(libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}: {os.strerror(errno)}")


def enter_private_shm(size_bytes: int) -> None:
    """Move this process into a mount namespace of its own (root: directly; otherwise inside a user
    namespace mapping the user to itself, whose capabilities an exec drops) with a fresh tmpfs on
    /dev/shm."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    if os.geteuid() == 0:
        _libc_call(libc, "unshare", CLONE_NEWNS)
    else:
        _libc_call(libc, "unshare", CLONE_NEWUSER | CLONE_NEWNS)
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    _libc_call(libc, "mount", None, b"/", None, MS_REC | MS_PRIVATE, None)
    _libc_call(libc, "mount", b"tmpfs", str(SHM).encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
               f"size={size_bytes},mode=1777".encode())


def _private_shm_command(command: list[str]) -> list[str] | None:
    """``command`` wrapped to run with a /dev/shm of its own, or None when no namespace can be made."""
    if not SHM.is_dir():
        return None
    stats = os.statvfs(SHM)
    wrapped = [sys.executable, "-m", __spec__.name if __spec__ else "recipe.corpo.launch.shm_cleanup",
               "--enter-private-shm", str(stats.f_blocks * stats.f_frsize), "--", *command]
    probe = subprocess.run(wrapped[:-len(command)] + ["true"], capture_output=True, text=True)
    return wrapped if probe.returncode == 0 else None


def _reap() -> None:
    """Collect exited orphans that were handed to this subreaper."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def run(command: list[str], poll_s: float = 1.0, shared_shm: bool = False) -> int:
    _become_subreaper()
    env = dict(os.environ)
    env.setdefault("RAY_TMPDIR", env.get("TMPDIR", "/tmp"))  # where Ray would go without the TMPDIR below
    run_tmp = env["TMPDIR"] = tempfile.mkdtemp(prefix="corpo-run-")
    private = None if shared_shm or env.get("RAY_ADDRESS") else _private_shm_command(command)
    child = subprocess.Popen(private or command, env=env)
    for sig in (signal.SIGINT, signal.SIGTERM):  # pass them on; the cleanup still runs
        signal.signal(sig, lambda number, frame: child.send_signal(number))
    known: dict[int, int] = {}
    seen: set[str] = set()
    while child.poll() is None:
        known = descendants(os.getpid(), known)
        if not private:
            seen |= mapped_shm(known)
        time.sleep(poll_s)
    returncode = child.returncode
    deadline = time.monotonic() + GRACE_S
    while (known := descendants(os.getpid(), known)) and time.monotonic() < deadline:
        if not private:
            seen |= mapped_shm(known)
        _reap()
        time.sleep(poll_s)
    shutil.rmtree(run_tmp, ignore_errors=True)
    left = sorted(name for name in seen if (SHM / name).exists())
    if left:
        size_mb = sum((SHM / name).stat().st_size for name in left) / 2**20
        for name in left:
            (SHM / name).unlink(missing_ok=True)
        print(f"[shm cleanup] removed {len(left)} /dev/shm file(s) ({size_mb:.0f} MB) this run's processes left "
              f"behind: {', '.join(left)}", file=sys.stderr)
    return returncode


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--enter-private-shm"]:  # internal: the command's side of run()
        enter_private_shm(int(argv[1]))
        os.execvp(argv[3], argv[3:])
    shared_shm = argv[:1] == ["--shared-shm"]
    argv = argv[1:] if shared_shm else argv
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return run(argv, shared_shm=shared_shm)


if __name__ == "__main__":
    sys.exit(main())

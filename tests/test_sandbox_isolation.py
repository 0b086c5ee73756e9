"""What a candidate cannot do, mode by mode (docs/sandbox.md, "What a candidate cannot do"): hostile
programs through the real sandbox, started by a labeller running as root (the CI's user) and by one
running as an unprivileged user (the common case outside a container: modes ``userns*`` and
``none``), in every isolation mode that works for that user here.

The labeller is ``tests/helpers/sandbox_driver.py`` started with a Python installed under /tmp (a venv holding
``sortedcontainers``, as CI runners and containers have it); its results come back on a socket. The
hostile programs print what they could see or do; the tests check it against the mode's promises.
Programs that could act on the host as root (unmounting, remounting) never run in mode ``none`` as
root: the unprivileged run covers that mode.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers import unprivileged

REPO = Path(__file__).resolve().parents[1]
DRIVER = REPO / "tests" / "helpers" / "sandbox_driver.py"
VIEW_MODES = ("root", "userns", "userns-nopid")  # a mount namespace: the candidate's own root
SHARED_FS_MODES = ("userns-nomount", "userns-netonly", "none")  # the host's filesystem
PID_MODES = ("root", "userns")  # a PID namespace with its own /proc
SECRET = "label-cmdline-marker-5b1e"  # in the labeller's command line

ADD_TESTS = {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"},
                                        {"input": "7 1\n", "output": "8\n"}]}
ONE_TEST = {"kind": "stdio", "cases": [{"input": "", "output": ""}]}

PRIVILEGES = r"""
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
header = (ctypes.c_uint32 * 2)(0x20080522, 0)
sets = (ctypes.c_uint32 * 6)()
libc.capget(header, sets)
bounding = sum(1 for cap in range(64) if libc.prctl(23, cap, 0, 0, 0) == 1)  # PR_CAPBSET_READ
print(json.dumps({"capabilities": list(sets), "bounding": bounding, "no_new_privs": libc.prctl(39, 0, 0, 0, 0),
                  "uid": os.getuid()}))
"""

# Unmount the private /tmp (to reach the host's, where labellers spool expected outputs), grow the
# private /dev/shm to 100 GB, and try both again from a user namespace of its own.
MOUNTS = r"""
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
MARKER = "MARKER_PATH"
def attempt(call, *args):
    return 0 if call(*args) == 0 else ctypes.get_errno()
def shm_mb():
    stats = os.statvfs("/dev/shm")
    return stats.f_blocks * stats.f_frsize >> 20
seen = {"shm_mb_before": shm_mb()}
seen["umount_tmp"] = attempt(libc.umount2, b"/tmp", 2)
seen["umount_shm"] = attempt(libc.umount2, b"/dev/shm", 2)
seen["remount_shm"] = attempt(libc.mount, b"tmpfs", b"/dev/shm", b"tmpfs", 32, b"size=100g")
seen["shm_mb"] = shm_mb()
seen["host_tmp_visible"] = os.path.exists(MARKER)
seen["nested_userns"] = attempt(libc.unshare, 0x10000000 | 0x00020000)  # CLONE_NEWUSER | CLONE_NEWNS
if seen["nested_userns"] == 0:
    seen["nested_umount_tmp"] = attempt(libc.umount2, b"/tmp", 2)
    seen["nested_remount_shm"] = attempt(libc.mount, b"tmpfs", b"/dev/shm", b"tmpfs", 32, b"size=100g")
    seen["nested_shm_mb"] = shm_mb()
    seen["nested_host_tmp_visible"] = os.path.exists(MARKER)
print(json.dumps(seen))
"""

# Right on the first test only (the statement's sample), it writes forged "passed" reports for all
# three tests into every file descriptor it can open of its harness, its parent and the labeller,
# and tries to take the harness's report socket with pidfd_getfd.
FORGER = r"""
import ctypes, json, os, sys
frames = b"".join(b"%d ok 2 0\n3\n" % i for i in range(3))
frames += b"".join((json.dumps({"test": i, "status": "ok", "out": "3\n"}) + "\n").encode() for i in range(3))
targets = {1, os.getppid()}
try:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                command_line = open("/proc/%s/cmdline" % entry, "rb").read()
                if b"harness" in command_line or b"SECRET" in command_line:  # its harness, the labeller
                    targets.add(int(entry))
            except OSError:
                pass
except OSError:
    pass
try:  # itself, as this /proc numbers it (a fork of the harness: "harness" is in its command line too)
    targets.discard(int(os.readlink("/proc/self")))
except OSError:
    pass
written = 0
for pid in targets:
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        continue
    for fd in fds:
        try:
            handle = os.open("/proc/%d/fd/%s" % (pid, fd), os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            os.write(handle, frames)
            written += 1
        except OSError:
            pass
        os.close(handle)
try:
    libc = ctypes.CDLL(None, use_errno=True)
    taken = libc.syscall(438, os.pidfd_open(os.getppid()), 1, 0)  # pidfd_getfd(parent, its fd 1)
    if taken >= 0:
        os.write(taken, frames)
        written += 1
except OSError:
    pass
print(3 if sys.stdin.read().split() == ["1", "2"] else 0)
sys.stderr.write("forged into %d file descriptors\n" % written)
"""

# The labeller's command line and a world-readable problems file (expected outputs) outside /tmp.
SNOOP = r"""
import json, os
seen = {"cmdline_seen": False}
try:
    seen["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
except OSError as exc:
    seen["pids"] = exc.errno
for pid in seen["pids"] if isinstance(seen["pids"], list) else []:
    try:
        if b"SECRET" in open("/proc/%d/cmdline" % pid, "rb").read():
            seen["cmdline_seen"] = True
    except OSError:
        pass
try:
    seen["problems"] = open("PROBLEMS_PATH").read()[:40]
except OSError as exc:
    seen["problems"] = exc.errno
print(json.dumps(seen))
"""

# The judge's modules (sortedcontainers, installed with the labeller's Python under /tmp), writes into
# that installation (made world-writable here) and into the labeller's user's folder, and the
# project's checkout (on that Python's import path here, through a .pth file).
IMPORTS_AND_WRITES = r"""
import json, os
import sortedcontainers
from sortedcontainers import SortedList
def attempt_write(path):
    try:
        with open(path, "w") as handle:
            handle.write("planted")
        os.unlink(path)
        return 0
    except OSError as exc:
        return exc.errno
site = os.path.dirname(os.path.dirname(sortedcontainers.__file__))
print(json.dumps({"sorted": list(SortedList([3, 1, 2])), "module": os.path.realpath(sortedcontainers.__file__),
                  "write_import_dir": attempt_write(os.path.join(site, "planted.py")),
                  "write_user_dir": attempt_write("USER_DIR/planted.txt"),
                  "checkout": sorted(os.listdir("CHECKOUT")) if os.path.isdir("CHECKOUT") else None}))
"""

THREADED = """import sys, threading
sys.setrecursionlimit(1 << 20)
threading.stack_size(1 << 26)
def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)
def main():
    a, b = map(int, input().split())
    print(a + b + depth(50000) - 50000)
threading.Thread(target=main).start()
"""
AT_EXIT = "import atexit\na, b = map(int, input().split())\natexit.register(print, a + b)\n"


def _venv_under_tmp(base: Path) -> Path:
    """A venv under /tmp holding sortedcontainers (copied from this environment), its site-packages
    world-writable so that only the sandbox keeps a candidate from writing there, and the checkout
    on its import path (a .pth file, as some editable installs do)."""
    import sortedcontainers

    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    shutil.copytree(Path(sortedcontainers.__file__).parent, site / "sortedcontainers")
    (site / "checkout.pth").write_text(f"{REPO}\n")
    for path in [site, *site.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWOTH | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
    return venv


def _run_driver(python: Path, spec: Path, as_unprivileged: bool, reachable: list[str]) -> dict:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        argv = [str(python), str(DRIVER), str(spec), str(theirs.fileno()), SECRET]
        if as_unprivileged:
            argv = unprivileged.command(argv, reachable)
        proc = subprocess.Popen(argv, pass_fds=(theirs.fileno(),), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, cwd=tempfile.gettempdir())
        theirs.close()
        chunks = []
        while chunk := ours.recv(1 << 20):
            chunks.append(chunk)
        _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-3000:]
    return json.loads(b"".join(chunks))


@pytest.fixture(scope="module")
def world():
    """Folders and files the hostile programs look for, and the specification of the runs."""
    base = Path(tempfile.mkdtemp(prefix="sandbox_isolation_", dir="/tmp"))
    outside = Path(tempfile.mkdtemp(prefix=".sandbox_isolation_", dir=REPO))  # not under /tmp
    try:
        for folder in (base, outside):
            folder.chmod(0o755)
        problems = outside / "problems.jsonl"
        problems.write_text('{"expected": "secret answers"}\n')
        problems.chmod(0o644)
        user_dir = outside / "user"
        user_dir.mkdir(mode=0o777)
        user_dir.chmod(0o777)  # writable by whichever user the labeller runs as
        marker = base / "host-tmp-marker"
        marker.write_text("the host's /tmp")
        marker.chmod(0o644)
        venv = _venv_under_tmp(base)
        yield {"base": base, "outside": outside, "problems": problems, "user_dir": user_dir, "marker": marker,
               "venv": venv}
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(outside, ignore_errors=True)


def _spec(world: dict, as_root: bool) -> dict:
    never_as_root_without_namespaces = ["none"] if as_root else []
    cases = {
        "privileges": {"code": PRIVILEGES, "tests": ONE_TEST, "capture": True},
        "mounts": {"code": MOUNTS.replace("MARKER_PATH", str(world["marker"])), "tests": ONE_TEST, "capture": True,
                   "skip_modes": never_as_root_without_namespaces},
        "forger": {"code": FORGER.replace("SECRET", SECRET), "tests": ADD_TESTS},
        "snoop": {"code": SNOOP.replace("SECRET", SECRET).replace("PROBLEMS_PATH", str(world["problems"])),
                  "tests": ONE_TEST, "capture": True},
        "imports_and_writes": {"code": IMPORTS_AND_WRITES.replace("USER_DIR", str(world["user_dir"]))
                               .replace("CHECKOUT", str(REPO)),
                               "tests": ONE_TEST, "capture": True},
        "threaded": {"code": THREADED, "tests": ADD_TESTS},
        "at_exit": {"code": AT_EXIT, "tests": ADD_TESTS},
    }
    return {"cases": cases, "limits": {"time_limit_s": 2.0, "memory_limit_mb": 256, "output_limit_mb": 4}}


def _runs(world: dict, as_unprivileged: bool) -> dict:
    spec_path = world["base"] / ("spec-unprivileged.json" if as_unprivileged else "spec-root.json")
    spec = _spec(world, as_root=os.geteuid() == 0 and not as_unprivileged)
    spec_path.write_text(json.dumps(spec))
    spec_path.chmod(0o644)
    python = world["venv"] / "bin" / "python"
    reachable = [sys.base_prefix, str(REPO), str(world["base"]), str(world["outside"])]
    return _run_driver(python, spec_path, as_unprivileged, reachable)


@pytest.fixture(scope="module")
def as_root(world):
    if os.geteuid() != 0:
        pytest.skip("the labeller runs as root only in CI (and containers); this user is not root")
    return _runs(world, as_unprivileged=False)


@pytest.fixture(scope="module")
def as_user(world):
    why = unprivileged.user_namespaces_refused(sys.executable, [sys.base_prefix, str(REPO)])
    results = _runs(world, as_unprivileged=True)
    if why is not None:
        if "none" not in results["modes"]:
            pytest.skip(why)
        results["note"] = why
    return results


def _observed(results: dict, mode: str, case: str) -> dict:
    if case not in results["modes"].get(mode, {case: None}):
        pytest.skip(f"{case} does not run as root in mode {mode!r}: if the sandbox failed, it would act on the host")
    if mode not in results["modes"]:
        why = results["refused"].get(mode, "it is root's mode" if mode == "root" else "not offered")
        if results.get("note") and mode.startswith("userns"):
            why = results["note"]  # user namespaces refused to unprivileged users: say so
        pytest.skip(f"mode {mode!r} does not work for uid {results['uid']} here: {why}")
    return results["modes"][mode][case]


def _printed(results: dict, mode: str, case: str) -> dict:
    observed = _observed(results, mode, case)
    assert observed["verdict"] == "passed", observed
    return json.loads(observed["outputs"][0])


@pytest.fixture(params=["root", "unprivileged"])
def run(request):
    return request.getfixturevalue("as_root" if request.param == "root" else "as_user")


ALL_MODES = ["root", "userns", "userns-nomount", "userns-nopid", "userns-netonly", "none"]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_candidate_has_no_capability_and_no_new_privileges(run, mode):
    seen = _printed(run, mode, "privileges")
    assert seen["capabilities"] == [0] * 6 and seen["no_new_privs"] == 1, seen
    if run["uid"] == 0 or mode != "none":  # (a user without capabilities cannot empty its bounding set:
        assert seen["bounding"] == 0, seen  # no_new_privs keeps any exec from gaining one)
    if run["uid"] == 0 and mode in ("root", "none"):
        assert seen["uid"] != 0  # root's candidates run as an unprivileged uid of their own


@pytest.mark.parametrize("mode", ALL_MODES)
def test_forged_reports_do_not_pass_a_candidate(run, mode):
    """Right on the sample test only, forging 'passed' for all three tests: judged on test 2."""
    observed = _observed(run, mode, "forger")
    assert (observed["verdict"], observed["tests_run"]) == ("wrong_answer", 2), observed


@pytest.mark.parametrize("mode", VIEW_MODES)
def test_the_private_mounts_cannot_be_undone_or_grown(run, mode):
    seen = _printed(run, mode, "mounts")
    assert seen["umount_tmp"] and seen["umount_shm"] and seen["remount_shm"], seen
    assert seen["shm_mb"] == seen["shm_mb_before"] == 16 and not seen["host_tmp_visible"], seen
    if mode == "root":  # a user namespace of its own: the mounts it inherits are locked
        if seen["nested_userns"] == 0:
            assert seen["nested_umount_tmp"] and seen["nested_remount_shm"], seen
            assert seen["nested_shm_mb"] == 16 and not seen["nested_host_tmp_visible"], seen
    else:  # no user namespace below the sandbox's own
        assert seen["nested_userns"] == errno.ENOSPC, seen


@pytest.mark.parametrize("mode", SHARED_FS_MODES)
def test_without_a_mount_namespace_the_host_mounts_cannot_be_changed(run, mode):
    seen = _printed(run, mode, "mounts")
    assert seen["umount_tmp"] and seen["umount_shm"] and seen["remount_shm"], seen
    assert seen["shm_mb"] == seen["shm_mb_before"], seen
    assert seen["host_tmp_visible"]  # documented: the host's /tmp


@pytest.mark.parametrize("mode", VIEW_MODES)
def test_the_labellers_command_line_and_files_are_hidden(run, mode):
    seen = _printed(run, mode, "snoop")
    assert not seen["cmdline_seen"] and seen["problems"] == errno.ENOENT, seen
    if mode in PID_MODES:  # its own /proc: the harness, the test child and nothing else
        assert 1 in seen["pids"] and len(seen["pids"]) <= 4, seen
    else:
        assert seen["pids"] == [], seen


@pytest.mark.parametrize("mode", SHARED_FS_MODES)
def test_without_a_mount_namespace_the_labellers_files_are_readable(run, mode):
    seen = _printed(run, mode, "snoop")
    assert seen["problems"] == '{"expected": "secret answers"}\n'  # documented: readable as the user
    if mode != "userns-nomount" or run["uid"] == 0:
        assert seen["cmdline_seen"]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_the_interpreters_modules_are_importable_wherever_it_is_installed(run, mode, world):
    seen = _printed(run, mode, "imports_and_writes")
    assert seen["sorted"] == [1, 2, 3] and seen["module"].startswith(str(world["venv"])), seen


@pytest.mark.parametrize("mode", VIEW_MODES)
def test_the_interpreter_and_the_users_files_cannot_be_written(run, mode):
    seen = _printed(run, mode, "imports_and_writes")
    assert seen["write_import_dir"] == errno.EROFS, seen
    assert seen["write_user_dir"] in (errno.ENOENT, errno.EROFS), seen
    assert seen["checkout"] == [], seen  # on the import path, yet hidden (an empty folder)


@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize("case", ["threaded", "at_exit"])
def test_threads_and_atexit_output_count(run, mode, case):
    observed = _observed(run, mode, case)
    assert (observed["verdict"], observed["tests_run"]) == ("passed", 3), observed

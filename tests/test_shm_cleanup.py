"""recipe.corpo.launch.shm_cleanup: a run's leaked /dev/shm files and vLLM IPC sockets are removed, nobody else's.

Real processes: the command starts a grandchild that creates a shared-memory segment (as vLLM's
engine does under Ray), or a named semaphore as multiprocessing makes them, and is killed with
SIGKILL before it can unlink it; with the run's own /dev/shm (the default) and with the host's
(``--shared-shm``, where the files its processes mapped are removed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from multiprocessing import shared_memory
from pathlib import Path

import pytest

LEAKER = """
import subprocess, sys
code = '''
import os, signal, sys, time
from multiprocessing import resource_tracker, shared_memory
segment = shared_memory.SharedMemory(name=sys.argv[1], create=True, size=1 << 20)
resource_tracker.unregister(segment._name, "shared_memory")  # as if its tracker died with it
print("ready", flush=True)
time.sleep(3)  # mapped while the cleanup polls
os.kill(os.getpid(), signal.SIGKILL)  # no chance to unlink
'''
leaker = subprocess.Popen([sys.executable, "-c", code, sys.argv[1]], stdout=subprocess.PIPE, text=True)
assert leaker.stdout.readline().strip() == "ready"
leaker.wait()
sys.exit(3)
"""


def test_the_runs_leaked_segment_is_removed_and_others_are_kept():
    leaked, other = f"corpo_test_{uuid.uuid4().hex[:12]}", f"corpo_test_{uuid.uuid4().hex[:12]}"
    unrelated = shared_memory.SharedMemory(name=other, create=True, size=4096)  # someone else's
    try:
        result = subprocess.run([sys.executable, "-m", "recipe.corpo.launch.shm_cleanup", "--shared-shm", "--",
                                 sys.executable, "-c", LEAKER, leaked], capture_output=True, text=True, timeout=120)
        assert result.returncode == 3, result.stderr  # the command's own exit status
        assert not (Path("/dev/shm") / leaked).exists()
        assert f"removed 1 /dev/shm file(s)" in result.stderr and leaked in result.stderr
        assert (Path("/dev/shm") / other).exists()
    finally:
        (Path("/dev/shm") / leaked).unlink(missing_ok=True)
        unrelated.close()
        unrelated.unlink()


# A process that makes a named semaphore as multiprocessing does for spawned children (sem.mp-*), kills
# its resource tracker (as Ray's teardown does) and then itself, at once: never seen by a poll.
SEMAPHORE_LEAKER = """
import multiprocessing, os, signal
from multiprocessing import resource_tracker
lock = multiprocessing.get_context("spawn").Lock()
name = "sem." + lock._semlock.name.lstrip("/")
print(name, os.path.exists("/dev/shm/" + name), flush=True)
resource_tracker._resource_tracker.ensure_running()
os.kill(resource_tracker._resource_tracker._pid, signal.SIGKILL)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_run_gets_a_shm_of_its_own_that_vanishes_with_it():
    other = f"corpo_test_{uuid.uuid4().hex[:12]}"
    unrelated = shared_memory.SharedMemory(name=other, create=True, size=4096)  # someone else's
    try:
        result = subprocess.run([sys.executable, "-m", "recipe.corpo.launch.shm_cleanup", "--", sys.executable, "-c",
                                 SEMAPHORE_LEAKER], capture_output=True, text=True, timeout=120)
        name, existed = result.stdout.split()
        assert name.startswith("sem.mp-") and existed == "True", result.stdout  # it was there for the run
        assert not (Path("/dev/shm") / name).exists()  # and never on the host's /dev/shm
        assert (Path("/dev/shm") / other).exists()
    finally:
        unrelated.close()
        unrelated.unlink()


# Run inside a PID namespace of its own (root): the run's child Q lives 2.5 s (seen by the cleanup's
# polls) and exits; then an unrelated process U is given Q's pid (ns_last_pid) and maps a segment of
# its own while the run still goes on.
PID_REUSE = r"""
import os, subprocess, sys, time
run = subprocess.Popen([sys.executable, "-m", "recipe.corpo.launch.shm_cleanup", "--shared-shm", "--", sys.executable, "-c",
                        "import subprocess, sys, time; q = subprocess.Popen(['sleep', '2.5']); print(q.pid, flush=True); "
                        "q.wait(); time.sleep(4)"], stdout=subprocess.PIPE, text=True)
q = int(run.stdout.readline())
while os.path.exists(f"/proc/{q}"):
    time.sleep(0.05)
with open("/proc/sys/kernel/ns_last_pid", "w") as handle:
    handle.write(str(q - 1))
u = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom multiprocessing import shared_memory, resource_tracker\n"
                      "s = shared_memory.SharedMemory(name=sys.argv[1], create=True, size=4096)\n"
                      "resource_tracker.unregister(s._name, 'shared_memory')\nprint('ready', flush=True)\ntime.sleep(30)",
                      sys.argv[1]], stdout=subprocess.PIPE, text=True)
assert u.stdout.readline().strip() == "ready"
print(u.pid == q, run.wait(), os.path.exists("/dev/shm/" + sys.argv[1]))
u.kill()
"""


def test_a_reused_pid_does_not_make_another_programs_files_the_runs():
    if os.geteuid() != 0:
        pytest.skip("giving a process a chosen pid (ns_last_pid in a PID namespace) needs root")
    name = f"corpo_test_{uuid.uuid4().hex[:12]}"
    try:
        result = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", PID_REUSE, name],
                                capture_output=True, text=True, timeout=120)
        assert result.stdout.split() == ["True", "0", "True"], result.stdout + result.stderr[-2000:]
    finally:
        (Path("/dev/shm") / name).unlink(missing_ok=True)


def test_a_clean_run_removes_nothing():
    result = subprocess.run([sys.executable, "-m", "recipe.corpo.launch.shm_cleanup", "--", sys.executable, "-c", "pass"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "removed" not in result.stderr


BINDER = """
import os, socket, tempfile, uuid
path = os.path.join(os.environ.get("VLLM_RPC_BASE_PATH", tempfile.gettempdir()), str(uuid.uuid4()))  # as vLLM names them
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).bind(path)
print(path, os.environ["RAY_TMPDIR"])
os._exit(0)  # a killed engine never unlinks its sockets
"""


def test_the_run_gets_a_temp_folder_of_its_own_that_is_removed():
    temp = Path(tempfile.mkdtemp(prefix="corpo-t-", dir="/tmp"))  # short: a socket path has at most 107 bytes
    try:
        env = {key: value for key, value in os.environ.items() if key not in ("VLLM_RPC_BASE_PATH", "RAY_TMPDIR")}
        result = subprocess.run([sys.executable, "-m", "recipe.corpo.launch.shm_cleanup", "--", sys.executable, "-c", BINDER],
                                capture_output=True, text=True, timeout=60, env={**env, "TMPDIR": str(temp)})
        assert result.returncode == 0, result.stderr
        socket_path, ray_tmpdir = result.stdout.split()
        assert Path(socket_path).parent.parent == temp and Path(socket_path).parent.name.startswith("corpo-run-")
        assert ray_tmpdir == str(temp)  # Ray's folder stays where it would have been
        assert list(temp.iterdir()) == []  # the socket's folder is gone
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def test_a_users_vllm_ipc_folder_is_used_and_kept():
    temp = Path(tempfile.mkdtemp(prefix="corpo-t-", dir="/tmp"))
    try:
        result = subprocess.run([sys.executable, "-m", "recipe.corpo.launch.shm_cleanup", "--", sys.executable, "-c", BINDER],
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "VLLM_RPC_BASE_PATH": str(temp), "RAY_TMPDIR": "/ray-here"})
        assert result.returncode == 0, result.stderr
        socket_path, ray_tmpdir = result.stdout.split()
        assert Path(socket_path).parent == temp and Path(socket_path).is_socket() and ray_tmpdir == "/ray-here"
    finally:
        shutil.rmtree(temp, ignore_errors=True)

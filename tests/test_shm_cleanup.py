"""recipe.corpo.launch.shm_cleanup: a run's leaked /dev/shm files and vLLM IPC sockets are removed, nobody else's.

Real processes: the command starts a grandchild that creates a shared-memory segment (as vLLM's
engine does under Ray) and is killed with SIGKILL before it can unlink it.
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
        result = subprocess.run([sys.executable, "-m", "recipe.corpo.launch.shm_cleanup", "--", sys.executable, "-c",
                                 LEAKER, leaked], capture_output=True, text=True, timeout=120)
        assert result.returncode == 3, result.stderr  # the command's own exit status
        assert not (Path("/dev/shm") / leaked).exists()
        assert f"removed 1 /dev/shm file(s)" in result.stderr and leaked in result.stderr
        assert (Path("/dev/shm") / other).exists()
    finally:
        (Path("/dev/shm") / leaked).unlink(missing_ok=True)
        unrelated.close()
        unrelated.unlink()


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

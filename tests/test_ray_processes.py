"""recipe.corpo.launch.ray_processes: a node's processes, by its Ray folder, and nothing else; stop and kill them."""

import subprocess
import sys
import time

from recipe.corpo.launch import ray_processes

HOLD_FILE = "import sys, time; f = open(sys.argv[1], 'w'); print('up', flush=True); time.sleep(120)"
IGNORE_TERM = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(120)"


def _start(*args: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "up"
    return process


def test_the_nodes_processes_by_open_file_or_argument_and_no_others(tmp_path):
    node, other = tmp_path / "ray", tmp_path / "ray2"  # a folder whose name extends the node's is not the node's
    (node / "session" / "logs").mkdir(parents=True)
    other.mkdir()
    logging = _start("-c", HOLD_FILE, str(node / "session" / "logs" / "raylet.out"))
    naming = _start("-c", IGNORE_TERM, f"--temp-dir={node}")
    unrelated = _start("-c", HOLD_FILE, str(other / "x.log"))
    try:
        assert ray_processes.processes_using(node) == {logging.pid, naming.pid}
        (node / ray_processes.ADDRESS_FILE).write_text("127.0.0.1:6379")
        started = time.monotonic()
        assert ray_processes.stop(node, grace_s=1.0) == {logging.pid, naming.pid}
        assert logging.wait(5) != 0 and naming.wait(5) != 0  # SIGTERM, then SIGKILL for the one that ignores it
        assert time.monotonic() - started < 10
        assert not (node / ray_processes.ADDRESS_FILE).exists() and unrelated.poll() is None
        assert ray_processes.kill(other) == {unrelated.pid} and unrelated.wait(5) == -9
    finally:
        for process in (logging, naming, unrelated):
            process.kill()
            process.wait()


def test_the_caller_and_its_parents_are_never_stopped(tmp_path):
    node = tmp_path / "ray"
    node.mkdir()
    # this interpreter is started with the folder in its arguments, as `ray_multinode.sh stop` starts it
    result = subprocess.run([sys.executable, "-m", "recipe.corpo.launch.ray_processes", "stop", str(node)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "stopped 0 processes" in result.stdout, result.stderr

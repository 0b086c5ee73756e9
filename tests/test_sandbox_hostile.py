"""Hostile candidates: each is contained (host and labelling run unaffected, nothing written outside
the sandbox, no connection where the network is isolated), labelled incorrect with the right
verdict, and finishes in bounded time. They run through the real sandbox: fresh interpreters,
namespaces as detected on this machine."""

import socket
import time

import pytest

from data_prep.labelling import LabelSettings, label_generations
from data_prep.sandbox import Limits, detect_isolation, run_candidate
from data_prep.schema import Problem
from tests.data_prep_fixtures import response

TESTS = {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}]}
LIMITS = Limits(time_limit_s=1.0, memory_limit_mb=128, output_limit_mb=4, max_processes=16)
BOUND_S = 20  # every hostile candidate finishes well within this


def judge(code):
    started = time.monotonic()
    result = run_candidate(code, TESTS, LIMITS)
    assert time.monotonic() - started < BOUND_S
    return result


def test_fork_bomb_is_contained():
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    result = judge(code)
    assert result.verdict == "timeout"
    assert judge("a, b = map(int, input().split())\nprint(a + b)").verdict == "passed"


def test_unbounded_allocation_hits_the_memory_limit():
    result = judge("x = []\nwhile True:\n    x.append(bytearray(10**7))\n")
    assert result.verdict == "memory_limit"


def test_infinite_loop_times_out():
    assert judge("while True:\n    pass\n").verdict == "timeout"


def test_sleeping_forever_times_out_on_the_wall_clock():
    assert judge("import time\ntime.sleep(10**6)\n").verdict == "timeout"


def test_printing_gigabytes_hits_the_output_limit():
    result = judge("import sys\nwhile True:\n    sys.stdout.write('x' * 10**6)\n")
    assert result.verdict == "output_limit"


def test_writing_outside_its_directory_is_blocked(tmp_path):
    target = tmp_path / "escaped.txt"
    code = f"open({str(target)!r}, 'w').write('pwned')\nprint(3)\n"
    result = judge(code)
    assert not target.exists()
    if detect_isolation().drop_uid:
        assert result.verdict == "runtime_error"  # PermissionError
    else:
        pytest.skip("not root: the candidate runs as the current user (reported at startup)")


def test_connecting_to_a_loopback_listener_fails():
    if not detect_isolation().network:
        pytest.skip("no network namespace on this machine (reported at startup)")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'x')\nprint(3)\n"
    try:
        result = judge(code)
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()
    assert result.verdict == "runtime_error"


def test_signalling_its_parent_does_not_reach_the_labeller():
    code = ("import os, signal\nfor pid in (os.getppid(), os.getpgid(0)):\n"
            "    try:\n        os.kill(pid, signal.SIGKILL)\n    except Exception:\n        pass\nprint('alive')\n")
    result = judge(code)
    assert result.verdict in ("wrong_answer", "runtime_error")  # never passed; and we are still running
    assert judge("a, b = map(int, input().split())\nprint(a + b)").verdict == "passed"


def test_environment_secrets_are_not_visible(monkeypatch):
    monkeypatch.setenv("DATA_PREP_TEST_SECRET", "hunter2")
    code = "import os\nprint(os.environ.get('DATA_PREP_TEST_SECRET', 'none'))\n"
    tests = {"kind": "stdio", "cases": [{"input": "", "output": "hunter2\n"}]}
    result = run_candidate(code, tests, LIMITS)
    assert result.verdict == "wrong_answer"  # it printed "none"


def test_a_hostile_batch_in_one_labelling_run():
    """All of them at once through the labeller (two workers): each gets its verdict, the run ends."""
    problem = Problem("p", "test", "add", tests=TESTS, time_limit_s=1.0, memory_limit_mb=128)
    codes = {
        "while True:\n    pass": "timeout",
        "x = []\nwhile True:\n    x.append(bytearray(10**7))": "memory_limit",
        "import sys\nwhile True:\n    sys.stdout.write('x' * 10**6)": "output_limit",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass": "timeout",
        "a, b = map(int, input().split())\nprint(a + b)": "passed",
    }
    generations = [{"problem_id": "p", "response": response(code, i), "label": None} for i, code in enumerate(codes)]
    started = time.monotonic()
    rows = label_generations({"p": problem}, generations, LabelSettings(output_limit_mb=4), workers=2)
    assert time.monotonic() - started < 3 * BOUND_S
    assert [row["verdict"] for row in rows] == list(codes.values())
    assert [row["label"] for row in rows] == [False, False, False, False, True]

"""A candidate ends as ``python3 sol.py`` ends (how judges run it): the sandbox's output and success
match the real interpreter's on programs with threads, ``atexit`` handlers and exits; and the parent
accepts only the report of the test it waits for."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import data_prep.label.sandbox.run as sandbox
from data_prep.label.sandbox.cgroups import CgroupSupport
from data_prep.label.sandbox.isolation import candidate_isolations
from data_prep.label.sandbox.run import Limits, run_candidate

LIMITS = Limits(time_limit_s=5.0, memory_limit_mb=256, output_limit_mb=4)  # generous: CI machines are busy
INPUT = "2 3\n"

PROGRAMS = {
    "codeforces thread idiom": """
        import sys, threading
        sys.setrecursionlimit(1 << 16)
        threading.stack_size(1 << 26)
        def main():
            a, b = map(int, input().split())
            print(a + b)
        threading.Thread(target=main).start()
    """,
    "atexit handler prints": """
        import atexit
        a, b = map(int, input().split())
        atexit.register(lambda: print(a * b))
        print(a + b)
    """,
    "sys.exit while a thread still works": """
        import sys, threading, time
        def late():
            time.sleep(0.2)
            print("late")
        threading.Thread(target=late).start()
        print("main")
        sys.exit(0)
    """,
    "daemon thread is not waited for": """
        import threading, time
        threading.Thread(target=lambda: (time.sleep(1), print("never")), daemon=True).start()
        print("main")
    """,
    "exception in main after a thread started": """
        import threading, time
        threading.Thread(target=lambda: (time.sleep(0.2), print("thread"))).start()
        raise ValueError("main fails")
    """,
    "exception in a thread only": """
        import threading
        def fail():
            raise ValueError("thread fails")
        threading.Thread(target=fail).start()
        print("main")
    """,
    "atexit handler raises": """
        import atexit
        def boom():
            raise RuntimeError("at exit")
        atexit.register(boom)
        print("main")
    """,
    "atexit order and sys.exit code": """
        import atexit, sys
        atexit.register(print, "registered first, runs last")
        atexit.register(print, "registered last, runs first")
        sys.exit(3)
    """,
    "os._exit skips buffered output and atexit": """
        import atexit, os, sys
        atexit.register(print, "never")
        sys.stdout.write("buffered")
        os._exit(0)
    """,
    "output flushed after the thread finishes": """
        import sys, threading
        written = threading.Event()
        def work():
            written.wait()
            sys.stdout.write("from thread\\n")
        threading.Thread(target=work).start()
        sys.stdout.write("from main\\n")
        written.set()
    """,
}


def python3(code: str, tmp_path) -> tuple[bool, str]:
    """(ended normally, stdout if it did) of ``python3 sol.py`` with this interpreter, its output
    redirected to a file as judges do, in an environment without PYTHON* variables."""
    source, output = tmp_path / "sol.py", tmp_path / "out.txt"
    source.write_text(code)
    with open(output, "w") as handle:
        done = subprocess.run([sys.executable, str(source)], input=INPUT, stdout=handle, stderr=subprocess.DEVNULL,
                              text=True, timeout=30, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    return done.returncode == 0, output.read_text() if done.returncode == 0 else ""


def sandboxed(code: str) -> tuple[bool, str]:
    """(passed, its output if it did): a failing program's output does not count."""
    outputs = []

    class Capture:
        def add(self, case, output):
            outputs.append(output)
            return None

    tests = {"kind": "stdio", "cases": [{"input": INPUT, "output": ""}]}
    result = run_candidate(code, tests, LIMITS, outputs_to=Capture())
    assert result.verdict in ("passed", "runtime_error"), result
    return result.verdict == "passed", "".join(outputs)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_the_sandbox_ends_a_program_as_python3_does(name, tmp_path):
    code = textwrap.dedent(PROGRAMS[name])
    assert sandboxed(code) == python3(code, tmp_path)


def test_a_thread_that_never_ends_times_out():
    code = "import threading, time\nthreading.Thread(target=time.sleep, args=(1000,)).start()\nprint(5)\n"
    tests = {"kind": "stdio", "cases": [{"input": "", "output": "5\n"}]}
    assert run_candidate(code, tests, Limits(time_limit_s=1.0)).verdict == "timeout"


def test_the_memory_limit_applies_inside_threads():
    code = ("import threading\ndef grab():\n    try:\n        bytearray(512 << 20)\n        print('granted')\n"
            "    except MemoryError:\n        print('refused')\nthreading.Thread(target=grab).start()\n")
    tests = {"kind": "stdio", "cases": [{"input": "", "output": "refused\n"}]}
    assert run_candidate(code, tests, LIMITS).verdict == "passed"  # 512 MB > the 256 MB limit


# A stand-in harness that reports test 0 twice, as a forger writing into the report channel would.
REPEATS_TEST_0 = """
import marshal, os
with open("job", "rb") as handle:
    job = marshal.load(handle)
for _ in job["inputs"]:
    os.write(1, b"0 ok 2 0\\n3\\n")
"""


def test_only_the_report_of_the_next_test_is_accepted(tmp_path, monkeypatch):
    harness = tmp_path / "repeats_test_0.py"
    harness.write_text(REPEATS_TEST_0)
    monkeypatch.setattr(sandbox, "HARNESS", harness)
    tests = {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}]}
    none = candidate_isolations()[-1]
    result = run_candidate("print(3)", tests, LIMITS, sandbox.replace(none, cgroups=CgroupSupport(None)))
    assert (result.verdict, result.tests_run) == ("runtime_error", 2), result
    assert result.detail == "report for test 0 where test 1 was due"

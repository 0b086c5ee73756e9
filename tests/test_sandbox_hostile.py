"""Hostile candidates: each is contained (host and labelling run unaffected, nothing written outside
the sandbox, no connection where the network is isolated), labelled incorrect with the right
verdict, and finishes in bounded time. They run through the real sandbox: fresh interpreters,
namespaces and cgroups as detected on this machine; the memory and disk a candidate takes are
measured from outside (:mod:`tests.helpers.host_watch`)."""

import os
import socket
import tempfile
import time
from dataclasses import replace

import pytest

from data_prep.formats.problems import Problem
from data_prep.label.labeller import LabelSettings, label_generations
from data_prep.label.sandbox.cgroups import CgroupSupport
from data_prep.label.sandbox.isolation import candidate_isolations
from data_prep.label.sandbox.run import Limits, detect_isolation, probe, run_candidate
from data_prep.label.sandbox.session import session_folder
from tests.helpers.data_prep_fixtures import response
from tests.helpers.host_watch import MB, HostWatch, leftovers

TESTS = {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}]}
LIMITS = Limits(time_limit_s=1.0, memory_limit_mb=128, output_limit_mb=4, max_processes=16)
BOUND_S = 20  # every hostile candidate finishes well within this
SLOW_LIMITS = replace(LIMITS, time_limit_s=4.0)  # room for the unbounded control run on a busy machine
# Other processes on a shared host take and free memory and disk meanwhile (measured here: +-600 MB of
# MemAvailable within seconds): host-wide figures get this much slack. The tight measure is the memory
# of the sandbox's own processes (their PSS, sampled every 10 ms), which no neighbour affects.
MEMORY_NOISE = 768 * MB
DISK_NOISE = 512 * MB

# 12 children of 100 MB each (bytearray zero-fills: resident): every process stays under its own
# limit (RLIMIT_AS = 128 + 64 MB); they all hold it until a common moment 2 s after the start, and
# for at least 1 s (so they overlap even on a busy machine), 1.2 GB together; then the parent prints
# the right answer.
CHILDREN_OVER_MEMORY = """
import os, time
until = time.monotonic() + 2
children = []
for _ in range(12):
    pid = os.fork()
    if pid == 0:
        block = bytearray(100 << 20)
        time.sleep(max(1.0, until - time.monotonic()))
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
a, b = map(int, input().split())
print(a + b)
"""
# 700 files of 3 MB (each under the 4 MB file-size limit, 2.1 GB in all) in its working directory,
# ignoring every error, then the right answer.
FILLS_ITS_DIRECTORY = """
for i in range(700):
    try:
        with open(f"f{i}", "wb") as handle:
            handle.write(b"x" * (3 << 20))
    except OSError:
        pass
a, b = map(int, input().split())
print(a + b)
"""


def working_modes():
    """(name, isolation) for each namespace setup that runs candidates on this machine."""
    cgroups = detect_isolation().cgroups
    modes = [replace(mode, cgroups=cgroups) for mode in candidate_isolations()]
    return [(mode.name, mode) for mode in modes if probe(mode) is None]


@pytest.fixture(scope="module")
def modes():
    return dict(working_modes())


def mode_or_skip(modes, name):
    if name not in modes:
        pytest.skip(f"isolation mode {name!r} does not work on this machine (reported at startup)")
    return modes[name]


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
    isolation = detect_isolation()
    if isolation.cgroups.available:
        codes[CHILDREN_OVER_MEMORY] = "memory_limit"
    if isolation.private_mounts:
        codes[FILLS_ITS_DIRECTORY] = "output_limit"
    generations = [{"problem_id": "p", "response": response(code, i), "label": None} for i, code in enumerate(codes)]
    started = time.monotonic()
    rows = label_generations({"p": problem}, generations, LabelSettings(output_limit_mb=4), workers=2)
    assert time.monotonic() - started < 3 * BOUND_S
    assert [row["verdict"] for row in rows] == list(codes.values())
    assert [row["label"] for row in rows] == [verdict == "passed" for verdict in codes.values()]


@pytest.mark.parametrize("mode_name", ["root", "userns", "none"])
def test_children_together_over_the_memory_limit_are_stopped(modes, mode_name):
    """Each child under its own limit, all of them together over the candidate's: memory_limit, and
    the host never lends it more than the candidate's bound."""
    mode = mode_or_skip(modes, mode_name)
    if not mode.cgroups.available:
        pytest.skip(f"no per-candidate cgroup here: {mode.cgroups.note} (reported at startup)")
    bound = SLOW_LIMITS.candidate_memory_bytes(len("1 2\n"))
    with HostWatch(session_folder()) as watch:
        started = time.monotonic()
        result = run_candidate(CHILDREN_OVER_MEMORY, TESTS, SLOW_LIMITS, mode)
        elapsed = time.monotonic() - started
    assert result.verdict == "memory_limit", result
    assert elapsed < BOUND_S
    # PSS also counts the interpreters' shared file pages (charged to no group of ours) and is summed
    # over processes one by one while they come and go: 64 MB of slack for that
    assert watch.sandbox_peak <= bound + 64 * MB, f"{watch.sandbox_peak / MB:.0f} MB > {bound / MB:.0f} MB"
    assert watch.memory_drop < bound + MEMORY_NOISE, f"host lent {watch.memory_drop / MB:.0f} MB"
    assert watch.memory_after_drop < MEMORY_NOISE


def test_without_a_cgroup_those_children_pass_and_take_the_memory():
    """The control of the test above: per-process limits alone let the candidate take > 1 GB and pass."""
    with HostWatch(session_folder()) as watch:
        result = run_candidate(CHILDREN_OVER_MEMORY, TESTS, SLOW_LIMITS,
                               replace(detect_isolation(), cgroups=CgroupSupport(None, note="off")))
    assert result.verdict == "passed", result
    assert watch.sandbox_peak > 1000 * MB, f"{watch.sandbox_peak / MB:.0f} MB"


@pytest.mark.parametrize("mode_name", ["root", "userns", "userns-nopid"])
def test_filling_the_working_directory_hits_the_output_limit(modes, mode_name):
    """The working directory is a tmpfs of a fixed size: the candidate gets ENOSPC, is labelled
    output_limit, and the host's disk and memory are unchanged."""
    mode = mode_or_skip(modes, mode_name)
    assert mode.private_mounts
    tmp = tempfile.gettempdir()
    with HostWatch(session_folder(), disk_paths=[tmp]) as watch:
        started = time.monotonic()
        result = run_candidate(FILLS_ITS_DIRECTORY, TESTS, SLOW_LIMITS, mode)
        elapsed = time.monotonic() - started
    assert result.verdict == "output_limit", result
    assert elapsed < BOUND_S
    assert watch.disk_drop[tmp] < DISK_NOISE, f"host disk lent {watch.disk_drop[tmp] / MB:.0f} MB"
    assert watch.disk_after_drop[tmp] < DISK_NOISE
    assert watch.memory_drop < SLOW_LIMITS.candidate_memory_bytes(4) + MEMORY_NOISE
    assert watch.memory_after_drop < MEMORY_NOISE


def test_nothing_is_left_behind(modes):
    """After hostile candidates in every mode: no process, folder, mount or cgroup of theirs remains."""
    fork_bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    escapes_its_group = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(1000)\nprint(3)"
    weakest = list(modes.values())[-1]
    for mode in modes.values():
        codes = [FILLS_ITS_DIRECTORY] if mode.private_mounts else []
        if mode.cgroups.available or mode.pid_namespace:  # else nothing kills an escaped process
            codes.append(escapes_its_group)
        if mode is weakest and mode.cgroups.available:  # no namespace: only the cgroup cleans these up
            codes += [CHILDREN_OVER_MEMORY, fork_bomb]
        for code in codes:
            assert run_candidate(code, TESTS, LIMITS, mode).verdict != "passed"
    # killed processes may take a moment to exit (run_candidate does not wait for that: their group
    # is kept aside until it is empty)
    deadline = time.monotonic() + 5
    while (left := leftovers(os.path.dirname(session_folder()), owners=[os.getpid()]))["processes"] and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    left = leftovers(os.path.dirname(session_folder()), owners=[os.getpid()])
    assert left == {"processes": [], "folders": [], "mounts": [], "cgroups": []}

"""`data_prep label` killed outright and run again.

The real thing: the labeller is a subprocess killed with SIGKILL (as the OOM killer or a node failure
would) in the middle of a run, then the same command runs again. Candidates that finished before the
kill are not run again, a cache line torn by the kill is dropped (never read, never an error), every
candidate ends up labelled, and nothing of the killed run is left behind: its sandboxes die with it,
its temporary folders and cgroups are removed by the next run. The cache's promise for a kill at any
byte is property-tested on the cache itself.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from data_prep.label.labeller import ResultCache
from tests.helpers.data_prep_fixtures import response, write_jsonl
from tests.helpers.host_watch import leftovers

ROOT = Path(__file__).resolve().parents[1]
N_CANDIDATES = 24


def slow_program(i: int) -> tuple[str, bool]:
    """A distinct program that takes ~0.3 s; even ones are correct."""
    op = "+" if i % 2 == 0 else "-"
    return f"import time\ntime.sleep(0.3)  # candidate {i}\na, b = map(int, input().split())\nprint(a {op} b)", i % 2 == 0


def write_inputs(directory: Path) -> tuple[Path, Path, list[bool]]:
    problems = write_jsonl(directory / "problems.jsonl", [{
        "problem_id": "add", "source": "test", "statement": "Print a + b.", "time_limit_s": 2.0,
        "tests": {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}]}}])
    programs = [slow_program(i) for i in range(N_CANDIDATES)]
    generations = write_jsonl(directory / "generations.jsonl",
                              [{"problem_id": "add", "response": response(code, i)} for i, (code, _) in enumerate(programs)])
    return problems, generations, [label for _, label in programs]


def cache_lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True) if path.exists() else []


def test_label_killed_by_sigkill_resumes_without_running_finished_candidates_again(tmp_path):
    problems, generations, expected = write_inputs(tmp_path)
    tmp_base = tmp_path / "tmp"
    tmp_base.mkdir()
    out, cache = tmp_path / "labelled.parquet", tmp_path / "labelled.parquet.cache.jsonl"
    command = [sys.executable, "-m", "data_prep", "label", "--problems", str(problems), "--generations",
               str(generations), "--out", str(out), "--workers", "2"]
    env = dict(os.environ, TMPDIR=str(tmp_base))

    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(cache_lines(cache)) < 6:
        assert first.poll() is None, first.stderr.read().decode()
        assert time.monotonic() < deadline, "the labeller made no progress"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    first.stderr.close()

    # its sandboxes die with it (parent-death signal), before any cleanup of its own could run
    deadline = time.monotonic() + 10
    while leftovers(tmp_base, [first.pid])["processes"]:
        assert time.monotonic() < deadline, "sandbox processes outlived the killed labeller"
        time.sleep(0.05)
    assert not out.exists()
    # a kill in the middle of a write leaves the start of a line: make one, whatever the kill left
    with open(cache, "ab") as handle:
        handle.write(b'{"key": "0123abcd", "verdict": "pas')
    complete = [json.loads(line) for line in cache_lines(cache) if line.endswith(b"\n")]
    assert 6 <= len(complete) < N_CANDIDATES

    second = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr
    assert "incomplete (the labeller was interrupted while writing it), removed" in stderr
    summary = json.loads((tmp_path / "labelled.summary.json").read_text())
    assert summary["from_cache"] == len(complete)
    assert pd.read_parquet(out)["label"].tolist() == expected

    # every candidate ran exactly once over both runs: each run appends one line per executed candidate
    keys = [json.loads(line)["key"] for line in cache_lines(cache)]
    assert len(keys) == len(set(keys)) == N_CANDIDATES
    assert all(line.endswith(b"\n") for line in cache_lines(cache))
    # the killed run's session folder and cgroups were removed by the second run
    assert leftovers(tmp_base, [first.pid, second.pid]) == {
        "processes": [], "folders": [], "mounts": [], "cgroups": []}
    assert not list(tmp_base.iterdir())


ENTRY = st.fixed_dictionaries({"verdict": st.sampled_from(["passed", "wrong_answer", "timeout"]),
                               "tests_run": st.integers(0, 50), "detail": st.text(max_size=40)})


@settings(max_examples=150, deadline=None)
@given(entries=st.lists(ENTRY, min_size=1, max_size=8), cut=st.floats(0, 1), data=st.data())
def test_a_cache_cut_at_any_byte_keeps_exactly_its_complete_entries(tmp_path_factory, entries, cut, data):
    """Whatever byte a kill stops the writes at, reopening reads the entries written in full, nothing
    else, and the entries put after that read back intact."""
    path = tmp_path_factory.mktemp("cache") / "cache.jsonl"
    cache = ResultCache(path)
    for i, entry in enumerate(entries):
        cache.put(f"k{i}", entry)
    cache.close()
    raw = path.read_bytes()
    cut_at = int(cut * len(raw))
    path.write_bytes(raw[:cut_at])
    line_ends = [i + 1 for i, byte in enumerate(raw) if byte == ord("\n")]
    whole = sum(cut_at >= end - 1 for end in line_ends)  # every byte of the entry, its newline aside

    reopened = ResultCache(path)
    assert [reopened.get(f"k{i}") for i in range(len(entries))] == (
        [{"key": f"k{i}", **e} for i, e in enumerate(entries[:whole])] + [None] * (len(entries) - whole))
    extra = data.draw(ENTRY)
    reopened.put("new", extra)
    reopened.close()
    again = ResultCache(path)
    assert again.get("new") == {"key": "new", **extra}
    assert all(again.get(f"k{i}") == reopened.get(f"k{i}") for i in range(len(entries)))
    again.close()

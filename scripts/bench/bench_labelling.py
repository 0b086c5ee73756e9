"""Labelling benchmark: ratios measured in one run (no absolute targets are asserted anywhere).

1. Throughput on the same stdio candidates (correct and wrong, 20 tests each): data_prep's sandbox
   vs verl 0.9.1's ``prime_code.compute_score`` (continuous=True, as verl's default_compute_score
   calls it; continuous=False raises UnboundLocalError on a failing candidate, checked below).
2. Per-candidate cost with one trivial test vs a bare interpreter start (``python -I -c pass``), and
   what each isolation step adds: the sandbox with no namespace, then a network namespace, a PID
   namespace, a mount namespace with the candidate's own root, its cgroup (the detected mode), each
   measured in interleaved rounds (every variant once per round), medians of wall-clock time and of
   the CPU time of all the candidate's processes (robust to a busy machine, unlike wall time).
3. Peak RSS of ``python -m data_prep pairs`` at two labelled-file sizes 10x apart.
4. Peak RSS of ``python -m data_prep convert`` at two dataset sizes 10x apart.

    python scripts/bench/bench_labelling.py [--candidates 20] [--rows 3000] [--convert-rows 1000]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.formats.problems import Problem
from data_prep.label.labeller import LabelSettings, label_generations
from data_prep.label.sandbox.cgroups import CgroupSupport
from data_prep.label.sandbox.isolation import Isolation
from data_prep.label.sandbox.run import Limits, detect_isolation, run_candidate

CORRECT = "a, b = map(int, input().split())\nprint(a + b)\n"
WRONG = "a, b = map(int, input().split())\nprint(a - b)\n"


def add_tests(n):
    rng = random.Random(0)
    pairs = [(rng.randint(1, 10**6), rng.randint(1, 10**6)) for _ in range(n)]
    return {"kind": "stdio", "cases": [{"input": f"{a} {b}\n", "output": f"{a + b}\n"} for a, b in pairs]}


def timed(fn, repeat):
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def bench_prime_code(n_candidates):
    from verl.utils.reward_score.prime_code import compute_score

    tests = add_tests(20)
    in_outs = {"inputs": [c["input"] for c in tests["cases"]], "outputs": [c["output"] for c in tests["cases"]]}
    problem = Problem("add", "bench", "add", tests=tests)
    # distinct programs (a comment differs), so the labeller's code-hash cache does not dedupe them
    codes = [f"{code}# candidate {i}\n" for i, code in enumerate([CORRECT, WRONG] * (n_candidates // 2))]
    completions = [f"```python\n{code}```" for code in codes]

    started = time.perf_counter()
    prime = [compute_score(c, in_outs, continuous=True)[0] for c in completions]
    prime_s = time.perf_counter() - started

    started = time.perf_counter()
    ours_seq = [run_candidate(code, tests, Limits()).verdict for code in codes]
    ours_seq_s = time.perf_counter() - started

    workers = os.cpu_count() or 1
    generations = [{"problem_id": "add", "response": c, "label": None} for c in completions]
    started = time.perf_counter()
    ours_par = label_generations({"add": problem}, generations, LabelSettings(), workers=workers)
    ours_par_s = time.perf_counter() - started

    assert [p == 1 for p in prime] == [v == "passed" for v in ours_seq] == [r["label"] for r in ours_par]
    try:
        compute_score(completions[1], in_outs, continuous=False)
        unbound = "no error"
    except UnboundLocalError as exc:
        unbound = f"UnboundLocalError: {exc}"
    return prime_s, ours_seq_s, ours_par_s, workers, unbound


def isolation_steps() -> list[tuple[str, Isolation]]:
    """The detected mode built up one step at a time: (what the step adds, the mode so far)."""
    full = detect_isolation()
    no_cgroup = CgroupSupport(None, note="off for the benchmark")
    guard = (shutil.which("setpriv"), "--pdeathsig", "KILL")
    userns = full.user_namespace
    unshare = (shutil.which("unshare"), *(("--user", "--map-root-user") if userns else ()))
    pieces = [("network namespace", full.network, ("--net",)),
              ("PID namespace", full.pid_namespace, ("--pid", "--fork", "--kill-child")),
              ("mount namespace, own root", full.private_mounts, ("--mount",))]
    steps = [("harness, no namespace", Isolation(guard, False, False, os.geteuid() == 0, cgroups=no_cgroup))]
    prefix, pid_ns = (*guard, *unshare), False
    for label, present, options in pieces:
        if present:
            prefix += options
            pid_ns = pid_ns or label.startswith("PID")
            steps.append((f"+ {label}", Isolation(prefix, True, pid_ns, not userns, cgroups=no_cgroup, name=label,
                                                  private_mounts=label.startswith("mount"), user_namespace=userns)))
    if full.cgroups.available:
        steps.append(("+ cgroup (the detected mode)", full))
    else:
        steps[-1] = (steps[-1][0] + " (the detected mode)", replace(full, cgroups=no_cgroup))
    return steps


PR_SET_CHILD_SUBREAPER = 36


def _reap_all() -> None:
    """Wait for every process left to this one (as a subreaper: the sandbox's harness, orphaned when
    its process group is killed), so that its CPU time counts in RUSAGE_CHILDREN."""
    while True:
        try:
            os.wait4(-1, 0)
        except ChildProcessError:
            return


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_trivial(rounds):
    """Per trivial candidate, for a bare interpreter start and then each isolation step: the median
    wall-clock seconds and the median CPU seconds of all its processes (this process is their
    subreaper and reaps every one; kernel work done in kernel threads, such as a network namespace's
    teardown, is not counted). Interleaved: each variant once per round, in turn, so a change of load
    hits all of them."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    tests = {"kind": "stdio", "cases": [{"input": "", "output": ""}]}
    variants = [("bare `python -I -c pass`", None), *isolation_steps()]
    wall = {label: [] for label, _ in variants}
    cpu = {label: [] for label, _ in variants}
    for _ in range(rounds):
        for label, isolation in variants:
            _reap_all()
            cpu_before, started = _children_cpu_s(), time.perf_counter()
            if isolation is None:
                subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
            else:
                assert run_candidate("pass", tests, Limits(), isolation).verdict == "passed"
            wall[label].append(time.perf_counter() - started)
            _reap_all()
            cpu[label].append(_children_cpu_s() - cpu_before)
    return [(label, statistics.median(wall[label]), statistics.median(cpu[label])) for label, _ in variants]


def write_labelled(path, rows, problems=200):
    rng = random.Random(0)
    table = [{"problem_id": f"p{i % problems}", "source": "bench", "task": "code",
              "statement": f"statement {i % problems} " * 50,
              "response": f"<think>{'reasoning ' * 300}</think>```python\nprint({i})\n```", "label": rng.random() < 0.5}
             for i in range(rows)]
    pq.write_table(pa.Table.from_pylist(table), path)


def peak_rss_mb(*data_prep_args):
    """Peak RSS (MB) of one `python -m data_prep ...` run, measured by a fresh wrapper process."""
    wrapper = ("import resource, subprocess, sys\n"
               "subprocess.run([sys.executable, '-m', 'data_prep', *sys.argv[1:]],"
               " check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    proc = subprocess.run([sys.executable, "-c", wrapper, *map(str, data_prep_args)], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout.split()[-1]) / 1024


def pairs_rss_mb(labelled, out):
    return peak_rss_mb("pairs", "--labelled", labelled, "--out", out, "--train-size", "500", "--val-code-id-size", "50",
                       "--val-code-ood-size", "10")


def write_codeforces_rows(path, rows, tests_per_row=10, test_bytes=1000):
    """open-r1/codeforces-shaped parquet (the fixtures' schema), written in row groups of 256 rows."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for its test fixtures
    from tests.helpers.dataset_rows import CODEFORCES_SCHEMA, codeforces_row

    rng = random.Random(0)
    with pq.ParquetWriter(path, CODEFORCES_SCHEMA) as writer:
        for start in range(0, rows, 256):
            batch = []
            for i in range(start, min(rows, start + 256)):
                tests = [(" ".join(str(rng.randint(1, 10**9)) for _ in range(test_bytes // 11)) + "\n", f"{i}\n")
                         for _ in range(tests_per_row)]
                batch.append(codeforces_row(f"{1000 + i // 5}/{'ABCDE'[i % 5]}", f"Problem {i}", "Print n." * 50, tests))
            writer.write_table(pa.Table.from_pylist(batch, schema=CODEFORCES_SCHEMA))


def convert_rss_mb(raw, out):
    return peak_rss_mb("convert", "--format", "codeforces", "--input", raw, "--out", out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=20, help="half correct, half wrong")
    parser.add_argument("--trivial-repeat", type=int, default=30, help="interleaved rounds of [2]")
    parser.add_argument("--rows", type=int, default=3000, help="small labelled file (the large one is 10x)")
    parser.add_argument("--convert-rows", type=int, default=1000, help="small dataset for convert (the large one is 10x)")
    args = parser.parse_args()
    print(f"sandbox: {detect_isolation().describe()}")

    prime_s, seq_s, par_s, workers, unbound = bench_prime_code(args.candidates)
    n = args.candidates
    print(f"\n[1] {n} stdio candidates (half correct, half wrong), 20 tests each")
    print(f"  verl prime_code (continuous=True), sequential : {prime_s / n * 1000:8.1f} ms/candidate")
    print(f"  data_prep sandbox, sequential                 : {seq_s / n * 1000:8.1f} ms/candidate")
    print(f"  data_prep label, {workers} workers                 : {par_s / n * 1000:8.1f} ms/candidate")
    print(f"  throughput ratio vs prime_code: sequential {prime_s / seq_s:.2f}x, parallel {prime_s / par_s:.2f}x"
          "  (target >= 5x)")
    print(f"  prime_code continuous=False on a wrong candidate -> {unbound}")

    load_before = os.getloadavg()[0]
    steps = bench_trivial(args.trivial_repeat)
    print(f"\n[2] one trivial test per candidate: medians of {args.trivial_repeat} interleaved rounds "
          f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} CPUs)")
    print(f"  {'':45s}   {'wall':>8s} {'ratio':>6s} {'step':>8s}   {'CPU':>8s} {'ratio':>6s} {'step':>8s}")
    (_, bare_wall, bare_cpu), previous = steps[0], None
    for label, wall_s, cpu_s in steps:
        step = ("", "") if previous is None else (f"{1000 * (wall_s - previous[0]):+6.1f}", f"{1000 * (cpu_s - previous[1]):+6.1f}")
        print(f"  {label:45s}: {wall_s * 1000:6.1f} ms {wall_s / bare_wall:5.2f}x {step[0]:>8s}   "
              f"{cpu_s * 1000:6.1f} ms {cpu_s / bare_cpu:5.2f}x {step[1]:>8s}")
        previous = (wall_s, cpu_s)
    print(f"  the sandbox as detected vs a bare interpreter start: {steps[-1][1] / bare_wall:.2f}x wall, "
          f"{steps[-1][2] / bare_cpu:.2f}x CPU  (target <= 1.5x)")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sizes = (args.rows, 10 * args.rows)
        rss = []
        for rows in sizes:
            write_labelled(tmp / f"l{rows}.parquet", rows)
            rss.append(pairs_rss_mb(tmp / f"l{rows}.parquet", tmp / f"out{rows}"))
        file_mb = [os.path.getsize(tmp / f"l{rows}.parquet") / 2**20 for rows in sizes]
    print("\n[3] peak RSS of `data_prep pairs`")
    for rows, mb, size in zip(sizes, rss, file_mb):
        print(f"  {rows:7d} labelled rows ({size:6.1f} MB parquet): {mb:7.1f} MB")
    print(f"  ratio large/small: {rss[1] / rss[0]:.2f}x for 10x the rows  (target: flat, ~1x)")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sizes = (args.convert_rows, 10 * args.convert_rows)
        rss, file_mb, out_mb = [], [], []
        for rows in sizes:
            raw = tmp / f"cf{rows}.parquet"
            write_codeforces_rows(raw, rows)
            rss.append(convert_rss_mb(raw, tmp / f"problems{rows}.jsonl"))
            file_mb.append(os.path.getsize(raw) / 2**20)
            out_mb.append(os.path.getsize(tmp / f"problems{rows}.jsonl") / 2**20)
            raw.unlink()
            (tmp / f"problems{rows}.jsonl").unlink()
    print("\n[4] peak RSS of `data_prep convert` (open-r1/codeforces rows, 10 tests of ~1 kB each)")
    for rows, mb, size, out in zip(sizes, rss, file_mb, out_mb):
        print(f"  {rows:7d} rows ({size:6.1f} MB parquet -> {out:6.1f} MB JSONL): {mb:7.1f} MB")
    print(f"  ratio large/small: {rss[1] / rss[0]:.2f}x for 10x the rows  (target: flat, ~1x)")


if __name__ == "__main__":
    main()

"""Load benchmark of `data_prep label` and its sandbox: a labelling run of realistic size (not a CI test).

Problems and candidates come from the test fixtures' generator (``tests/helpers/data_prep_fixtures.py``:
``load_problems`` / ``load_generations``): correct, wrong, crashing, slow (CPU loop, endless sleep)
and hostile programs (memory bombs, children over the memory limit together, fork bombs, output
bombs, filling the working directory, escaping the process group). The labeller runs as a subprocess,
``python -m data_prep label --workers 2``, with a private TMPDIR; its RSS is sampled while it runs.
Checked and printed afterwards:

- every candidate labelled exactly once (one output row each, one cache line per executed candidate),
  with the verdict its kind must get on this host;
- leftovers of the run: processes, session folders, mounts, cgroups (all must be 0);
- candidates per second, the labeller's peak RSS and its RSS at 10/40/70/95% of the run (flat);
- the cost of the per-candidate cgroup, as a ratio against the same trivial candidates without it,
  measured in this run (machines are noisy: only same-run ratios are comparable).

    python scripts/bench/bench_sandbox_load.py [--problems 500] [--per-problem 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from data_prep.label.sandbox.cgroups import CgroupSupport  # noqa: E402
from data_prep.label.sandbox.run import Limits, detect_isolation, run_candidate  # noqa: E402
from tests.helpers.data_prep_fixtures import (  # noqa: E402
    expected_load_verdict,
    load_generations,
    load_problems,
    write_jsonl,
)
from tests.helpers.host_watch import MB, leftovers  # noqa: E402


def rss_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def run_labeller(directory: Path, workers: int, total: int) -> dict:
    """Run the labeller, sampling (seconds, RSS, cache lines) twice a second; returns what it measured."""
    tmp_base = directory / "tmp"
    tmp_base.mkdir()
    out = directory / "labelled.parquet"
    command = [sys.executable, "-m", "data_prep", "label", "--problems", str(directory / "problems.jsonl"),
               "--generations", str(directory / "generations.jsonl"), "--out", str(out), "--workers", str(workers)]
    cache = Path(str(out) + ".cache.jsonl")
    log = open(directory / "label.log", "w")
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ, TMPDIR=str(tmp_base)),
                            stdout=log, stderr=subprocess.STDOUT)
    samples, last_report = [], started
    while True:
        pid_done, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid_done:
            break
        lines = cache.read_bytes().count(b"\n") if cache.exists() else 0
        rss = rss_bytes(proc.pid)
        if rss is not None:
            samples.append((time.monotonic() - started, rss, lines))
        if time.monotonic() - last_report > 30:
            last_report = time.monotonic()
            print(f"  ... {lines}/{total} executed, {time.monotonic() - started:.0f} s, RSS {rss / MB:.0f} MB", flush=True)
        time.sleep(0.5)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    log.close()
    if proc.returncode != 0:
        sys.exit(f"the labeller failed ({proc.returncode}): see {directory / 'label.log'}")
    return {"seconds": seconds, "samples": samples, "peak_rss": usage.ru_maxrss * 1024, "out": out, "cache": cache,
            "tmp_base": tmp_base, "pid": proc.pid}


PROGRESS_POINTS = (0.1, 0.4, 0.7, 0.95)


def rss_by_progress(samples: list[tuple[float, int, int]], executed: int) -> list[float]:
    """The labeller's RSS (MB) when 10, 40, 70 and 95% of the candidates had run (while labelling; the
    peak also covers writing the parquet at the end)."""
    quarters = []
    for fraction in PROGRESS_POINTS:
        reached = [rss for _, rss, lines in samples if lines >= fraction * executed] or [samples[-1][1]]
        quarters.append(reached[0] / MB)
    return quarters


def check_labels(run: dict, generations: list[dict], problems: dict[str, dict], isolation) -> dict:
    labelled = pd.read_parquet(run["out"])
    if len(labelled) != len(generations) or labelled["response"].tolist() != [g["response"] for g in generations]:
        sys.exit("the labelled file does not hold exactly one row per candidate, in input order")
    mismatches = Counter()
    for generation, verdict in zip(generations, labelled["verdict"]):
        function_problem = problems[generation["problem_id"]]["tests"]["kind"] == "function"
        expected = expected_load_verdict(generation["kind"], function_problem, isolation.cgroups.available,
                                         isolation.private_mounts)
        if verdict != expected:
            mismatches[(generation["kind"], expected, verdict)] += 1
    keys = [json.loads(line)["key"] for line in run["cache"].read_text().splitlines()]
    executed = sum(g["kind"] != "no_code" for g in generations)
    return {"verdicts": Counter(labelled["verdict"]), "mismatches": mismatches, "cache_lines": len(keys),
            "distinct_keys": len(set(keys)), "executed": executed}


def cgroup_cost(repeat: int) -> tuple[float, float]:
    """ms per trivial candidate (3 tests) with and without the cgroup, interleaved, in this process."""
    isolation = detect_isolation()
    without = replace(isolation, cgroups=CgroupSupport(None, note="off for the comparison"))
    tests = {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}] * 3}
    spent = {True: 0.0, False: 0.0}
    for i in range(repeat):
        for with_cgroup in (True, False):
            started = time.perf_counter()
            run_candidate(f"a, b = map(int, input().split())\nprint(a + b)  # {i}", tests, Limits(),
                          isolation if with_cgroup else without)
            spent[with_cgroup] += time.perf_counter() - started
    return spent[True] / repeat * 1000, spent[False] / repeat * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--per-problem", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cgroup-repeat", type=int, default=40, help="trivial candidates for the cgroup's cost")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (inputs, output, log)")
    args = parser.parse_args()

    isolation = detect_isolation()
    print(f"sandbox: {isolation.describe()}")
    directory = Path(tempfile.mkdtemp(prefix="bench_sandbox_load_"))
    problem_rows = load_problems(args.problems, args.seed)
    generations = load_generations(problem_rows, args.per_problem, args.seed)
    write_jsonl(directory / "problems.jsonl", problem_rows)
    write_jsonl(directory / "generations.jsonl", [{k: g[k] for k in ("problem_id", "response")} for g in generations])
    kinds = Counter(g["kind"] for g in generations)
    print(f"\n{len(generations)} candidates over {len(problem_rows)} problems, {args.workers} workers; kinds: "
          + ", ".join(f"{kind} {n}" for kind, n in kinds.most_common()), flush=True)

    run = run_labeller(directory, args.workers, sum(n for kind, n in kinds.items() if kind != "no_code"))
    checks = check_labels(run, generations, {p["problem_id"]: p for p in problem_rows}, isolation)
    left = leftovers(run["tmp_base"], [run["pid"]])
    quarters = rss_by_progress(run["samples"], checks["executed"])
    with_cg, without_cg = cgroup_cost(args.cgroup_repeat) if isolation.cgroups.available else (None, None)

    print(f"\n[1] labelled {len(generations)} candidates in {run['seconds']:.0f} s: "
          f"{len(generations) / run['seconds']:.1f} candidates/s ({args.workers} workers)")
    print("  verdicts: " + ", ".join(f"{v} {n}" for v, n in checks["verdicts"].most_common()))
    print(f"  executed {checks['executed']} (no_code rows are not run): cache lines {checks['cache_lines']}, "
          f"distinct {checks['distinct_keys']}  (labelled exactly once: "
          f"{checks['cache_lines'] == checks['distinct_keys'] == checks['executed']})")
    print(f"  verdicts not as expected for their kind: {sum(checks['mismatches'].values())}")
    for (kind, expected, got), n in checks["mismatches"].most_common():
        print(f"    {kind}: expected {expected}, got {got} x{n}")
    print("\n[2] leftovers after the run: " + ", ".join(f"{k} {len(v)}" for k, v in left.items()))
    print(f"\n[3] labeller memory: peak RSS {run['peak_rss'] / MB:.0f} MB (writing the output included); RSS with "
          + "/".join(f"{p:.0%}" for p in PROGRESS_POINTS) + " of the candidates run: "
          + " / ".join(f"{q:.0f}" for q in quarters) + f" MB  (last/first {quarters[-1] / quarters[0]:.2f}x)")
    if with_cg is not None:
        print(f"\n[4] one trivial candidate (3 tests), {args.cgroup_repeat} each, interleaved: with its cgroup "
              f"{with_cg:.1f} ms, without {without_cg:.1f} ms  (ratio {with_cg / without_cg:.2f}x)")
    if args.keep:
        print(f"\nkept: {directory}")
    else:
        shutil.rmtree(directory, ignore_errors=True)
    failed = (checks["mismatches"] or any(left.values())
              or not checks["cache_lines"] == checks["distinct_keys"] == checks["executed"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

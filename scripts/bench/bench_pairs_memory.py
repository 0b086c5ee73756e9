"""Benchmark: peak memory of ``python -m data_prep pairs`` at two labelled-file sizes, 50 KB responses.

Responses are shaped like Qwen3-8B's: ~45 KB of reasoning in ``<think>...</think>``, then a ~5 KB
answer ending in a fenced program. Each labelled file is written twice: as ``data_prep label``
writes it (``data_prep.formats.io.write_parquet_atomic``: pages of 64 rows) and as older versions did (one
row group, pyarrow's default 1024-row pages). ``pairs`` runs in a child process with the same split
sizes for every file; its peak RSS comes from ``os.wait4`` in a small wrapper process. The ratio
large/small should be ~1.

    python scripts/bench/bench_pairs_memory.py                       # 500 and 5,000 responses (~25 and ~250 MB of text)
    python scripts/bench/bench_pairs_memory.py --rows 200 --factor 5
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.formats.io import write_parquet_atomic

SPLIT_FLAGS = ["--train-size", "300", "--val-code-id-size", "30", "--val-code-ood-size", "10",
               "--val-math-ood-size", "0"]


def make_rows(rows: int, problems: int = 50, reasoning_chars: int = 45_000, answer_chars: int = 5_000, seed: int = 0):
    """Labelled rows with ~50 KB responses (distinct texts: slices of a random word stream)."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(4000)]
    stream = " ".join(rng.choice(words) for _ in range(400_000))
    out = []
    for i in range(rows):
        start = rng.randrange(len(stream) - reasoning_chars - answer_chars)
        reasoning = stream[start:start + reasoning_chars]
        answer = stream[start + reasoning_chars:start + reasoning_chars + answer_chars]
        out.append({"problem_id": f"cf/{i % problems}", "source": "codeforces", "task": "code",
                    "statement": f"Problem {i % problems}: " + stream[i % problems * 3000:][:3000],
                    "response": f"<think>{i} {reasoning}</think>\n{answer}\n```python\nprint({i})\n```",
                    "label": rng.random() < 0.5})
    return out


# A child's peak RSS starts at its parent's RSS when it is forked (and survives exec), so `pairs`
# is started by a small wrapper process rather than by this one, which holds the generated rows.
_WRAPPER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss_mb(labelled: Path, out: Path) -> float:
    """Peak RSS of one `pairs` run (MB)."""
    command = [sys.executable, "-m", "data_prep", "pairs", "--labelled", str(labelled), "--out", str(out), *SPLIT_FLAGS]
    result = subprocess.run([sys.executable, "-c", _WRAPPER, *command], capture_output=True, text=True, check=True)
    code, max_rss_kb = (int(x) for x in result.stdout.split())
    if code != 0:
        raise SystemExit(f"pairs failed on {labelled}: rerun `{' '.join(command)}` to see why")
    return max_rss_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500, help="responses in the small file (50 problems)")
    parser.add_argument("--factor", type=int, default=10, help="the large file has factor x rows")
    args = parser.parse_args()
    sizes = (args.rows, args.factor * args.rows)
    writers = {"as `label` writes it (64-row pages)": write_parquet_atomic,
               "older `label` output (one row group, 1024-row pages)":
                   lambda path, rows: pq.write_table(pa.Table.from_pylist(rows), path)}
    print(f"peak RSS of `python -m data_prep pairs {' '.join(SPLIT_FLAGS)}`, ~50 KB responses")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for k, (name, write) in enumerate(writers.items()):
            peaks = []
            print(f"\n  {name}")
            for rows in sizes:
                path = tmp / f"labelled_{k}_{rows}.parquet"
                data = make_rows(rows)
                text_mb = sum(len(r["response"]) for r in data) / 2**20
                write(path, data)
                del data
                peaks.append(peak_rss_mb(path, tmp / f"out_{k}_{rows}"))
                print(f"    {rows:6d} responses ({text_mb:6.1f} MB of text, {path.stat().st_size / 2**20:6.1f} MB parquet):"
                      f" peak RSS {peaks[-1]:7.1f} MB")
                path.unlink()
            print(f"    ratio large/small: {peaks[1] / peaks[0]:.2f}x for {args.factor}x the responses  (target: ~1x)")


if __name__ == "__main__":
    main()

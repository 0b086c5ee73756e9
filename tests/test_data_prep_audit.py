"""`python -m data_prep audit` on rows in the datasets' own shapes (CI runs it and prints the
agreement table): known-good programs labelled correct, known-bad incorrect, a problem whose tests
reject its own solution listed, a too-slow solution reported as a timeout (not as wrong), and
`pairs --exclude-audit-failures` leaving those problems out."""

import json
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers.data_prep_fixtures import write_jsonl
from tests.helpers.dataset_rows import (
    BAD,
    GOOD,
    write_code_contests,
    write_codeforces,
    write_leetcode,
)


def run(*args, ok=True):
    proc = subprocess.run([sys.executable, "-m", "data_prep", *map(str, args)], capture_output=True, text=True)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def code_contests_audit(tmp_path_factory, summary_note):
    d = tmp_path_factory.mktemp("audit")
    proc = run("audit", "--format", "code_contests", "--input", write_code_contests(d / "raw"), "--out",
               d / "audit.json", "--workers", "2")
    summary_note("data_prep audit on the code_contests fixtures (tests/test_data_prep_audit.py)", proc.stdout)
    return proc, json.loads((d / "audit.json").read_text()), d


def test_code_contests_agreement(code_contests_audit):
    proc, report, _ = code_contests_audit
    assert "known-good" in proc.stdout and "labelled incorrect" in proc.stdout
    row = report["sources"]["code_contests"]
    # Python 3 programs only: the rows' C++ and Python 2 solutions are left out
    assert (row["problems"], row["good"], row["bad"]) == (6, 7, 7)
    assert (row["good_labelled_correct"], row["good_timed_out"], row["bad_labelled_incorrect"]) == (5, 1, 7)
    assert (row["good_agreement"], row["bad_agreement"]) == (round(5 / 6, 4), 1.0)
    assert [(e["problem_id"], e["verdict"]) for e in report["failures"]] == [
        ("code_contests/codeforces/4_D. Broken", "wrong_answer")]
    assert [(e["problem_id"], e["verdict"], e["time_limit_s"]) for e in report["reference_timeouts"]] == [
        ("code_contests/codeforces/5_E. Slow", "timeout", 1.0)]
    assert report["accepts_known_bad"] == []
    assert "problems whose tests reject their own known-good program" in proc.stdout
    assert "timed out (not counted as wrong)" in proc.stdout


def test_leetcode_completions_pass(tmp_path):
    run("audit", "--format", "leetcode", "--input", write_leetcode(tmp_path), "--out", tmp_path / "audit.json")
    row = json.loads((tmp_path / "audit.json").read_text())["sources"]["leetcode"]
    assert (row["good"], row["good_labelled_correct"], row["bad"]) == (3, 3, 0)


def test_own_references_file(tmp_path):
    raw = write_codeforces(tmp_path / "raw")
    run("convert", "--format", "codeforces", "--input", raw["shards"], "--generated-tests", raw["generated_tests"],
        "--out", tmp_path / "problems.jsonl")
    references = [{"problem_id": pid, "code": code, "correct": good}
                  for good, programs in ((True, GOOD), (False, BAD)) for pid, codes in programs.items()
                  if pid.startswith("codeforces/") for code in codes]
    write_jsonl(tmp_path / "refs.jsonl", references)
    run("audit", "--problems", tmp_path / "problems.jsonl", "--references", tmp_path / "refs.jsonl",
        "--out", tmp_path / "audit.json", "--workers", "2")
    row = json.loads((tmp_path / "audit.json").read_text())["sources"]["codeforces"]
    assert row["good"] == sum(r["correct"] for r in references) and row["bad"] == len(references) - row["good"]
    assert (row["good_agreement"], row["bad_agreement"]) == (1.0, 1.0)  # nothing misjudged by the comparison rule
    write_jsonl(tmp_path / "refs.jsonl", [{"problem_id": "codeforces/9999/Z", "code": "print(1)", "correct": True}])
    proc = run("audit", "--problems", tmp_path / "problems.jsonl", "--references", tmp_path / "refs.jsonl",
               "--out", tmp_path / "audit.json", ok=False)
    assert proc.returncode == 2 and "refs.jsonl, row 1, field 'problem_id': unknown problem" in proc.stderr


def test_pairs_exclude_audit_failures(code_contests_audit, tmp_path):
    _, report, d = code_contests_audit
    problems = ["code_contests/codeforces/4_D. Broken", "code_contests/codeforces/5_E. Slow"] + [f"p{i}" for i in range(6)]
    rows = [{"problem_id": pid, "source": "code_contests", "task": "code", "statement": f"statement of {pid}",
             "response": f"<think>r</think>answer {j} to {pid}", "label": j % 2 == 0}
            for pid in problems for j in range(4)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "labelled.parquet")
    sizes = ["--train-size", "100", "--val-code-id-size", "4", "--val-code-ood-size", "2", "--val-math-ood-size", "0"]
    run("pairs", "--labelled", tmp_path / "labelled.parquet", "--out", tmp_path / "out", *sizes,
        "--exclude-audit-failures", d / "audit.json")
    kept = set()
    for split in ("train", "val_code_id", "val_code_ood"):
        kept |= set(pd.read_parquet(tmp_path / "out" / f"{split}.parquet")["extra_info"].map(lambda e: e["problem_id"]))
    assert kept == {f"p{i}" for i in range(6)}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["dropped"]["audit_failure"] == 8
    proc = run("pairs", "--labelled", tmp_path / "labelled.parquet", "--out", tmp_path / "out2", *sizes,
               "--exclude-audit-failures", tmp_path / "labelled.parquet", ok=False)
    assert proc.returncode == 2 and "not an audit report" in proc.stderr

"""A checker that cannot judge (open-r1/codeforces' ``generated_checker`` crashing on every output) gives
its candidates the verdict ``checker_error``, not ``wrong_answer``: ``pairs`` leaves those rows out and
``audit`` lists the problem (and ``pairs --exclude-audit-failures`` drops it). Through the real
``convert``, ``label`` (real sandbox), ``pairs`` and ``audit`` commands, on rows in open-r1's shape."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.helpers.data_prep_fixtures import response, write_jsonl
from tests.helpers.dataset_rows import write_codeforces

GOOD_A = ["print(int(input()) - 1)\n", "n = int(input())\nprint(n - 1)\n"]
BAD_A = ["print(int(input()))\n", "print(0)\n"]
ECHO = ["print(input())\n", "n = input()\nprint(n)\n", "print(7)\n", "print('x')\n"]  # 2001/G: "print n"


def run(*args):
    proc = subprocess.run([sys.executable, "-m", "data_prep", *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    d = tmp_path_factory.mktemp("checker_error")
    raw = write_codeforces(d / "raw")
    run("convert", "--format", "codeforces", "--input", raw["shards"], "--out", d / "problems.jsonl")
    generations = [{"problem_id": "codeforces/2000/A", "response": response(code, i)}
                   for i, code in enumerate(GOOD_A + BAD_A)]
    generations += [{"problem_id": "codeforces/2001/G", "response": response(code, i)} for i, code in enumerate(ECHO)]
    write_jsonl(d / "generations.jsonl", generations)
    run("label", "--problems", d / "problems.jsonl", "--generations", d / "generations.jsonl", "--out",
        d / "labelled.parquet", "--workers", "2")
    return d


def test_a_checker_that_cannot_judge_gives_checker_error(labelled):
    rows = pd.read_parquet(labelled / "labelled.parquet")
    broken = rows[rows.problem_id == "codeforces/2001/G"]
    assert set(broken.verdict) == {"checker_error"} and not broken.label.any()
    assert all("on the expected output too" in detail for detail in broken.detail)
    assert sorted(rows[rows.problem_id == "codeforces/2000/A"].verdict) == ["passed"] * 2 + ["wrong_answer"] * 2


def test_pairs_leave_checker_errors_out(labelled):
    run("pairs", "--labelled", labelled / "labelled.parquet", "--out", labelled / "pairs", "--train-size", "20",
        "--val-code-id-size", "0", "--val-code-ood-size", "2")
    summary = json.loads((labelled / "pairs" / "summary.json").read_text())
    assert summary["dropped"]["checker_error"] == len(ECHO)
    pairs = pd.concat(pd.read_parquet(labelled / "pairs" / f"{split}.parquet") for split in ("train", "val_code_ood")
                      if (labelled / "pairs" / f"{split}.parquet").exists())
    assert {info["problem_id"] for info in pairs.extra_info} == {"codeforces/2000/A"}


def test_audit_lists_the_problem_and_pairs_can_exclude_it(labelled):
    references = [{"problem_id": "codeforces/2001/G", "code": "print(input())\n", "correct": True},
                  {"problem_id": "codeforces/2001/G", "code": "print(0)\n", "correct": False},
                  {"problem_id": "codeforces/2000/A", "code": GOOD_A[0], "correct": True}]
    write_jsonl(labelled / "references.jsonl", references)
    proc = run("audit", "--problems", labelled / "problems.jsonl", "--references", labelled / "references.jsonl",
               "--out", labelled / "audit.json")
    report = json.loads((labelled / "audit.json").read_text())
    assert [(e["problem_id"], e["verdict"]) for e in report["checker_errors"]] == [("codeforces/2001/G", "checker_error")] * 2
    assert report["failures"] == [] and report["accepts_known_bad"] == []
    assert report["sources"]["codeforces"]["good_agreement"] == 1.0  # checker errors count as neither
    assert "problems whose checker could not judge" in proc.stdout
    run("pairs", "--labelled", labelled / "labelled.parquet", "--out", labelled / "pairs_excluded", "--train-size", "20",
        "--val-code-id-size", "0", "--val-code-ood-size", "0", "--exclude-audit-failures", labelled / "audit.json")
    summary = json.loads((labelled / "pairs_excluded" / "summary.json").read_text())
    assert summary["dropped"]["audit_failure"] == len(ECHO) and "checker_error" not in summary["dropped"]

"""The judge rules' version (data_prep.formats.judge_rules.JUDGE_RULES_VERSION): a verdict cached under
other rules is never reused, and a problems file converted under other rules is refused with the
command that converts it again (file, row, field). Through the real ``convert`` and ``label`` commands."""

import json
import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

from data_prep.formats.judge_rules import JUDGE_RULES_VERSION
from data_prep.formats.problems import load_problems
from data_prep.formats.solver_answers import extract_code
from data_prep.label.labeller import LabelSettings, cache_key
from tests.helpers.data_prep_fixtures import response, write_jsonl
from tests.helpers.dataset_rows import write_codeforces

LEADING_ZERO = "print('0%d' % (int(input()) - 1))\n"  # wrong on Codeforces since rules 3


def data_prep(*args):
    return subprocess.run([sys.executable, "-m", "data_prep", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    d = tmp_path_factory.mktemp("rules")
    raw = write_codeforces(d / "raw")
    for out in ("problems.jsonl", "problems.parquet"):
        proc = data_prep("convert", "--format", "codeforces", "--input", raw["shards"], "--out", d / out)
        assert proc.returncode == 0, proc.stderr
    return d, raw


def test_converted_problems_carry_the_rules_version(converted):
    d, _ = converted
    rows = [json.loads(line) for line in (d / "problems.jsonl").read_text().splitlines()]
    assert rows and {row["judge_rules_version"] for row in rows} == {JUDGE_RULES_VERSION}
    assert set(pq.read_table(d / "problems.parquet").column("judge_rules_version").to_pylist()) == {JUDGE_RULES_VERSION}


def _rewrite(d, name, change):
    rows = [json.loads(line) for line in (d / "problems.jsonl").read_text().splitlines()]
    return write_jsonl(d / name, [change(dict(row)) for row in rows])


@pytest.mark.parametrize("version, was", [(JUDGE_RULES_VERSION - 1, f"written under judge rules {JUDGE_RULES_VERSION - 1}"),
                                          (None, "converted before judge rules were versioned")])
def test_a_file_converted_under_other_rules_is_refused_with_the_command_that_converts_it(converted, version, was):
    d, raw = converted
    stale = _rewrite(d, "stale.jsonl", lambda row: {**row, "judge_rules_version": version} if version else
                     {k: v for k, v in row.items() if k != "judge_rules_version"})
    (d / "stale.summary.json").write_text((d / "problems.summary.json").read_text())  # as convert left it
    write_jsonl(d / "generations.jsonl", [{"problem_id": "codeforces/2000/A", "response": response(LEADING_ZERO, 0)}])
    proc = data_prep("label", "--problems", stale, "--generations", d / "generations.jsonl", "--out", d / "out.parquet")
    assert proc.returncode == 2, proc.stderr
    assert f"{stale}, row 1, field 'judge_rules_version': {was}" in proc.stderr
    shards = " ".join(f"'{path}'" for path in sorted(raw["shards"].iterdir()))  # the files convert read
    assert f"python -m data_prep convert --format codeforces --input {shards} --out '{stale}'" in proc.stderr
    assert not (d / "out.parquet").exists()


def test_own_problems_need_no_version_but_an_older_one_is_refused(tmp_path):
    own = {"problem_id": "mine/1", "source": "mine", "statement": "Print 1.",
           "tests": {"kind": "stdio", "cases": [{"input": "", "output": "1"}]}}
    assert list(load_problems(write_jsonl(tmp_path / "own.jsonl", [own]))) == ["mine/1"]
    old = write_jsonl(tmp_path / "old.jsonl", [{**own, "judge_rules_version": 1}])
    with pytest.raises(ValueError, match=f"row 1, field 'judge_rules_version'.*set judge_rules_version to "
                                         f"{JUDGE_RULES_VERSION}"):
        load_problems(old)


def test_a_verdict_cached_under_other_rules_is_not_reused(converted):
    d, _ = converted
    problem = load_problems(d / "problems.jsonl")["codeforces/2000/A"]
    limits = LabelSettings().limits_for(problem)
    code, _ = extract_code(response(LEADING_ZERO, 0))  # the program the labeller runs
    write_jsonl(d / "generations.jsonl", [{"problem_id": "codeforces/2000/A", "response": response(LEADING_ZERO, 0)}])
    for version, verdict, cached in ((JUDGE_RULES_VERSION - 1, "wrong_answer", False),
                                     (JUDGE_RULES_VERSION, "passed", True)):  # the control: a current entry is used
        cache = write_jsonl(d / f"cache_{version}.jsonl", [
            {"key": cache_key(problem, code, limits, rules_version=version), "verdict": "passed",
             "tests_run": 4, "detail": ""}])
        proc = data_prep("label", "--problems", d / "problems.jsonl", "--generations", d / "generations.jsonl",
                         "--out", d / f"labelled_{version}.parquet", "--cache", cache)
        assert proc.returncode == 0, proc.stderr
        row = pd.read_parquet(d / f"labelled_{version}.parquet").iloc[0]
        assert (row.verdict, bool(row.cached)) == (verdict, cached)

"""convert on rows in the datasets' own shapes: every open-r1/codeforces config, generated tests,
checkers, file I/O, filters and skip counts; LeetCodeDataset .jsonl.gz; code_contests ids; inputs
as several files, globs or folders of shards; parquet output; located errors."""

import gzip
import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep.formats.problems import load_problems
from tests.helpers.dataset_rows import (
    CODE_CONTESTS,
    CODE_CONTESTS_SCHEMA,
    DIVISOR_CHECKER,
    LEETCODE,
    write_code_contests,
    write_codeforces,
    write_leetcode,
)


def convert(tmp_path, fmt, *inputs, out="problems.jsonl", extra=(), ok=True):
    """Run `python -m data_prep convert`; return (problems by id, summary) or the failed process."""
    out = tmp_path / out
    proc = subprocess.run([sys.executable, "-m", "data_prep", "convert", "--format", fmt, "--input", *map(str, inputs),
                           *map(str, extra), "--out", str(out)], capture_output=True, text=True)
    if not ok:
        return proc
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(out.with_name(out.name.split(".")[0] + ".summary.json").read_text())
    return load_problems(out), summary


@pytest.fixture(scope="module")
def codeforces(tmp_path_factory):
    return write_codeforces(tmp_path_factory.mktemp("raw"))


def test_codeforces_default_config_with_generated_tests(tmp_path, codeforces):
    problems, summary = convert(tmp_path, "codeforces", codeforces["shards"],
                                extra=["--generated-tests", codeforces["generated_tests"]])
    assert sorted(problems) == [f"codeforces/{i}" for i in ("2000/A", "2000/B", "2000/C", "2000/D", "2000/E", "2001/A",
                                                           "2001/B", "2001/F", "2001/G", "2001/H")]
    assert summary["skipped"] == {"executable is false": 1, "interactive problem": 1,
                                  "official_tests_complete is false": 1}
    assert summary["options"]["generated_tests"] == {"files": 1, "problems": 1}
    a = problems["codeforces/2000/A"]
    assert [c["output"] for c in a.tests["cases"]] == ["998244353\n", "1000000000000\n", "0\n", "-1\n"]  # official, generated
    assert (a.time_limit_s, a.memory_limit_mb) == (1.0, 256.0)
    assert problems["codeforces/2000/C"].tests["compare"]["case"] == "any"  # "in any case" in the statement
    assert problems["codeforces/2000/D"].tests["compare"]["case"] == "yes_no"
    files = problems["codeforces/2001/A"].tests
    assert (files["input_file"], files["output_file"]) == ("input.txt", "output.txt")
    checker = problems["codeforces/2001/B"].tests
    assert checker["checker"] == DIVISOR_CHECKER and "compare" not in checker


def test_codeforces_filters(tmp_path, codeforces):
    problems, summary = convert(tmp_path, "codeforces", codeforces["shards"],
                                extra=["--keep-unexecutable", "--keep-incomplete-tests"])
    assert {"codeforces/2001/D", "codeforces/2001/E"} <= set(problems)
    assert summary["skipped"] == {"interactive problem": 1}
    problems, summary = convert(tmp_path, "codeforces", codeforces["shards"], extra=["--input-mode", "file"])
    assert list(problems) == ["codeforces/2001/A"]
    assert summary["skipped"]["input_mode stdio (kept: --input-mode file)"] == 9
    problems, summary = convert(tmp_path, "codeforces", codeforces["shards"], extra=["--max-rating", "1000"])
    assert "codeforces/2000/B" not in problems and "codeforces/2000/E" not in problems
    assert summary["skipped"]["rating outside [None, 1000]"] == 1 and summary["skipped"]["no rating (a rating filter is set)"] == 1
    assert summary["problems"] == 8


def test_verifiable_prompts_keeps_one_row_per_problem(tmp_path, codeforces):
    problems, summary = convert(tmp_path, "codeforces", codeforces["verifiable_prompts"])
    assert sorted(problems) == ["codeforces/2000/A", "codeforces/2000/B"]
    assert summary["skipped"] == {"language 'cpp' (kept: --language python)": 2}
    problems, summary = convert(tmp_path, "codeforces", codeforces["verifiable_prompts"], extra=["--language", "all"])
    assert len(problems) == 2 and summary["skipped"] == {"duplicate problem id": 2}


def test_inputs_as_files_globs_and_folders(tmp_path, codeforces):
    shards = sorted(codeforces["shards"].glob("*.parquet"))
    by_folder, _ = convert(tmp_path, "codeforces", codeforces["shards"])
    by_glob, _ = convert(tmp_path, "codeforces", codeforces["shards"] / "train-*.parquet")
    by_files, summary = convert(tmp_path, "codeforces", *shards)
    assert by_folder == by_glob == by_files and len(summary["inputs"]) == 2
    proc = convert(tmp_path, "codeforces", tmp_path / "nothing-*.parquet", ok=False)
    assert proc.returncode == 2 and "nothing-*.parquet: matches no file" in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = convert(tmp_path, "codeforces", tmp_path / "empty", ok=False)
    assert proc.returncode == 2 and "empty: folder holds no .jsonl, .jsonl.gz or .parquet file" in proc.stderr


def test_leetcode_jsonl_gz_and_prelude_modules(tmp_path):
    rows = LEETCODE + [dict(LEETCODE[0], task_id="needs-numpy", prompt="import numpy_not_installed_here\n")]
    path = tmp_path / "LeetCodeDataset-v0.3.1-train.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    problems, summary = convert(tmp_path, "leetcode", path, write_leetcode(tmp_path / "second"))
    assert summary["skipped"] == {"prelude imports 'numpy_not_installed_here', which is not installed": 1,
                                  "duplicate problem id": 3}
    two_sum = problems["leetcode/two-sum"]
    assert two_sum.time_limit_s == 3.0 and two_sum.tests["prelude"] == LEETCODE[0]["prompt"]
    assert two_sum.tests["check"].endswith("check(Solution().twoSum)\n")
    assert "from sortedcontainers import SortedList" in problems["leetcode/count-of-smaller-numbers-after-self"].tests["prelude"]


def test_code_contests_ids_limits_and_files(tmp_path):
    problems, summary = convert(tmp_path, "code_contests", write_code_contests(tmp_path / "raw"), out="problems.parquet")
    assert {"code_contests/codeforces/1_A. Product", "code_contests/aizu/1_A. Product"} <= set(problems)
    assert summary["problems"] == len(CODE_CONTESTS) and summary["skipped"] == {}
    answer = problems["code_contests/codeforces/2_B. Answer"]
    assert (answer.time_limit_s, answer.memory_limit_mb) == (None, None)  # null time_limit, memory_limit_bytes 0
    assert answer.tests["compare"] == {"case": "any", "abs_tol": 1e-5, "rel_tol": 0.0, "reals_match_integers": True,
                                      "integers": "value"}
    product = problems["code_contests/codeforces/1_A. Product"]
    assert (product.time_limit_s, product.memory_limit_mb) == (2.0, 256.0) and len(product.tests["cases"]) == 3
    files = problems["code_contests/codeforces/3_C. Files"].tests
    assert (files["input_file"], files["output_file"]) == ("input.txt", "output.txt")


def test_bad_rows_are_located_or_skipped(tmp_path):
    rows = [dict(CODE_CONTESTS[0], input_file="../../etc/input"), CODE_CONTESTS[1]]
    path = tmp_path / "cc.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=CODE_CONTESTS_SCHEMA), path)
    problems, summary = convert(tmp_path, "code_contests", path)
    assert list(problems) == ["code_contests/aizu/1_A. Product"]
    assert summary["skipped"] == {"invalid problem: field 'tests.input_file'": 1}
    rows = [CODE_CONTESTS[0], {k: v for k, v in CODE_CONTESTS[1].items() if k != "name"}]
    path = tmp_path / "cc.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = convert(tmp_path, "code_contests", path, out="second.jsonl", ok=False)
    assert proc.returncode == 2 and "cc.jsonl, row 2, field 'name': not a code_contests row" in proc.stderr
    assert not (tmp_path / "second.jsonl").exists()  # nothing half-written

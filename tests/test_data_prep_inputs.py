"""Bad input gets a located error; writes are atomic; code extraction."""

import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep.formats.io import write_parquet_atomic
from data_prep.formats.solver_answers import extract_code, strip_reasoning
from tests.helpers.data_prep_fixtures import write_jsonl

GOOD = {"problem_id": "p1", "source": "s", "statement": "add",
        "tests": {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}]}}


def label(tmp_path, problems, generations):
    gen_path = write_jsonl(tmp_path / "gen.jsonl", generations)
    proc = subprocess.run([sys.executable, "-m", "data_prep", "label", "--problems", str(problems),
                           "--generations", str(gen_path), "--out", str(tmp_path / "out.parquet")],
                          capture_output=True, text=True)
    return proc


@pytest.mark.parametrize("bad_row, where", [
    ({**GOOD, "tests": {"kind": "stdio", "cases": []}}, "row 2, field 'tests.cases'"),
    ({**GOOD, "tests": {"kind": "stdio", "cases": [{"input": "1"}]}}, "row 2, field 'tests.cases[0].output'"),
    ({**GOOD, "tests": {"kind": "shell"}}, "row 2, field 'tests.kind'"),
    ({**GOOD, "tests": "{not json"}, "row 2, field 'tests': invalid JSON"),
    ({**GOOD, "tests": {"kind": "function"}}, "row 2, field 'tests.check'"),
    ({**GOOD, "problem_id": "p2", "time_limit_s": -1}, "row 2, field 'time_limit_s'"),
    ({k: v for k, v in GOOD.items() if k != "statement"}, "row 2, field 'statement': missing"),
    (GOOD, "row 2, field 'problem_id': duplicate 'p1' (first at row 1)"),
    ({**GOOD, "problem_id": "p2", "tests": {**GOOD["tests"], "input_file": "../input.txt"}},
     "row 2, field 'tests.input_file': expected a plain file name"),
    ({**GOOD, "problem_id": "p2", "tests": {**GOOD["tests"], "output_file": "stdout.txt"}},
     "row 2, field 'tests.output_file'"),
    ({**GOOD, "problem_id": "p2", "tests": {**GOOD["tests"], "compare": {"case": "upper"}}},
     "row 2, field 'tests.compare': case must be one of"),
    ({**GOOD, "problem_id": "p2", "tests": {**GOOD["tests"], "compare": {"abs_tol": -1}}},
     "row 2, field 'tests.compare': abs_tol must be a number in [0, 1)"),
    ({**GOOD, "problem_id": "p2", "tests": {**GOOD["tests"], "checker": ""}}, "row 2, field 'tests.checker'"),
])
def test_bad_problem_rows_are_located(tmp_path, bad_row, where):
    problems = write_jsonl(tmp_path / "problems.jsonl", [GOOD, bad_row])
    proc = label(tmp_path, problems, [{"problem_id": "p1", "response": "x"}])
    assert proc.returncode == 2
    assert f"problems.jsonl, {where}" in proc.stderr
    assert not (tmp_path / "out.parquet").exists()


def test_unknown_problem_in_generations(tmp_path):
    problems = write_jsonl(tmp_path / "problems.jsonl", [GOOD])
    proc = label(tmp_path, problems, [{"problem_id": "p1", "response": "x"}, {"problem_id": "nope", "response": "x"}])
    assert proc.returncode == 2
    assert "gen.jsonl, row 2, field 'problem_id': unknown problem 'nope'" in proc.stderr


def test_missing_parquet_column(tmp_path):
    problems = tmp_path / "problems.parquet"
    pq.write_table(pa.Table.from_pylist([{"problem_id": "p1", "statement": "s", "tests": json.dumps(GOOD["tests"])}]),
                   problems)
    proc = label(tmp_path, problems, [{"problem_id": "p1", "response": "x"}])
    assert proc.returncode == 2
    assert "problems.parquet, field 'source': missing column" in proc.stderr


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.parquet"
    with pytest.raises(Exception):
        write_parquet_atomic(target, [{"a": 1}, {"a": object()}])
    assert list(tmp_path.iterdir()) == []
    write_parquet_atomic(target, [{"a": 1}])
    with pytest.raises(Exception):
        write_parquet_atomic(target, [{"a": 2}, {"a": object()}])
    assert pq.read_table(target).to_pylist() == [{"a": 1}] and len(list(tmp_path.iterdir())) == 1


def test_code_extraction():
    assert extract_code("<think>```python\nprint(1)\n```</think>```python\nprint(2)\n```")[0] == "print(2)\n"
    assert extract_code("<think>```python\nprint(1)\n```</think>no code here")[0] is None
    assert extract_code("```\nprint(3)\n```\ntext\n```py\nprint(4)\n```")[0] == "print(4)\n"
    assert extract_code("```cpp\nint main(){}\n```")[1] == "last code block is 'cpp', only Python is run"
    assert extract_code("<think>never finished ```python\nprint(1)\n```")[0] is None
    assert strip_reasoning("<think>a</think>\n b ") == "b"

"""Rows in each dataset's own shape, converted by the real command, labelled by the real sandbox,
get the verdict their reference judge gives, or `checker_error` ("no verdict") where the problem's own
checker cannot judge (tests/helpers/dataset_rows.py JUDGE_CASES, the table in docs/data_prep.md)."""

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from data_prep.formats.problems import load_problems
from data_prep.label.labeller import LabelSettings, ResultCache, label_code
from tests.helpers.data_prep_fixtures import write_raw_sources
from tests.helpers.dataset_rows import JUDGE_CASES

DOC = Path(__file__).resolve().parents[1] / "docs" / "data_prep.md"
#: the reference judge's verdict -> what our labeller must say
EXPECTED = {"accepted": {"passed"}, "passed": {"passed"}, "wrong answer": {"wrong_answer"},
            "rejected": {"wrong_answer", "runtime_error"}, "failed": {"wrong_answer", "runtime_error"},
            "no verdict": {"checker_error"}}


@pytest.fixture(scope="module")
def problems(tmp_path_factory):
    d = tmp_path_factory.mktemp("judge")
    problems = {}
    for fmt, inputs in write_raw_sources(d / "raw").items():
        out = d / f"{fmt}.jsonl"
        proc = subprocess.run([sys.executable, "-m", "data_prep", "convert", "--format", fmt, "--input", *map(str, inputs),
                               "--out", str(out)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        problems.update(load_problems(out))
    return problems


@pytest.fixture(scope="module")
def verdicts(problems):
    """Our verdict of every case, by case name (the labeller's own entry point, no cache)."""
    def run(case):
        _, problem_id, program, _, _ = case
        return label_code(problems[problem_id], program, LabelSettings(), ResultCache(None))["verdict"]

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip([c[0] for c in JUDGE_CASES], pool.map(run, JUDGE_CASES)))


@pytest.mark.parametrize("case, judge", [(c[0], c[3]) for c in JUDGE_CASES], ids=[c[0] for c in JUDGE_CASES])
def test_our_verdict_is_the_reference_judges(verdicts, case, judge):
    assert verdicts[case] in EXPECTED[judge]


def test_the_readme_table_is_what_the_labeller_says(verdicts):
    """Every case is a docs/data_prep.md row `| case | `our verdict` | judge's verdict | rule |`."""
    text = DOC.read_text(encoding="utf-8")
    for case, _, _, judge, rule in JUDGE_CASES:
        row = f"| {case} | `{verdicts[case]}` | {judge} | {rule} |"
        assert row in text, f"docs/data_prep.md lacks the row:\n{row}"
    assert len(re.findall(r"^\| .* \| `\w+` \| (?:accepted|passed|wrong answer|rejected|failed|no verdict) \|", text, re.M)) == len(JUDGE_CASES)

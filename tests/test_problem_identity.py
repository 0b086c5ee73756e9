"""One problem from two sources is one problem (data_prep.pairs.identity): open-r1/codeforces writes a
title and Codeforces' ``$$$...$$$`` LaTeX, deepmind/code_contests no title and the rendered text
(``≤``, ``×``, ``a_1, ..., a_n``, some TeX left). Checked as a property over statements built from
the same fragments in both markups, and through the real ``convert`` and ``pairs`` commands on rows
in each dataset's shape."""

import json
import re
import subprocess
import sys
import unicodedata

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from data_prep.pairs.identity import codeforces_problem, statement_keys
from tests.helpers.dataset_rows import (CODE_CONTESTS_SCHEMA, CODEFORCES_SCHEMA, code_contests_row,
                                        codeforces_row)

#: (Codeforces' LaTeX as open-r1 stores it, the same as code_contests renders it)
MATH = [
    ("$$$1 \\le n \\le 10^9$$$", "1 ≤ n ≤ 10^9"), ("$$$n \\times m$$$", "n × m"),
    ("$$$a_1, a_2, \\ldots, a_n$$$", "a_1, a_2, ..., a_n"), ("$$$a_1, a_2, \\dots, a_n$$$", "a_1, a_2, …, a_n"),
    ("$$$10^{-4}$$$", "10^{-4}"), ("$$$x \\ne y$$$", "x ≠ y"), ("$$$\\max(a, b)$$$", "max(a, b)"),
    ("$$$a \\bmod b$$$", "a mod b"), ("$$$\\lfloor \\frac{n}{2} \\rfloor$$$", "⌊ n/2 ⌋"),
    ("$$$\\texttt{YES}$$$", "YES"), ("$$$\\alpha + \\beta$$$", "α + β"), ("$$$2 \\cdot 10^5$$$", "2 ⋅ 10^5"),
    ("$$$\\sum_{i=1}^{n} a_i$$$", "∑_{i=1}^{n} a_i"), ("$$$\\sqrt{x}$$$", "√{x}"),
    ("$$$\\mathbb{Z}$$$", "ℤ"), ("$$$1 \\,\\, 2$$$", "1   2"), ("$$$\\frac{|a - b|}{\\max(1, |b|)}$$$",
                                                            "\\frac{|a - b|}{max(1, |b|)}"),
]
WORDS = st.sampled_from("the array contains integers print answer each test case minimum number of operations "
                        "query output Alice Bob string graph vertex edge".split())
pieces = st.lists(st.one_of(WORDS.map(lambda w: (w, w)), st.sampled_from(MATH)), min_size=3, max_size=30)


def _sources(title: str, parts, example: tuple[str, str]) -> tuple[str, str]:
    """The statement as each converter writes it: open-r1/codeforces (title, LaTeX, "Examples" with
    "Input:"/"Output:") and code_contests (description only, rendered, "Example", "Input"/"Output")."""
    latex = " ".join(p[0] for p in parts)
    plain = " ".join(p[1] for p in parts)
    codeforces = f"{title}\n\n{latex}\n\nExamples\n\nInput:\n{example[0]}\nOutput:\n{example[1]}"
    code_contests = f"{plain}\n\nExample\n\nInput\n\n\n{example[0]}\n\n\nOutput\n\n\n{example[1]}\n"
    return codeforces, code_contests


@given(st.text("ABCDEFGH abc?!", min_size=1, max_size=30).filter(str.strip), pieces)
@settings(max_examples=300)
def test_the_same_statement_in_both_markups_is_one_problem(title, parts):
    codeforces, code_contests = _sources(title.strip(), parts, ("6 6 4\n", "4\n"))
    assert set(statement_keys(codeforces)) & set(statement_keys(code_contests))


def _letters(parts) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", " ".join(p[1] for p in parts)).casefold())


@given(pieces, pieces)
def test_different_statements_stay_different_problems(parts, others):
    """Under the same title, statements that read differently are never one problem."""
    a, _ = _sources("Title", parts, ("1\n", "1\n"))
    _, b = _sources("Title", others, ("1\n", "1\n"))
    if _letters(parts) != _letters(others):
        assert not set(statement_keys(a)) & set(statement_keys(b))


def _convert(tmp_path, fmt, schema, row, name):
    raw = tmp_path / f"{name}.parquet"
    pq.write_table(pa.Table.from_pylist([row], schema=schema), raw)
    out = tmp_path / f"{name}.jsonl"
    proc = subprocess.run([sys.executable, "-m", "data_prep", "convert", "--format", fmt, "--input", str(raw),
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


def _labelled(problems) -> list[dict]:
    """Two correct and two incorrect responses for each converted problem."""
    rows = []
    for problem in problems:
        for i, label in enumerate((True, True, False, False)):
            rows.append({"problem_id": problem["problem_id"], "source": problem["source"], "task": "code",
                         "statement": problem["statement"], "response": f"```python\nprint({i})\n```",
                         "label": label})
    return rows


def test_one_problem_from_both_converters_lands_in_one_split(tmp_path):
    """open-r1/codeforces' row and code_contests' row of one problem (each in its dataset's shape, each
    through the real converter) are one problem for ``pairs``; another problem stays another."""
    latex = ("A rectangle of size $$$n \\times m$$$ is covered with square tiles of side $$$a$$$. What is the least "
             "number of tiles, $$$t \\ge 1$$$?")
    plain = "A rectangle of size n × m is covered with square tiles of side a. What is the least number of tiles, t ≥ 1?"
    tiles = codeforces_row("3000/A", "Tiles", latex, [("6 6 4\n", "4\n")],
                           input_format="Three integers $$$n$$$, $$$m$$$, $$$a$$$ ($$$1 \\le n, m, a \\le 10^9$$$).",
                           output_format="Print the number of tiles.")
    other = codeforces_row("3000/B", "Tiles", latex.replace("least", "largest"), [("6 6 4\n", "9\n")],
                           input_format=tiles["input_format"], output_format=tiles["output_format"])
    twin = code_contests_row("3001_A. Tiles", f"{plain}\n\nInput\n\nThree integers n, m, a (1 ≤ n, m, a ≤ 10^9)."
                             "\n\nOutput\n\nPrint the number of tiles.\n\nExample\n\nInput\n\n\n6 6 4\n\n\n"
                             "Output\n\n\n4\n", [("6 6 4\n", "4\n")], [], [], [])  # another id: the statement decides
    problems = (_convert(tmp_path, "codeforces", CODEFORCES_SCHEMA, tiles, "tiles")
                + _convert(tmp_path, "codeforces", CODEFORCES_SCHEMA, other, "other")
                + _convert(tmp_path, "code_contests", CODE_CONTESTS_SCHEMA, twin, "twin"))
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("".join(json.dumps(row) + "\n" for row in _labelled(problems)))
    proc = subprocess.run([sys.executable, "-m", "data_prep", "pairs", "--labelled", str(labelled), "--out",
                           str(tmp_path / "pairs"), "--train-size", "8", "--val-code-id-size", "2",
                           "--val-code-ood-size", "0"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "pairs" / "summary.json").read_text())
    assert summary["inputs"]["code"]["problem_ids"] == 3 and summary["inputs"]["code"]["problems"] == 2
    split_of = {}
    for split in ("train", "val_code_id"):
        for info in pq.read_table(tmp_path / "pairs" / f"{split}.parquet").column("extra_info").to_pylist():
            split_of.setdefault(info["problem_id"], set()).add(split)
    assert split_of["codeforces/3000/A"] == split_of["code_contests/codeforces/3001_A. Tiles"]
    assert len(split_of["codeforces/3000/A"]) == 1 and split_of["codeforces/3000/B"] != split_of["codeforces/3000/A"]


def test_codeforces_ids_name_one_problem_in_both_sources():
    assert codeforces_problem("codeforces/1000/B2") == codeforces_problem("code_contests/codeforces/1000_B2. Light") == "1000/B2"
    assert codeforces_problem("code_contests/aizu/1000_B2. Light") is None
    assert codeforces_problem("codeforces/1000/B") != codeforces_problem("codeforces/1000/B2")

"""`python -m data_prep pairs` writes splits that cannot leak or mix (issue 14, items 3 to 9), through
the real command on real parquet: one set per run, problem identity by statement, tasks apart,
unfinished reasoning dropped, bounded memory, refilled shortfalls, loud missing splits, located errors."""

import json
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_prep.__main__ import main as data_prep_main
from data_prep.formats.io import DataError
from data_prep.formats.split_set import MANIFEST, check_split_set
from tests.helpers.data_prep_fixtures import build_tokenizer

SPLITS = ("train", "val_code_id", "val_code_ood", "val_math_ood")


def normalised(statement: str) -> str:
    """The documented identity rule: NFKC, case folded, letters and digits only."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", statement).casefold())


def answers(tag, correct=3, incorrect=3):
    """Distinct finished responses: ``correct`` labelled true, then ``incorrect`` labelled false."""
    return [(f"<think>thinking {tag} {j}</think>answer {tag} {j}", j < correct) for j in range(correct + incorrect)]


def labelled(problems, task="code"):
    """Rows of a labelled file; ``problems``: ``(problem_id, statement, [(response, label), ...])``."""
    return [{"problem_id": pid, "source": "cf", "task": task, "statement": statement, "response": text, "label": label}
            for pid, statement, responses in problems for text, label in responses]


def write(path: Path, rows) -> Path:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def run_pairs(labelled_path, out, *flags, math=None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "data_prep", "pairs", "--labelled", str(labelled_path), "--out", str(out)]
    command += ["--math", str(math)] if math else []
    return subprocess.run(command + [str(f) for f in flags], capture_output=True, text=True)


def sizes(train, val_id, ood, math=0):
    return ["--train-size", train, "--val-code-id-size", val_id, "--val-code-ood-size", ood,
            "--val-math-ood-size", math]


def present_splits(out: Path) -> dict[str, list[dict]]:
    """The rows of every split file in the folder, whoever wrote it."""
    return {name: pq.read_table(out / f"{name}.parquet").to_pylist() for name in SPLITS
            if (out / f"{name}.parquet").exists()}


def statement_of(row) -> str:
    return row["prompt"][0]["content"].split("## Problem\n\n", 1)[1].split("\n\n## Response A", 1)[0]


def assert_no_problem_in_two_splits(splits: dict[str, list[dict]]) -> None:
    owner_id, owner_statement = {}, {}
    for name, rows in splits.items():
        for row in rows:
            problem_id = row["extra_info"]["problem_id"]
            assert owner_id.setdefault(problem_id, name) == name, f"{problem_id} in {name} and {owner_id[problem_id]}"
            key = normalised(statement_of(row))
            assert owner_statement.setdefault(key, name) == name, f"statement of {problem_id} in two splits"


CODE = labelled([(f"cf/{i}", f"Problem number {i}: print {i} squared.", answers(f"c{i}")) for i in range(40)]
                + [(f"cf/same{i}", f"Same-label problem {i}.", answers(f"s{i}", 3 if i % 2 else 0, 0 if i % 2 else 3))
                   for i in range(6)])
MATH = labelled([(f"math/{i}", f"Compute {i} + {i}.", answers(f"m{i}", 2, 2)) for i in range(10)], task="math")


@pytest.fixture
def inputs(tmp_path):
    return write(tmp_path / "labelled.parquet", CODE), write(tmp_path / "labelled_math.parquet", MATH)


# ---- item 3: a rerun replaces the whole set ----

def test_a_rerun_leaves_no_file_of_the_previous_run(inputs, tmp_path):
    code, math = inputs
    out = tmp_path / "out"
    first = run_pairs(code, out, *sizes(30, 6, 4, 4), "--seed", 0, math=math)
    assert first.returncode == 0, first.stderr
    assert set(present_splits(out)) == set(SPLITS)
    second = run_pairs(code, out, *sizes(40, 10, 0), "--seed", 1)  # no OOD pairs, no --math
    assert second.returncode == 0, second.stderr
    splits = present_splits(out)
    assert set(splits) == {"train", "val_code_id"}, "a file of the previous run was left in place"
    assert_no_problem_in_two_splits(splits)
    assert check_split_set(out, SPLITS)["splits"].keys() == splits.keys()


def test_the_manifest_refuses_a_folder_mixing_two_runs(inputs, tmp_path):
    code, math = inputs
    for seed in (0, 1):
        assert run_pairs(code, tmp_path / f"run{seed}", *sizes(30, 6, 4, 4), "--seed", seed, math=math).returncode == 0
    manifest = check_split_set(tmp_path / "run0", SPLITS)
    assert {name: entry["rows"] for name, entry in manifest["splits"].items()} == \
        {name: len(rows) for name, rows in present_splits(tmp_path / "run0").items()}
    (tmp_path / "run0" / "train.parquet").write_bytes((tmp_path / "run1" / "train.parquet").read_bytes())
    with pytest.raises(DataError, match=r"train\.parquet.*belongs to set"):
        check_split_set(tmp_path / "run0", SPLITS)
    (tmp_path / "run1" / MANIFEST).unlink()  # as after an interrupted run
    with pytest.raises(DataError, match="no complete split set"):
        check_split_set(tmp_path / "run1", SPLITS)


def test_the_recipes_trainer_checks_the_set_before_verl_loads_it(inputs, tmp_path):
    from omegaconf import OmegaConf

    from recipe.corpo.corpo_trainer import CorpoTrainerSync

    code, math = inputs
    out = tmp_path / "out"
    assert run_pairs(code, out, *sizes(30, 6, 4, 4), math=math).returncode == 0
    assert run_pairs(code, tmp_path / "other", *sizes(30, 6, 4, 4), "--seed", 1, math=math).returncode == 0
    assert run_pairs(code, tmp_path / "no_math", *sizes(30, 6, 4)).returncode == 0
    trainer = CorpoTrainerSync.__new__(CorpoTrainerSync)  # only its config is needed before loading
    val_files = [str(out / f"{name}.parquet") for name in SPLITS[1:]]
    trainer.config = OmegaConf.create({"data": {"train_files": str(out / "train.parquet"), "val_files": val_files}})
    (out / "val_code_ood.parquet").write_bytes((tmp_path / "other" / "val_code_ood.parquet").read_bytes())
    with pytest.raises(DataError, match=r"val_code_ood\.parquet.*belongs to set"):
        trainer._init_dataloader()
    trainer.config.data.train_files = str(tmp_path / "no_math" / "train.parquet")
    trainer.config.data.val_files = [str(tmp_path / "no_math" / "val_math_ood.parquet")]
    with pytest.raises(DataError, match="not written by the last `data_prep pairs` run"):
        trainer._init_dataloader()


# ---- item 4: problem identity by normalised statement ----

def test_ids_sharing_a_statement_stay_in_one_split(tmp_path):
    # one statement as CodeForces, code_contests and a Div. 2 twin write it
    variants = ["Given $$$n$$$, print n+{k}.", "given  n ,\nprint  N + {k}", "GIVEN n, PRINT n+{k}!"]
    problems = [(f"{source}/{k}", variants[v].format(k=k), answers(f"{source}{k}"))
                for k in range(12) for v, source in enumerate(("codeforces", "code_contests", "div2"))]
    code = write(tmp_path / "labelled.parquet", labelled(problems))
    proc = run_pairs(code, tmp_path / "out", *sizes(40, 10, 4))
    assert proc.returncode == 0, proc.stderr
    splits = present_splits(tmp_path / "out")
    assert len(splits) == 3
    assert_no_problem_in_two_splits(splits)
    split_of = {row["extra_info"]["problem_id"]: name for name, rows in splits.items() for row in rows}
    for k in range(12):
        twins = [f"{source}/{k}" for source in ("codeforces", "code_contests", "div2")]
        assert len({split_of[pid] for pid in twins if pid in split_of}) <= 1


# ---- item 5: tasks kept apart ----

@pytest.mark.parametrize("case", ["same file twice", "math row in the code file", "one problem in both files"])
def test_code_and_math_inputs_are_checked_against_each_other(inputs, tmp_path, case):
    code, math = inputs
    if case == "same file twice":
        math, where = code, "row 1, field 'task'"
    elif case == "math row in the code file":
        code = write(tmp_path / "mixed.parquet", CODE[:12] + MATH[:4] + CODE[12:])
        where, math = "row 13, field 'task'", None
    else:
        twin = labelled([("math/x", CODE[0]["statement"].upper(), answers("x", 2, 2))], task="math")
        math, where = write(tmp_path / "twin_math.parquet", MATH + twin), f"row {len(MATH) + 1}, field 'statement'"
    proc = run_pairs(code, tmp_path / "out", *sizes(10, 2, 2, 2), math=math)
    assert proc.returncode == 2, proc.stderr
    assert where in proc.stderr and "Traceback" not in proc.stderr
    assert not list((tmp_path / "out").glob("*.parquet")), "split files written from a refused input"


# ---- item 6: unfinished reasoning is never kept ----

@pytest.mark.parametrize("keep_reasoning", [False, True])
def test_responses_whose_reasoning_never_ends_are_dropped(tmp_path, keep_reasoning):
    unfinished = [("<think>cut off while reasoning CUT```python\nprint(1)\n```", False),
                  ("<think>done</think>partial answer<think>REOPENED and never closed", False)]
    problems = [(f"cf/{i}", f"Problem {i}.", answers(f"p{i}", 2, 2) + unfinished) for i in range(10)]
    code = write(tmp_path / "labelled.parquet", labelled(problems))
    proc = run_pairs(code, tmp_path / "out", *sizes(10, 2, 2), *(["--keep-reasoning"] if keep_reasoning else []))
    assert proc.returncode == 0, proc.stderr
    prompts = [row["prompt"][0]["content"] for rows in present_splits(tmp_path / "out").values() for row in rows]
    assert prompts and not any("CUT" in p or "REOPENED" in p or "partial answer" in p for p in prompts)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["dropped"]["unfinished_reasoning"] == 20


# ---- item 7: memory bounded by a parquet page, not by the file ----

PEAK_ARROW_MEMORY = """
import sys, pyarrow as pa
from data_prep.__main__ import main
main(["pairs", "--labelled", sys.argv[1], "--out", sys.argv[2], "--train-size", "50", "--val-code-id-size", "10",
      "--val-code-ood-size", "0", "--val-math-ood-size", "0"])
print("PEAK", pa.default_memory_pool().max_memory())
"""


def _peak_arrow_bytes(labelled_path, out) -> int:
    proc = subprocess.run([sys.executable, "-c", PEAK_ARROW_MEMORY, str(labelled_path), str(out)],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout.split("PEAK")[-1])


def _long_responses(rows: int, chars: int = 10_000):
    """Rows with ~10 KB responses (mostly reasoning), 50 problems."""
    filler = "".join(f"step {i} " for i in range(chars // 7))[:chars]
    return [{"problem_id": f"p{i % 50}", "source": "cf", "task": "code", "statement": f"Problem {i % 50}.",
             "response": f"<think>{i} {filler}</think>answer {i}", "label": i % 3 == 0} for i in range(rows)]


def test_reading_holds_one_page_not_the_file(tmp_path):
    from data_prep.formats.io import write_parquet_atomic

    # written as `label` writes: the project's writer keeps pages small
    write_parquet_atomic(tmp_path / "labelled.parquet", _long_responses(4096))
    assert _peak_arrow_bytes(tmp_path / "labelled.parquet", tmp_path / "out") < 8e6  # the file holds 40 MB of text
    # written in one row group with pyarrow's default 1024-row pages (older `label` output):
    # memory is bounded by a few pages, the same for a file twice as large
    pq.write_table(pa.Table.from_pylist(_long_responses(2048)), tmp_path / "two_pages.parquet")
    pq.write_table(pa.Table.from_pylist(_long_responses(4096)), tmp_path / "four_pages.parquet")
    two, four = (_peak_arrow_bytes(tmp_path / f"{name}.parquet", tmp_path / f"out_{name}")
                 for name in ("two_pages", "four_pages"))
    assert four < 1.2 * two, (two, four)


# ---- item 8: shortfalls refilled, missing splits reported ----

def test_pairs_over_the_exact_prompt_length_are_replaced(tmp_path):
    from data_prep.formats.verl_rows import build_verifier_prompt

    # a tokenizer whose merges make the templated prompt longer than the sum of its parts
    tokenizer = build_tokenizer([build_verifier_prompt("", "", "", "code")[0]["content"]] * 50)
    tokenizer.save_pretrained(tmp_path / "tokenizer")
    problems = [(f"cf/{i}", f"Problem {i}.",
                 [(f"answer {i} {j} " + "x = 1\n" * ((7 * i + 5 * j) % 13), j < 4) for j in range(8)])
                for i in range(30)]
    code = write(tmp_path / "labelled.parquet", labelled(problems))

    def length(statement, a, b):
        return len(tokenizer.apply_chat_template(build_verifier_prompt(statement, a, b), add_generation_prompt=True,
                                                 tokenize=True, return_dict=True)["input_ids"])

    limit = sorted(length(s, r[0][0], r[-1][0]) for _, s, r in problems)[15]
    fitting = sum(min(4, sum(length(s, a, b) <= limit for a, ya in r for b, yb in r if ya and not yb))
                  for _, s, r in problems)
    requested = fitting // 2
    proc = run_pairs(code, tmp_path / "out", *sizes(requested, 0, 0), "--max-pairs-per-problem", 4,
                     "--tokenizer", tmp_path / "tokenizer", "--max-prompt-tokens", limit)
    assert proc.returncode == 0, proc.stderr
    train = present_splits(tmp_path / "out")["train"]
    assert len(train) == requested
    for row in train:
        assert len(tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True,
                                                 return_dict=True)["input_ids"]) <= limit
    labels = [tuple(json.loads(row["reward_model"]["ground_truth"])["labels"]) for row in train]
    assert abs(labels.count((1, 0)) - labels.count((0, 1))) <= 1


def test_a_missing_split_is_reported_loudly(inputs, tmp_path):
    code, _ = inputs
    proc = run_pairs(code, tmp_path / "out", *sizes(10, 2, 2, 4))
    assert proc.returncode == 0, proc.stderr
    assert "val_math_ood.parquet NOT WRITTEN (no --math given)" in proc.stderr
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["missing_splits"] == ["val_math_ood"]


# ---- item 9: non-string fields give the located error ----

@pytest.mark.parametrize("field, row, value", [("problem_id", 1, 7), ("response", 3, 42), ("statement", 2, ["a"]),
                                               ("task", 1, None)])
def test_non_string_fields_are_located(tmp_path, field, row, value):
    rows = labelled([("cf/1", "Problem 1.", answers("a", 2, 2))])
    if field == "problem_id":  # an integer column, as a parquet file would have it
        rows = [{**r, "problem_id": value} for r in rows]
        path = write(tmp_path / "labelled.parquet", rows)
    else:
        rows[row - 1][field] = value
        path = write(tmp_path / "labelled.jsonl", rows)
    proc = run_pairs(path, tmp_path / "out", *sizes(2, 0, 0))
    assert proc.returncode == 2, proc.stderr
    assert f"{path}, row {row}, field '{field}'" in proc.stderr and "Traceback" not in proc.stderr


# ---- property: no problem or statement in two splits after any sequence of runs ----

STATEMENTS = ["Sort the array.", "Print a + b.", "Reverse the string s.", "Count the vowels.", "Find the maximum."]


@st.composite
def code_files(draw):
    """Problems whose ids and statements overlap (twins differing in case and spacing), random labels."""
    problems = []
    for i in range(draw(st.integers(2, 12))):
        statement = draw(st.sampled_from(STATEMENTS))
        if draw(st.booleans()):
            statement = "  " + statement.upper().replace(" ", "\n ")
        labels = draw(st.lists(st.booleans(), min_size=1, max_size=6))
        problems.append((f"p{draw(st.integers(0, 15))}-{i}", statement,
                         [(f"answer {i}.{j}", y) for j, y in enumerate(labels)]))
    return labelled(problems)


run_config = st.fixed_dictionaries({
    "file": st.integers(0, 1), "math": st.booleans(), "seed": st.integers(0, 3),
    "sizes": st.tuples(st.integers(0, 12), st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.tuples(code_files(), code_files()), runs=st.lists(run_config, min_size=1, max_size=4))
def test_no_problem_or_statement_in_two_splits_after_any_sequence_of_runs(files, runs):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = [write(tmp / f"code{k}.parquet", rows) for k, rows in enumerate(files)]
        math = write(tmp / "math.parquet", MATH)
        out = tmp / "out"
        for run in runs:
            argv = ["pairs", "--labelled", str(paths[run["file"]]), "--out", str(out), "--seed", str(run["seed"]),
                    *map(str, sizes(*run["sizes"]))] + (["--math", str(math)] if run["math"] else [])
            assert data_prep_main(argv) == 0
        splits = present_splits(out)
        assert_no_problem_in_two_splits(splits)
        assert check_split_set(out, SPLITS)["splits"].keys() == splits.keys()

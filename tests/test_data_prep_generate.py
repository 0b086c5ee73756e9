"""The generate command on CPU with a tiny locally built model (transformers backend): it writes
the generations format that the label command reads, and a problem's samples depend only on the
seed and the problem."""

import subprocess
import sys

import pandas as pd

from corpo_sampling.engine import EngineSettings
from data_prep.formats.problems import load_problems, read_generations
from data_prep.generate.generator import generate
from tests.helpers.data_prep_fixtures import MATH, build_tiny_model, write_jsonl


def test_generate_writes_n_samples_per_problem_reproducibly(tmp_path):
    model = build_tiny_model(tmp_path / "model")
    problems = write_jsonl(tmp_path / "problems.jsonl", MATH[:2] + [
        {"problem_id": "cf", "source": "codeforces", "statement": "Print a + b.",
         "tests": {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}]}}])
    out = tmp_path / "generations.parquet"
    proc = subprocess.run([sys.executable, "-m", "data_prep", "generate", "--problems", str(problems), "--model",
                           str(model), "--n", "3", "--backend", "transformers", "--max-new-tokens", "8",
                           "--seed", "7", "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["problem_id", "response", "sample_index", "model"]
    assert frame.groupby("problem_id").size().to_dict() == {"math/1": 3, "math/2": 3, "cf": 3}
    assert frame["problem_id"].tolist() == ["math/1"] * 3 + ["math/2"] * 3 + ["cf"] * 3  # the problems' order
    assert frame["sample_index"].tolist() == [0, 1, 2] * 3
    rows = list(read_generations(out, load_problems(problems)))
    assert len(rows) == 9 and all(isinstance(row["response"], str) for row in rows)

    # the same seed in another process, the problems in reverse order: each problem's samples again
    settings = EngineSettings(model=str(model), backend="transformers", temperature=0.8, top_p=1.0, max_new_tokens=8)
    again = [row for rows in generate(list(load_problems(problems).values())[::-1], settings, n=3, seed=7) for row in rows]
    assert sorted(map(tuple, frame[["problem_id", "sample_index", "response"]].values.tolist())) == sorted(
        (row["problem_id"], row["sample_index"], row["response"]) for row in again)

def test_solver_prompt_names_the_statements_files():
    from data_prep.formats.problems import Problem
    from data_prep.generate.generator import solver_messages

    cases = [{"input": "1\n", "output": "1\n"}]
    stdio = Problem("a", "codeforces", "Print n.", tests={"kind": "stdio", "cases": cases})
    files = Problem("b", "codeforces", "Print n.", tests={"kind": "stdio", "cases": cases, "input_file": "input.txt",
                                                         "output_file": "output.txt"})
    assert "from standard input and write the answer to standard output" in solver_messages(stdio)[0]["content"]
    assert "from the file input.txt and write the answer to the file output.txt" in solver_messages(files)[0]["content"]

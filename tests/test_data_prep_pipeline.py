"""The whole chain on the fixtures, through the real commands: convert the three downloaded layouts,
label with the sandbox (code) and math-verify (math), pair, and load the four files with verl's
RLHFDataset."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.helpers.data_prep_fixtures import (
    MATH,
    build_tiny_model,
    code_generations,
    math_generations,
    write_jsonl,
    write_raw_sources,
)

SIZES = ["--train-size", "8", "--val-code-id-size", "2", "--val-code-ood-size", "4", "--val-math-ood-size", "4"]
SPLITS = ("train", "val_code_id", "val_code_ood", "val_math_ood")


def run_cli(*args, check=True, env=None):
    proc = subprocess.run([sys.executable, "-m", "data_prep", *map(str, args)], capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"data_prep {args[0]} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    d = tmp_path_factory.mktemp("pipeline")
    raw = write_raw_sources(d / "raw")
    problem_files = []
    for fmt, inputs in raw.items():
        run_cli("convert", "--format", fmt, "--input", *inputs, "--out", d / f"problems_{fmt}.jsonl")
        problem_files.append(d / f"problems_{fmt}.jsonl")
    problems = d / "problems.jsonl"
    problems.write_text("".join(p.read_text() for p in problem_files))
    generations = code_generations()
    write_jsonl(d / "generations.jsonl", [{k: v for k, v in g.items() if k != "expected"} for g in generations])
    label = run_cli("label", "--problems", problems, "--generations", d / "generations.jsonl",
                    "--out", d / "labelled.parquet", "--workers", "2")
    write_jsonl(d / "math_problems.jsonl", MATH)
    write_jsonl(d / "math_generations.jsonl", [{k: v for k, v in g.items() if k != "expected"} for g in math_generations()])
    run_cli("label", "--problems", d / "math_problems.jsonl", "--generations", d / "math_generations.jsonl",
            "--out", d / "labelled_math.parquet")
    run_cli("pairs", "--labelled", d / "labelled.parquet", "--math", d / "labelled_math.parquet", "--out", d / "out",
            *SIZES)
    return {"dir": d, "generations": generations, "label_stdout": label.stdout}


def test_convert_skips_what_cannot_be_judged(pipeline):
    summary = json.loads((pipeline["dir"] / "problems_codeforces.summary.json").read_text())
    assert summary["problems"] == 10
    assert summary["skipped"] == {"interactive problem": 1, "executable is false": 1,
                                  "official_tests_complete is false": 1}


def test_labels_and_verdicts_match_the_known_programs(pipeline):
    labelled = pd.read_parquet(pipeline["dir"] / "labelled.parquet")
    assert list(labelled.columns[:5]) == ["problem_id", "source", "task", "statement", "response"]
    assert labelled["label"].tolist() == [g["expected"] for g in pipeline["generations"]]
    verdicts = dict(zip(labelled["response"], labelled["verdict"]))
    by_code = {g["response"].split("```python\n")[-1].split("\n```")[0]: verdicts[g["response"]]
               for g in pipeline["generations"] if "```" in g["response"]}
    assert by_code["while True:\n    pass\n"] == "timeout"
    assert by_code["print(undefined_name)\n"] == "runtime_error"
    assert by_code["print(int(input()) - 2)\n"] == "wrong_answer"
    assert labelled["verdict"].iloc[-1] == "no_code" and labelled["tests_run"].iloc[-1] == 0
    passed = labelled[labelled["verdict"] == "passed"]
    assert (passed["tests_run"] > 0).all()
    assert "verdict" in pipeline["label_stdout"] and "passed" in pipeline["label_stdout"]


def test_math_labels_by_math_verify(pipeline):
    labelled = pd.read_parquet(pipeline["dir"] / "labelled_math.parquet")
    assert labelled["label"].tolist() == [g["expected"] for g in math_generations()]


def test_resume_cache_skips_executed_candidates(pipeline, tmp_path):
    d = pipeline["dir"]
    out = tmp_path / "again.parquet"
    run_cli("label", "--problems", d / "problems.jsonl", "--generations", d / "generations.jsonl", "--out", out,
            "--cache", d / "labelled.parquet.cache.jsonl")
    summary = json.loads((tmp_path / "again.summary.json").read_text())
    code_rows = sum("```" in g["response"] for g in pipeline["generations"])
    assert summary["from_cache"] == code_rows
    assert pd.read_parquet(out)["label"].tolist() == pd.read_parquet(d / "labelled.parquet")["label"].tolist()


def test_splits_load_in_verl_rlhf_dataset(pipeline, tmp_path_factory):
    from omegaconf import OmegaConf
    from transformers import AutoTokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    model = build_tiny_model(tmp_path_factory.mktemp("model"))
    tokenizer = AutoTokenizer.from_pretrained(model)
    config = OmegaConf.create({"prompt_key": "prompt", "max_prompt_length": 100000, "filter_overlong_prompts": True,
                               "cache_dir": str(tmp_path_factory.mktemp("cache"))})
    for split in SPLITS:
        dataset = RLHFDataset(str(pipeline["dir"] / "out" / f"{split}.parquet"), tokenizer, config)
        assert len(dataset) > 0
        item = dataset[0]
        assert item["extra_info"]["split"] == split
        assert json.loads(item["reward_model"]["ground_truth"])["labels"][0] in (0, 1)
        assert item["raw_prompt"][0]["role"] == "user" and "\\boxed{vA, vB}" in item["raw_prompt"][0]["content"]


def test_split_rules(pipeline):
    out = pipeline["dir"] / "out"
    frames = {split: pd.read_parquet(out / f"{split}.parquet") for split in SPLITS}
    summary = json.loads((out / "summary.json").read_text())
    problem_sets = [set(f["extra_info"].map(lambda e: e["problem_id"])) for f in frames.values()]
    assert sum(len(s) for s in problem_sets) == len(set().union(*problem_sets)), "a problem is in two splits"
    for split, frame in frames.items():
        assert len(frame) == summary["splits"][split]["written"] == summary["splits"][split]["requested"]
        types = set(frame["extra_info"].map(lambda e: e["pair_type"]))
        assert types == ({"both_correct", "both_incorrect"} if split == "val_code_ood" else {"one_correct"})
        labels = frame["reward_model"].map(lambda r: tuple(json.loads(r["ground_truth"])["labels"]))
        if split != "val_code_ood":
            assert labels.tolist().count((1, 0)) == labels.tolist().count((0, 1))
        for prompt in frame["prompt"]:
            content = prompt[0]["content"]
            a, b = content.split("## Response A")[1].split("## Response B")
            assert a.strip() != b.strip(), "identical responses paired"
            assert "Let me think about approach" not in content, "candidate reasoning not stripped"


def test_label_writes_jsonl_when_the_output_is_named_so(pipeline, tmp_path):
    d = pipeline["dir"]
    out = tmp_path / "labelled.jsonl"
    run_cli("label", "--problems", d / "problems.jsonl", "--generations", d / "generations.jsonl", "--out", out,
            "--cache", d / "labelled.parquet.cache.jsonl")
    rows = [json.loads(line) for line in out.read_text().splitlines()]  # JSON lines, not parquet bytes
    assert [row["label"] for row in rows] == pd.read_parquet(d / "labelled.parquet")["label"].tolist()


def _label_in_mode(pipeline, tmp_path, mode, *flags):
    d = pipeline["dir"]
    return run_cli("label", "--problems", d / "problems.jsonl", "--generations", d / "generations.jsonl",
                   "--out", tmp_path / "out.parquet", "--no-cache", *flags,
                   check=False, env=dict(os.environ, CORPO_SANDBOX_MODE=mode))


def test_label_refuses_a_mode_where_candidates_could_forge_their_labels(pipeline, tmp_path):
    refused = _label_in_mode(pipeline, tmp_path, "none")
    assert refused.returncode != 0 and "could rewrite the labeller's cache" in refused.stderr, refused.stderr
    assert "--trusted-code" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "out.parquet").exists()
    trusted = _label_in_mode(pipeline, tmp_path, "none", "--trusted-code")
    assert trusted.returncode == 0, trusted.stderr
    assert pd.read_parquet(tmp_path / "out.parquet")["label"].tolist() == \
        pd.read_parquet(pipeline["dir"] / "labelled.parquet")["label"].tolist()


def test_an_unknown_sandbox_mode_is_named_in_one_line(pipeline, tmp_path):
    result = _label_in_mode(pipeline, tmp_path, "bogus")
    assert result.returncode != 0 and "CORPO_SANDBOX_MODE=bogus: not a mode" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr

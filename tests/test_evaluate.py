"""The evaluate command on the tiny default (transformers backend, CPU): what it samples, how it
scores, and what it does with bad input, a crash, a rerun, two checkpoints and over-long prompts."""

import json
import os
import shutil
import signal
import subprocess
import time

import pandas as pd
import pytest
import torch

from corpo_advantage.reward import compute_score
from data_prep.formats.verl_rows import make_row
from tests.helpers.eval_fixtures import (  # noqa: F401 - tiny is a fixture
    evaluate_command,
    read_jsonl,
    run_evaluate,
    sample_identity,
    tiny,
    val_files,
)
from tests.helpers.fresh_python import fresh_python

PROMPTS = 12  # 3 validation files x 4 rows
ANSWERS = 2 * PROMPTS * 3  # original and swapped order, 3 samples each


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory):
    """One complete, uninterrupted evaluation of the tiny default."""
    out = tmp_path_factory.mktemp("reference")
    result = run_evaluate(tiny / "model", val_files(tiny), out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_evaluate_samples_scores_and_tabulates(tiny, reference):
    samples = read_jsonl(reference / "tiny.samples.jsonl")
    assert len(samples) == ANSWERS
    truth = {f"{os.path.realpath(path)}:{number}": row.reward_model["ground_truth"]
             for path in val_files(tiny) for number, row in enumerate(pd.read_parquet(path).itertuples(), start=1)}
    for sample in samples:  # scored by the project's reward against the labels of the prompt it answered
        labels = json.loads(truth[sample["prompt_index"]])["labels"]
        assert sample["labels"] == (labels if sample["order"] == "original" else labels[::-1])
        expected = compute_score(sample["data_source"], sample["response"], json.dumps({"labels": sample["labels"]}))
        assert {k: sample[k] for k in ("acc", "score", "score_a", "score_b")} == {
            k: expected[k] for k in ("acc", "score", "score_a", "score_b")}
    assert len({s["response"] for s in samples}) > 1  # sampled, not greedy
    table = pd.read_csv(reference / "pass_at_2.csv")
    assert list(table["tiny prompts"]) == [2] * 6
    assert table["tiny pass@2"].between(0, 100).all() and (table["tiny pass@2"] >= table["tiny pass@1"]).all()
    assert table["tiny order consistency"].between(0, 100).all() and table["tiny Brier"].between(0, 1).all()
    summary = json.loads((reference / "tiny.summary.json").read_text())
    assert summary["prompts"]["kept"] == PROMPTS and summary["prompts"]["swapped"] == PROMPTS
    assert summary["sampled_answers"] == ANSWERS and summary["resumed_prompts"] == 0
    assert summary["rows"]["in_domain_first_correct"]["prompts"] == 2
    machine = json.loads((reference / "pass_at_2.json").read_text())
    assert machine["runs"]["tiny"] == summary["rows"]


def _copy_with_ground_truth(tiny, tmp_path, value):
    frame = pd.read_parquet(tiny / "data" / "val_code_id.parquet")
    frame.at[1, "reward_model"] = {**frame.at[1, "reward_model"], "ground_truth": value}
    path = tmp_path / "val.parquet"
    frame.to_parquet(path)
    return path


@pytest.mark.parametrize("ground_truth", ['{"labels": [true, false]}', '{"labels": [1.0, 0]}'])
def test_labels_the_reward_rejects_stop_the_run_before_any_sample(tiny, tmp_path, ground_truth):
    val = _copy_with_ground_truth(tiny, tmp_path, ground_truth)
    result = run_evaluate(tiny / "model", [val], tmp_path / "eval")
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"{val}, row 2, field 'reward_model.ground_truth'" in result.stderr
    assert "sampling" not in result.stderr and not (tmp_path / "eval" / "tiny.samples.jsonl").exists()


def test_a_bad_merge_file_stops_the_run_before_any_sample(tiny, tmp_path):
    other = tmp_path / "other.samples.jsonl"
    other.write_text(json.dumps({"run": "GRPO", "data_source": "corpo_val_code_id", "prompt_index": "p"}) + "\n")
    result = run_evaluate(tiny / "model", val_files(tiny)[:1], tmp_path / "eval", "--merge", str(other))
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"{other}, row 1, field" in result.stderr and "sampling" not in result.stderr


def test_a_merged_run_with_fewer_than_k_samples_stops_the_run_before_any_sample(tiny, reference, tmp_path):
    """pass@k of a --merge run needs k samples per prompt: said before sampling, not as a traceback after."""
    other = tmp_path / "GRPO.samples.jsonl"
    samples = [{**s, "run": "GRPO"} for s in read_jsonl(reference / "tiny.samples.jsonl") if s["sample_index"] == 0]
    other.write_text("".join(json.dumps(s) + "\n" for s in samples))
    result = run_evaluate(tiny / "model", val_files(tiny)[:1], tmp_path / "eval", "--merge", str(other))
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "sampling" not in result.stderr
    assert f"--merge {other}: run 'GRPO' has 1 sample for some prompts" in result.stderr, result.stderr[-3000:]
    assert "pass@2 needs at least 2" in result.stderr
    assert not (tmp_path / "eval" / "tiny.samples.jsonl").exists()


def test_samples_are_on_disk_as_they_are_scored_and_a_rerun_resumes(tiny, reference, tmp_path):
    out = tmp_path / "eval"
    samples_path = out / "tiny.samples.jsonl"
    command = evaluate_command(tiny / "model", val_files(tiny), out, "--swapped-samples-per-prompt", "0")
    answers = PROMPTS * 3
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.monotonic() + 300
    while (not samples_path.exists() or len(samples_path.read_text().splitlines()) < 3) and process.poll() is None:
        assert time.monotonic() < deadline, "no sample written in 300 s"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # a crash: no clean-up, no final write
    process.communicate()
    on_disk = read_jsonl(samples_path) if samples_path.exists() else []
    assert 3 <= len(on_disk) < answers, f"{len(on_disk)} of {answers} answers on disk when the run was killed"

    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "tiny.summary.json").read_text())
    resumed = summary["resumed_prompts"]
    assert resumed >= 1 and summary["sampled_prompts"] == PROMPTS - resumed and "resuming" in result.stderr
    final = read_jsonl(samples_path)
    assert final[: 3 * resumed] == on_disk[: 3 * resumed]  # kept, not sampled again
    # one seed per prompt: the interrupted and resumed run has the uninterrupted run's answers
    assert sorted(map(sample_identity, final)) == sorted(
        sample_identity(s) for s in read_jsonl(reference / "tiny.samples.jsonl") if s["order"] == "original")


def test_a_rerun_keeps_what_is_on_disk_and_repairs_a_cut_off_file(tiny, reference, tmp_path):
    out = tmp_path / "eval"
    out.mkdir()
    shutil.copy(reference / "tiny.manifest.json", out)
    lines = (reference / "tiny.samples.jsonl").read_text().splitlines()
    kept = [json.loads(line) for line in lines[:14]]  # 4 prompts, then 2 of 3 answers of the next
    kept[0]["response"] = "kept from the first run"
    (out / "tiny.samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in kept) + lines[14][:20])  # cut off
    result = run_evaluate(tiny / "model", val_files(tiny), out)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "tiny.summary.json").read_text())
    assert (summary["resumed_prompts"], summary["sampled_prompts"]) == (4, 2 * PROMPTS - 4)
    final = read_jsonl(out / "tiny.samples.jsonl")
    assert final[:12] == kept[:12] and len(final) == ANSWERS
    expected = [kept[0], *read_jsonl(reference / "tiny.samples.jsonl")[1:]]
    assert sorted(map(sample_identity, final)) == sorted(map(sample_identity, expected))

    other = run_evaluate(tiny / "model", val_files(tiny), out, "--seed", "1")
    assert other.returncode == 2 and "holds samples of another evaluation (seed: 0 on disk, 1 now)" in other.stderr
    assert read_jsonl(out / "tiny.samples.jsonl") == final


def test_a_validation_file_left_by_another_pairs_run_stops_the_run_before_any_sample(tiny, tmp_path):
    from data_prep.formats.split_set import write_split_set

    splits = {split: pd.read_parquet(tiny / "data" / f"{split}.parquet").to_dict("records")
              for split in ("train", "val_code_id", "val_code_ood")}
    write_split_set(tmp_path / "data", splits)
    shutil.copy(tiny / "data" / "val_code_ood.parquet", tmp_path / "data" / "val_code_ood.parquet")  # another run's
    result = run_evaluate(tiny / "model", [tmp_path / "data" / "val_code_id.parquet",
                                          tmp_path / "data" / "val_code_ood.parquet"], tmp_path / "eval")
    assert result.returncode == 2, result.stderr[-3000:]
    assert "val_code_ood.parquet: belongs to set none" in result.stderr and "sampling" not in result.stderr


def test_files_with_the_same_name_in_two_folders_are_two_prompts(tiny, tmp_path):
    frame = pd.read_parquet(tiny / "data" / "val_code_id.parquet")
    first_correct = frame[[json.loads(r["ground_truth"])["labels"] == [1, 0] for r in frame.reward_model]]
    paths = []
    for folder, index in (("a", 0), ("b", 1)):
        (tmp_path / folder).mkdir()
        first_correct.iloc[[index]].to_parquet(tmp_path / folder / "val.parquet")
        paths.append(tmp_path / folder / "val.parquet")
    result = run_evaluate(tiny / "model", paths, tmp_path / "eval", "--swapped-samples-per-prompt", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert len({s["prompt_index"] for s in read_jsonl(tmp_path / "eval" / "tiny.samples.jsonl")}) == 2
    assert pd.read_csv(tmp_path / "eval" / "pass_at_2.csv")["tiny prompts"][0] == 2


def test_validation_rows_outside_the_table_are_reported_before_sampling(tiny, tmp_path):
    frame = pd.read_parquet(tiny / "data" / "val_code_id.parquet")
    frame["data_source"] = "my_validation_set"
    frame.to_parquet(tmp_path / "val.parquet")
    result = run_evaluate(tiny / "model", [tmp_path / "val.parquet"], tmp_path / "eval", "--swapped-samples-per-prompt", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    before, _, after = result.stderr.partition("sampling")
    assert "4 of 4 validation rows fit no table row" in before and "'my_validation_set'" in before
    assert "run 'tiny': 6 samples of 2 prompts with data_source 'my_validation_set', labels [0, 1]" in after


def _verl_checkpoint(step_dir, model_dir, seed):
    """A verl FSDP checkpoint as verl 0.9.1 saves it with one rank (the merger's input), with
    weights of its own; returns those weights."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
    actor = step_dir / "actor"
    shutil.copytree(model_dir, actor / "huggingface", ignore=shutil.ignore_patterns("*.safetensors"))
    torch.save(model.state_dict(), actor / "model_world_size_1_rank_0.pt")
    (actor / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": 1}))
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def test_merged_models_are_cached_per_checkpoint_not_per_run(tiny, tmp_path):
    from safetensors.torch import load_file

    checkpoints = {step: tmp_path / "checkpoints" / f"global_step_{step}" for step in (5, 10)}
    weights = {step: _verl_checkpoint(folder, tiny / "model", seed=step) for step, folder in checkpoints.items()}
    out = tmp_path / "eval"

    def evaluate(step, *extra):  # the same --out and --run every time
        result = run_evaluate(checkpoints[step], val_files(tiny)[:1], out, "--k", "1", "--samples-per-prompt", "1",
                              "--swapped-samples-per-prompt", "0", *extra)
        return result, result.stdout + result.stderr

    def merged_from(step):  # verl's merger writes bf16: compare in its dtype (the checkpoints differ far more)
        merged = json.loads((out / "tiny.summary.json").read_text())["model"]["path"]
        loaded = load_file(os.path.join(merged, "model.safetensors"))
        return all(torch.equal(tensor, weights[step][name].to(tensor.dtype)) for name, tensor in loaded.items())

    result, output = evaluate(5)
    assert result.returncode == 0 and f"merging the verl checkpoint {checkpoints[5] / 'actor'}" in output, output[-3000:]
    result, output = evaluate(10)  # step 5's samples are on disk under this --run: never mixed with step 10's
    assert result.returncode == 2 and "model.fingerprint" in output, output[-3000:]
    assert merged_from(5) and not merged_from(10)
    result, output = evaluate(10, "--restart")
    assert result.returncode == 0 and f"merging the verl checkpoint {checkpoints[10] / 'actor'}" in output, output[-3000:]
    assert merged_from(10)
    result, output = evaluate(5, "--restart")
    assert result.returncode == 0 and "merged earlier from" in output and "merging" not in output, output[-3000:]
    assert merged_from(5)


_VERL_VALIDATION_PROMPTS = """
import json, sys
from pathlib import Path
from hydra import compose, initialize_config_dir
import recipe.corpo
from verl.trainer.ppo.utils import create_rl_dataset
from verl.utils.config import omega_conf_to_dataclass
model, val, length = sys.argv[1:]
with initialize_config_dir(config_dir=str(Path(recipe.corpo.__file__).parent / "config"), version_base=None):
    cfg = compose(config_name="corpo_trainer", overrides=[f"actor_rollout_ref.model.path={model}",
        f"data.val_files=[{val}]", f"data.max_prompt_length={length}", "data.filter_overlong_prompts=true"])
model_config = omega_conf_to_dataclass(cfg.actor_rollout_ref.model)  # as verl's trainer builds its validation set
dataset = create_rl_dataset(cfg.data.val_files, cfg.data, model_config.tokenizer, model_config.processor, is_train=False)
print(json.dumps([row["extra_info"]["index"] for row in dataset.dataframe]))
"""


def test_evaluated_prompts_are_exactly_those_verl_validates_on(tiny, tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny / "model")
    rows = [make_row(split="val_code_id", index=index, problem_id=f"p{index}", source="test",
                     statement="Print a+b. " * repeat, response_a="```python\nprint(a+b)\n```",
                     response_b="```python\nprint(a-b)\n```", labels=[1, 0])
            for index, repeat in enumerate((1, 2, 3, 4, 5, 60))]  # the last one is far over the limit
    lengths = [len(tokenizer.apply_chat_template(r["prompt"], add_generation_prompt=True, tokenize=True,
                                                 return_dict=False)) for r in rows]
    limit = sorted(lengths)[2]  # a prompt of exactly the limit is kept, longer ones are dropped
    assert lengths[-1] > limit and sum(n > limit for n in lengths) >= 2
    val = tmp_path / "val.parquet"
    pd.DataFrame(rows).to_parquet(val)

    verl = fresh_python(_VERL_VALIDATION_PROMPTS.replace("sys.argv[1:]", repr([str(tiny / "model"), str(val), str(limit)])),
                        HF_DATASETS_CACHE=str(tmp_path / "hf-datasets"))
    assert verl.returncode == 0, verl.stderr[-3000:]
    kept_by_verl = json.loads(verl.stdout.strip().splitlines()[-1])
    result = run_evaluate(tiny / "model", [val], tmp_path / "eval", "--max-prompt-length", str(limit), "--k", "1",
                          "--samples-per-prompt", "1", "--swapped-samples-per-prompt", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    evaluated = sorted({int(s["prompt_index"].rsplit(":", 1)[1]) - 1 for s in read_jsonl(tmp_path / "eval" / "tiny.samples.jsonl")})
    assert evaluated == kept_by_verl == [i for i, n in enumerate(lengths) if n <= limit]
    assert f"longer than {limit} tokens dropped" in result.stderr

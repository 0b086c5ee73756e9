"""The three small changes verl 0.9.1 needs to train on a CPU (see docs: "Train on a CPU").

Each one is applied only in a process where ``VERL_PLATFORM=cpu`` and only once:

1. process groups: verl asks torch for ``"cpu:gloo,{device}:{backend}"``, which on the CPU platform
   reads ``"cpu:gloo,cpu:gloo"`` and torch rejects ("Duplicate device type cpu"). Repeated
   ``device:backend`` entries are dropped before torch sees the string.
2. the FSDP engine is registered for cuda/npu only, though its code is device-agnostic:
   ``VERL_ENGINE_DEVICE=cuda`` makes verl's engine registry pick it.
3. FSDP2 forward-only engines (the reference model) use ``CPUOffloadPolicy(pin_memory=True)``,
   and pinning needs an accelerator: the policy is built with ``pin_memory=False``.
"""

from __future__ import annotations

import functools
import os
import sys

import torch.distributed
import torch.distributed.fsdp


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


def apply_cpu_patches() -> None:
    """Apply the three changes above (idempotent)."""
    _dedupe_process_group_backend()
    os.environ.setdefault("VERL_ENGINE_DEVICE", "cuda")
    _unpinned_offload_policy()

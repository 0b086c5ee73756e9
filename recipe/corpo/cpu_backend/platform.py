"""A CPU platform for verl 0.9.1's platform registry (selected with ``VERL_PLATFORM=cpu``).

verl asks its platform for the torch device module (``get_torch_device()``) and calls CUDA-style
memory, stream and RNG functions on it; ``cpu_device_module`` answers them for the CPU (memory
statistics from the OS, no-op caches). Ray still schedules on a "GPU" resource, because verl's
resource pools require one: CPU runs fake it with ``ray_kwargs.ray_init.num_gpus=N``.
"""

from __future__ import annotations

import os
import types
from contextlib import contextmanager
from typing import Any, Optional

import torch
from verl.plugin.platform.platform_base import PlatformBase
from verl.plugin.platform.platform_manager import PlatformRegistry


def _memory_info(device=None) -> tuple[int, int]:
    """(free, total) bytes of host memory, as ``torch.cuda.mem_get_info`` reports device memory."""
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    free = os.sysconf("SC_AVPHYS_PAGES") * page_size
    return free, pages * page_size


def _nothing(*args, **kwargs):
    return None


def _zero(*args, **kwargs):
    return 0


cpu_device_module = types.SimpleNamespace(
    # what torch.cpu has
    is_available=lambda: True,
    device_count=lambda: 1,
    current_device=torch.cpu.current_device,
    set_device=_nothing,
    synchronize=_nothing,
    Stream=torch.cpu.Stream,
    Event=torch.cpu.Event,
    stream=torch.cpu.stream,
    current_stream=torch.cpu.current_stream,
    # what verl calls on torch.cuda, answered for the host
    empty_cache=_nothing,
    ipc_collect=_nothing,
    set_per_process_memory_fraction=_nothing,
    mem_get_info=_memory_info,
    memory_allocated=_zero,
    memory_reserved=_zero,
    max_memory_allocated=_zero,
    max_memory_reserved=_zero,
    reset_peak_memory_stats=_nothing,
    get_rng_state=lambda device=None: torch.get_rng_state(),
    set_rng_state=lambda state, device=None: torch.set_rng_state(state),
    manual_seed=torch.manual_seed,
    manual_seed_all=torch.manual_seed,
    get_device_name=lambda device=None: "cpu",
)


@PlatformRegistry.register(platform="cpu")
class PlatformCPU(PlatformBase):
    """verl on the host CPU: device ``cpu``, collectives over gloo, no IPC."""

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> types.SimpleNamespace:
        return cpu_device_module

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check=False) -> bool:
        # never auto-detected: only chosen explicitly with VERL_PLATFORM=cpu
        return False

    def current_device(self) -> torch.device:
        # verl passes this to ``.to(device=...)``: an int would mean cuda:N
        return torch.device("cpu")

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        pass

    def synchronize(self, device_index: Optional[int] = None) -> None:
        pass

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        pass

    def empty_cache(self) -> None:
        pass

    def get_device_capability(self, device_index: int = 0) -> tuple[Optional[int], Optional[int]]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"

    @contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        pass

    def profiler_stop(self) -> None:
        pass

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_resource_options(self, num_gpus: float) -> dict[str, Any]:
        return {"num_gpus": num_gpus}

    def ray_noset_envvars(self) -> list[str]:
        return ["RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES"]

    def is_ipc_supported(self) -> bool:
        return False

    def cudart(self) -> Any:
        return None

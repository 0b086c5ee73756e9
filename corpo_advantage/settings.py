"""CoRPO hyperparameters, read from verl's ``algorithm`` config (``algorithm.corpo.*``).

verl passes the estimator the raw ``config.algorithm`` (an OmegaConf ``DictConfig``). The recipe
YAML declares ``algorithm.corpo``; with stock ``verl.trainer.main_ppo`` users add the keys with
``+algorithm.corpo.r_min_correct=...``. Missing keys take the defaults below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from corpo_advantage.reward import R_MIN_CORRECT


@dataclass(frozen=True)
class CorpoSettings:
    """``algorithm.corpo``: ``r_min_correct`` (None = the reward's ``R_MIN_CORRECT``),
    ``norm_by_std`` (divide A by group std + epsilon) and ``epsilon``."""

    r_min_correct: float = R_MIN_CORRECT
    norm_by_std: bool = False
    epsilon: float = 1e-6

    @classmethod
    def from_algorithm_config(cls, config: Mapping[str, Any] | None) -> "CorpoSettings":
        """Validate and read ``config.corpo``; ``config`` may be None (all defaults)."""
        section = (config.get("corpo", None) if config is not None else None) or {}
        r_min = section.get("r_min_correct", None)
        r_min = R_MIN_CORRECT if r_min is None else _finite_float("algorithm.corpo.r_min_correct", r_min)
        epsilon = _finite_float("algorithm.corpo.epsilon", section.get("epsilon", cls.epsilon))
        if epsilon <= 0:
            raise ValueError(f"algorithm.corpo.epsilon must be > 0, got {epsilon}")
        norm_by_std = section.get("norm_by_std", cls.norm_by_std)
        if not isinstance(norm_by_std, bool):
            raise ValueError(f"algorithm.corpo.norm_by_std must be true or false, got {norm_by_std!r}")
        return cls(r_min_correct=r_min, norm_by_std=norm_by_std, epsilon=epsilon)


def _finite_float(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number

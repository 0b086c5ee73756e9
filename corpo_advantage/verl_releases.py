"""What differs between verl releases for this plugin: how verl finds it, and how a stock
``python -m verl.trainer.main_ppo`` run names the estimator, its settings and the reward.

Read from each release's wheel (file:line references in docs/verl_versions.md) and exercised on each
tested release by tests/test_verl_releases.py. Every release computes advantages in the process that
runs the trainer's ``fit`` (the TaskRunner Ray actor) and passes the estimator ``config.algorithm``
as an OmegaConf ``DictConfig``, so ``+algorithm.corpo.*`` reaches it unchanged everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

#: the releases tested by tests/test_verl_releases.py (setup.py accepts verl from the first up to
#: the next minor release after the last)
TESTED = ("0.5.0", "0.6.1", "0.7.1", "0.8.0", "0.9.0", "0.9.1")
#: the only release the recipe (``recipe.corpo``) runs on
RECIPE_RELEASE = "0.9.1"

ENTRY_POINT = "entry point"
EXTERNAL_MODULES = "VERL_USE_EXTERNAL_MODULES"
REWARD_FILE = "reward file"

PLUGIN_MODULE = "corpo_advantage.plugin"
#: verl 0.5 imports no plugin; this file, given as the reward function, registers the estimators in
#: the trainer's process when verl loads the reward (before the first step)
REWARD_WITH_ESTIMATORS = Path(__file__).with_name("reward_with_estimators.py")


def release(version: str) -> tuple[int, int, int]:
    """``"0.8.0"`` -> ``(0, 8, 0)``; pre-release and local parts (``0.10.0.dev0``) are ignored."""
    return (*Version(version).release, 0, 0)[:3]


def in_tested_range(version: str) -> bool:
    return release(TESTED[0]) <= release(version) < (0, 10, 0)


@dataclass(frozen=True)
class HowFound:
    """How one verl release finds the plugin, and the stock-verl overrides that use it."""

    mechanism: str  # ENTRY_POINT, EXTERNAL_MODULES or REWARD_FILE
    explanation: str
    environment: dict[str, str]
    reward_overrides: tuple[str, ...]

    def command(self, estimator: str = "corpo") -> str:
        variables = "".join(f"{name}={value} " for name, value in self.environment.items())
        overrides = " ".join((f"algorithm.adv_estimator={estimator}", *self.reward_overrides))
        return f"{variables}python -m verl.trainer.main_ppo ... {overrides}"


def how_found(version: str) -> HowFound:
    """The way ``version`` of verl finds the plugin (releases before 0.5.0 are not supported)."""
    key = release(version)
    if key >= (0, 9, 0):
        return HowFound(
            ENTRY_POINT,
            "verl imports every `verl.plugins` entry point at `import verl`, in every process; this package "
            "declares one (import errors are logged at DEBUG only)",
            {}, _reward_by_package())
    if key >= (0, 6, 0):
        return HowFound(
            EXTERNAL_MODULES,
            "verl imports the modules named in VERL_USE_EXTERNAL_MODULES at `import verl`, in every process "
            "(it loads no entry points before 0.9.0); Ray processes started by the run inherit the variable",
            {EXTERNAL_MODULES: PLUGIN_MODULE},
            _reward_by_package() if key >= (0, 7, 0) else _reward_by_file(Path(__file__).with_name("reward.py")))
    if key >= (0, 5, 0):
        return HowFound(
            REWARD_FILE,
            "verl 0.5 imports no plugin module; it loads the custom reward file in the trainer's process "
            f"before the first step, and {REWARD_WITH_ESTIMATORS.name} registers the estimators on the way",
            {}, _reward_by_file(REWARD_WITH_ESTIMATORS))
    raise ValueError(f"verl {version} is older than {TESTED[0]}, the oldest release this package supports")


def _reward_by_package() -> tuple[str, ...]:
    # verl >= 0.7: `reward.custom_reward_function`, and `pkg://` module paths (utils/import_utils.py load_module)
    return ("reward.custom_reward_function.path=pkg://corpo_advantage.reward",
            "reward.custom_reward_function.name=compute_score")


def _reward_by_file(path: Path) -> tuple[str, ...]:
    # verl 0.5 and 0.6: the top-level `custom_reward_function`, a file path only (spec_from_file_location)
    return (f"custom_reward_function.path={path}", "custom_reward_function.name=compute_score")

"""The recipe runs on one verl release: importing ``recipe.corpo`` under another stops with one line.

The trainer subclass, the CPU backend and the paper scripts use verl 0.9.1's internals (its v1
trainer, its TransferQueue batches, the functions the CPU backend patches); another release would
fail somewhere inside a run. The estimators and the reward need none of it and work with every
release in ``corpo_advantage.verl_releases.TESTED``: the message says how.
"""

from __future__ import annotations

from corpo_advantage.verl_releases import RECIPE_RELEASE, how_found, in_tested_range
from recipe.corpo.launch.installed import installed_version


def mismatch(installed: str | None) -> str | None:
    """The one-line refusal for ``installed`` (None: verl not installed), or None when it is the recipe's release."""
    if installed == RECIPE_RELEASE:
        return None
    if installed is None:
        return f"recipe.corpo needs verl {RECIPE_RELEASE}, which is not installed: pip install 'verl-corpo[recipe]'"
    line = (f"recipe.corpo needs verl {RECIPE_RELEASE}, installed is verl {installed}: "
            f"pip install 'verl-corpo[recipe]' installs {RECIPE_RELEASE}")
    if in_tested_range(installed):
        line += (f"; or keep verl {installed} and run stock verl with the CoRPO estimator: "
                 f"{how_found(installed).command()} (python -m corpo_advantage.plugin checks it)")
    return line


def require_recipe_verl() -> None:
    if (message := mismatch(installed_version("verl"))) is not None:
        raise SystemExit(message)

"""The recipe runs on one verl release, with its extra installed: importing ``recipe.corpo`` otherwise
stops with one line.

The trainer subclass, the CPU backend and the paper scripts use verl 0.9.1's internals (its v1
trainer, its TransferQueue batches, the functions the CPU backend patches); another release would
fail somewhere inside a run. The estimators and the reward need none of it and work with every
release in ``corpo_advantage.verl_releases.TESTED``: the message says how.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util

from packaging.requirements import Requirement

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


def missing_recipe_packages() -> list[str]:
    """The ``recipe`` extra's requirements that are not installed (verl's ``verl-core`` extra is
    represented by TransferQueue, which verl's v1 trainer imports)."""
    try:
        requirements = [Requirement(r) for r in importlib.metadata.requires("verl-corpo") or []]
    except importlib.metadata.PackageNotFoundError:  # a source tree on the path, not installed
        requirements = []
    missing = [r.name for r in requirements
               if r.marker is not None and r.marker.evaluate({"extra": "recipe"})
               and not r.marker.evaluate({"extra": ""}) and installed_version(r.name) is None]
    if importlib.util.find_spec("transfer_queue") is None:
        missing.append("TransferQueue (verl[verl-core])")
    return missing


def require_recipe_verl() -> None:
    if (message := mismatch(installed_version("verl"))) is not None:
        raise SystemExit(message)
    if missing := missing_recipe_packages():
        raise SystemExit(f"recipe.corpo needs the `recipe` extra, missing: {', '.join(missing)}: "
                         "pip install 'verl-corpo[recipe]'")

"""Does the installed verl find the estimators? ``python -m corpo_advantage.plugin`` runs :func:`main`.

A broken install otherwise looks like ``Unknown advantage estimator simply: corpo`` minutes into a
run: verl >= 0.9 logs a plugin's import error at DEBUG only, and verl < 0.9 loads no entry points at
all. This check imports verl the way each of a run's processes does, says whether that registered
``corpo`` and ``corpo_static``, and if not why (the import error itself, or the variable to set),
then prints the overrides a stock ``verl.trainer.main_ppo`` run needs with this verl release.
"""

from __future__ import annotations

import os
import sys
import traceback
from importlib.metadata import PackageNotFoundError, entry_points, version

from corpo_advantage.verl_releases import (
    ENTRY_POINT,
    EXTERNAL_MODULES,
    PLUGIN_MODULE,
    REWARD_FILE,
    TESTED,
    HowFound,
    how_found,
    in_tested_range,
)

ESTIMATOR_NAMES = ("corpo", "corpo_static")


def registered(names=ESTIMATOR_NAMES) -> dict[str, str]:
    """``{name: "module.function"}`` for the names verl's estimator registry holds now."""
    from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY

    return {name: f"{fn.__module__}.{fn.__name__}" for name in names if (fn := ADV_ESTIMATOR_REGISTRY.get(name))}


def require_estimator(name: str) -> None:
    """Raise ``ValueError`` naming the registered estimators when verl's registry lacks ``name``
    (a typo, or a plugin verl did not load), before anything expensive starts."""
    from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY

    if str(name) not in ADV_ESTIMATOR_REGISTRY:
        hint = (" The CoRPO estimators are missing: `python -m corpo_advantage.plugin` says why."
                if not registered() else "")
        raise ValueError(f"algorithm.adv_estimator={name} is not a registered advantage estimator; "
                         f"registered: {', '.join(sorted(ADV_ESTIMATOR_REGISTRY))}.{hint}")


def _why_not_registered(how: HowFound) -> list[str]:
    """Lines saying why ``import verl`` left the estimators unregistered."""
    if how.mechanism == EXTERNAL_MODULES:
        value = os.environ.get(EXTERNAL_MODULES, "")
        if PLUGIN_MODULE not in value.split(","):
            return [f"{EXTERNAL_MODULES} does not name {PLUGIN_MODULE} (it is {value!r}): "
                    f"export {EXTERNAL_MODULES}={PLUGIN_MODULE}" + (f",{value}" if value else "")]
        return [f"{EXTERNAL_MODULES} names {PLUGIN_MODULE}, yet nothing was registered"]
    if how.mechanism == ENTRY_POINT:
        ours = [ep for ep in entry_points(group="verl.plugins") if ep.value == PLUGIN_MODULE]
        if not ours:
            return ["the `verl.plugins` entry point of verl-corpo is not installed: reinstall (pip install verl-corpo)"]
        policy = os.environ.get("VERL_USE_EXTERNAL_PLUGINS", "auto").strip().lower()
        allowed = {name.strip() for name in policy.split(",")}
        if policy == "none" or (policy != "auto" and ours[0].name not in allowed):
            return [f"VERL_USE_EXTERNAL_PLUGINS={policy!r} keeps verl from loading the entry point "
                    f"{ours[0].name!r}: unset it, or include {ours[0].name}, or set {EXTERNAL_MODULES}={PLUGIN_MODULE}"]
        try:
            ours[0].load()
        except Exception:  # noqa: BLE001  (the point is to show it)
            return ["verl could not import the plugin (it logs this at DEBUG only):",
                    *traceback.format_exc().rstrip().splitlines()]
        return ["the entry point imports cleanly now, yet `import verl` registered nothing"]
    return []


def main(out=print) -> int:
    """Print the report; 0 when verl's own loading registers both estimators, 1 otherwise."""
    try:
        installed = version("verl")
    except PackageNotFoundError:
        out("verl is not installed: install the verl you train with first (this package supports "
            f"{TESTED[0]} to {TESTED[-1]}), or `pip install 'verl-corpo[recipe]'` for the recipe's verl")
        return 1
    try:
        how = how_found(installed)
    except ValueError as err:
        out(str(err))
        return 1
    tested = "tested" if installed in TESTED else (
        "in the supported range, not itself tested" if in_tested_range(installed)
        else f"NOT in the tested range {TESTED[0]}-{TESTED[-1]}")
    out(f"verl {installed} ({tested}): found by {how.mechanism}: {how.explanation}.")
    try:
        import verl  # noqa: F401  (what every process of a run does first)
    except Exception:  # noqa: BLE001
        out("`import verl` failed" + (f" (it imports {os.environ[EXTERNAL_MODULES]!r} from {EXTERNAL_MODULES})"
                                      if os.environ.get(EXTERNAL_MODULES) else "") + ":")
        out(traceback.format_exc().rstrip())
        return 1
    found = registered()
    if how.mechanism == REWARD_FILE and not found:
        try:
            import corpo_advantage.reward_with_estimators  # noqa: F401  (what verl 0.5's reward loading does)
        except Exception:  # noqa: BLE001
            out("importing the reward file failed:")
            out(traceback.format_exc().rstrip())
            return 1
        found = registered()
        out("registered once verl loads the reward file:" if found else "loading the reward file registered nothing")
    ok = set(found) == set(ESTIMATOR_NAMES)
    if not ok:
        out(f"NOT registered after `import verl`: {', '.join(n for n in ESTIMATOR_NAMES if n not in found)}")
        for line in _why_not_registered(how):
            out(f"  {line}")
    for name, function in found.items():
        out(f"  {name}: {function}")
    out("stock verl with the estimator, its settings (optional) and the reward:")
    out(f"  {how.command()} +algorithm.corpo.r_min_correct=0.0")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

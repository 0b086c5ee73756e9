"""verl plugin module (entry point ``verl.plugins: corpo``).

verl imports every ``verl.plugins`` entry point at ``import verl``, in every process, and swallows
import errors at DEBUG level. Importing this module registers the ``corpo`` and ``corpo_static``
advantage estimators; ``python -m corpo_advantage.plugin`` checks that the registration works.
"""

from corpo_advantage import estimators  # noqa: F401  (registers the estimators)

ESTIMATOR_NAMES = ("corpo", "corpo_static")

if __name__ == "__main__":
    from verl.trainer.ppo.core_algos import get_adv_estimator_fn

    for name in ESTIMATOR_NAMES:
        print(f"{name}: {get_adv_estimator_fn(name).__module__}.{get_adv_estimator_fn(name).__name__}")

"""The verifier's reward for verl's custom-reward hook, registering the estimators on the way.

For verl 0.5, which imports no plugin module: it loads the file given as
``custom_reward_function.path`` in the trainer's process before the first step, which is the
process that computes the advantages, so ``algorithm.adv_estimator=corpo`` resolves there::

    python -m verl.trainer.main_ppo ... algorithm.adv_estimator=corpo \\
        custom_reward_function.path=$(python -c "import corpo_advantage.reward_with_estimators as m; print(m.__file__)") \\
        custom_reward_function.name=compute_score

(``python -m corpo_advantage.plugin`` prints this line for the installed verl.) verl loads the file
under its own module name; the imports below are ordinary ones, so the estimators are registered
once per process whatever the reward module is called.
"""

import corpo_advantage.plugin  # noqa: F401  (registers corpo and corpo_static)
from corpo_advantage.reward import compute_score

__all__ = ["compute_score"]

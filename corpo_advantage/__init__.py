"""CoRPO for verl: advantage estimators, training diagnostics and the verifier's reward.

Importing this package is cheap; the estimators are registered in verl's registry by
``corpo_advantage.plugin``, which verl imports itself (the ``verl.plugins`` entry point from 0.9.0,
``VERL_USE_EXTERNAL_MODULES`` before: ``corpo_advantage.verl_releases``).
"""

"""CoRPO for verl: advantage estimators, training diagnostics and the verifier's reward.

Importing this package is cheap; the estimators are registered in verl's registry by
``corpo_advantage.plugin`` (loaded by verl itself through the ``verl.plugins`` entry point).
"""

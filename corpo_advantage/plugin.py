"""verl plugin module: importing it registers the ``corpo`` and ``corpo_static`` advantage estimators.

How verl imports it depends on the release (``corpo_advantage.verl_releases``, docs/verl_versions.md):
the ``verl.plugins`` entry point from 0.9.0 (at ``import verl``, in every process; import errors are
logged at DEBUG only), ``VERL_USE_EXTERNAL_MODULES=corpo_advantage.plugin`` in 0.6-0.8, and the
reward file ``corpo_advantage/reward_with_estimators.py`` in 0.5.

``python -m corpo_advantage.plugin`` checks that the installed verl registers them, and says why not.
"""

if __name__ == "__main__":
    import sys

    from corpo_advantage.install_check import main

    sys.exit(main())
else:
    from corpo_advantage import estimators  # noqa: F401  (registers the estimators)

"""A misconfigured run says why: the plugin check, and the recipe's checks before Ray starts."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import corpo_advantage
from corpo_advantage.verl_releases import RECIPE_RELEASE
from tests.helpers.fresh_python import VERL_MODULE_VARIABLES


def _run(arguments, **env):
    environment = {k: v for k, v in os.environ.items() if k not in VERL_MODULE_VARIABLES}
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, timeout=300,
                          env={**environment, **env}, cwd="/")


def test_the_check_passes_through_the_entry_point():
    result = _run(["-m", "corpo_advantage.plugin"])
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert f"verl {RECIPE_RELEASE} (tested): found by entry point" in result.stdout
    assert "corpo_static: corpo_advantage.estimators.compute_corpo_static_outcome_advantage" in result.stdout


def test_the_check_says_when_plugins_are_switched_off():
    result = _run(["-m", "corpo_advantage.plugin"], VERL_USE_EXTERNAL_PLUGINS="none")
    assert result.returncode == 1
    assert "NOT registered after `import verl`: corpo, corpo_static" in result.stdout
    assert "VERL_USE_EXTERNAL_PLUGINS='none' keeps verl from loading the entry point 'corpo'" in result.stdout


def test_the_check_shows_the_import_error_verl_logs_at_debug(tmp_path):
    # a broken install: this package, first on the path, with estimators that cannot be imported
    shutil.copytree(Path(corpo_advantage.__file__).parent, tmp_path / "corpo_advantage")
    (tmp_path / "corpo_advantage" / "estimators.py").write_text("raise ImportError('torch is broken here')\n")
    result = _run(["-m", "corpo_advantage.plugin"], PYTHONPATH=str(tmp_path))
    assert result.returncode == 1
    assert "verl could not import the plugin (it logs this at DEBUG only):" in result.stdout
    assert "ImportError: torch is broken here" in result.stdout


def test_the_recipe_refuses_an_unknown_estimator_before_ray_starts():
    result = _run(["-m", "recipe.corpo.main_corpo", "algorithm.adv_estimator=copro"])
    assert result.returncode != 0
    assert "algorithm.adv_estimator=copro is not a registered advantage estimator; registered: " in result.stderr
    assert "corpo, corpo_static" in result.stderr
    assert "ray init" not in result.stdout + result.stderr and "Started a local Ray instance" not in result.stderr

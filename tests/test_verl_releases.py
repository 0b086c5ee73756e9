"""The compatibility matrix: the estimators and the reward through every tested verl release's own code.

Each release runs in its own environment (tests/helpers/verl_releases.py: this venv with that verl first on
the path, built on first use under .cache/verl_releases/). For each release: its trainer config with
the documented overrides, its reward loader, its ``compute_advantage`` on a ``DataProto``
(tests/helpers/verl_release_probe.py), with the plugin found the way that release finds it
(``corpo_advantage.verl_releases``), and ``python -m corpo_advantage.plugin`` saying so.
"""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from corpo_advantage.reward import compute_score
from corpo_advantage.verl_releases import (
    ENTRY_POINT,
    EXTERNAL_MODULES,
    PLUGIN_MODULE,
    RECIPE_RELEASE,
    REWARD_FILE,
    TESTED,
    how_found,
)
from tests.helpers import verl_release_probe as probe
from tests.helpers.verl_releases import REPO, release_folder, run_in_release

PROBE = str(REPO / "tests" / "helpers" / "verl_release_probe.py")
#: group g (0.1, 0.3): mean 0.2 < r_min_correct 0.5 set by +algorithm.corpo.r_min_correct, baseline 0.5
#: (with the default 0.0 it would be 0.2); group h (0.6, 1.0): mean 0.8, GRPO's baseline
EXPECTED_ADVANTAGES = [-0.4, -0.2, -0.2, 0.2]


RECIPE_ELSEWHERE = "0.8.0"
#: every interpreter the module needs, by (what, release): (arguments, environment)
JOBS = {
    **{("probe", v): ([PROBE], how_found(v).environment) for v in TESTED},
    **{("check", v): (["-m", PLUGIN_MODULE], how_found(v).environment) for v in TESTED},
    **{("check without the variable", v): (["-m", PLUGIN_MODULE], {})
       for v in TESTED if how_found(v).mechanism == EXTERNAL_MODULES},
    ("recipe", RECIPE_ELSEWHERE): (["-c", "import recipe.corpo.main_corpo"], {}),
}


@pytest.fixture(scope="module")
def runs():
    """Every job's ``CompletedProcess``: the release folders built first (pip), then the jobs side by
    side (each mostly imports torch and verl: the matrix takes the time of the slowest few)."""
    for version in TESTED:
        release_folder(version)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        futures = {key: pool.submit(run_in_release, key[1], arguments, **env) for key, (arguments, env) in JOBS.items()}
        return {key: future.result() for key, future in futures.items()}


def _last_json_line(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("version", TESTED)
def test_estimator_and_reward_through_the_releases_own_code(version, runs):
    how = how_found(version)
    result = runs["probe", version]
    assert result.returncode == 0, result.stderr[-4000:]
    found = _last_json_line(result.stdout)
    assert found["verl"] == version
    assert found["advantages"] == pytest.approx(EXPECTED_ADVANTAGES, abs=1e-6)
    assert found["reward"] == compute_score("probe", probe.RESPONSE, probe.GROUND_TRUTH)
    if how.mechanism == REWARD_FILE:  # verl 0.5: registered by loading the reward, before any advantage
        assert not found["registered_at_import"] and found["registered_after_reward_load"]
    else:
        assert found["registered_at_import"]


@pytest.mark.parametrize("version", TESTED)
def test_the_check_says_how_each_release_finds_the_plugin(version, runs):
    how = how_found(version)
    result = runs["check", version]
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert f"verl {version} (tested): found by {how.mechanism}" in result.stdout
    assert "corpo: corpo_advantage.estimators.compute_corpo_outcome_advantage" in result.stdout
    assert how.command() in result.stdout
    if how.mechanism == ENTRY_POINT:
        assert not how.environment


@pytest.mark.parametrize("version", [v for v in TESTED if how_found(v).mechanism == EXTERNAL_MODULES])
def test_without_the_variable_the_release_does_not_find_it_and_the_check_says_what_to_set(version, runs):
    # the entry point is installed, yet releases before 0.9.0 do not load it: the variable is what registers
    result = runs["check without the variable", version]
    assert result.returncode == 1
    assert "NOT registered after `import verl`: corpo, corpo_static" in result.stdout
    assert f"export {EXTERNAL_MODULES}={PLUGIN_MODULE}" in result.stdout


def test_the_recipe_stops_with_one_line_under_another_release(runs):
    version = RECIPE_ELSEWHERE
    result = runs["recipe", version]
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"needs verl {RECIPE_RELEASE}, installed is verl {version}" in lines[0]
    assert "pip install 'verl-corpo[recipe]'" in lines[0]
    assert how_found(version).command() in lines[0]


def test_the_install_accepts_exactly_the_supported_range():
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    from corpo_advantage.verl_releases import in_tested_range

    base = [Requirement(r) for r in requires("verl-corpo") if "extra ==" not in r]
    assert [r.name for r in base] == ["verl"] and not base[0].extras  # nothing else forced on a verl user
    for version in (*TESTED, "0.4.9", "0.9.9", "0.10.0", "0.10.0.dev0"):
        assert base[0].specifier.contains(version, prereleases=True) == in_tested_range(version), version

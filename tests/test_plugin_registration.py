"""The estimators reach verl through the installed `verl.plugins` entry point, in a fresh interpreter."""

from importlib.metadata import entry_points

from tests.helpers.fresh_python import fresh_python

CHECK = """
import verl
from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY, get_adv_estimator_fn
assert get_adv_estimator_fn("corpo").__module__ == "corpo_advantage.estimators", get_adv_estimator_fn("corpo")
assert get_adv_estimator_fn("corpo_static").__module__ == "corpo_advantage.estimators"
print("registered:", sorted(n for n in ADV_ESTIMATOR_REGISTRY if n.startswith("corpo")))
"""


def test_entry_point_is_declared_by_the_installed_distribution():
    names = {ep.name: ep.value for ep in entry_points(group="verl.plugins")}
    assert names.get("corpo") == "corpo_advantage.plugin"


def test_plain_import_verl_registers_the_estimators_in_a_fresh_interpreter():
    result = fresh_python(CHECK)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "registered: ['corpo', 'corpo_static']" in result.stdout


def test_plugins_disabled_means_not_registered():
    # proves the registration above comes from verl's entry-point loading, not from elsewhere
    result = fresh_python(CHECK, VERL_USE_EXTERNAL_PLUGINS="none")
    assert result.returncode != 0
    assert "Unknown advantage estimator simply: corpo" in result.stderr

"""Hydra composition of the recipe config (inherits verl's ppo_trainer) and of stock verl + our keys."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException

import recipe.corpo
from corpo_advantage.reward import R_MIN_CORRECT
from corpo_advantage.settings import CorpoSettings

RECIPE_CONFIG_DIR = str(Path(recipe.corpo.__file__).parent / "config")


@pytest.fixture(autouse=True)
def _clear_hydra():
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


def compose_recipe(overrides=()):
    with initialize_config_dir(config_dir=RECIPE_CONFIG_DIR, version_base=None):
        return compose(config_name="corpo_trainer", overrides=list(overrides))


def test_recipe_inherits_ppo_trainer_and_sets_corpo():
    cfg = compose_recipe()
    assert cfg.algorithm.adv_estimator == "corpo"
    assert cfg.algorithm.use_kl_in_reward is False
    assert cfg.reward.custom_reward_function.path == "pkg://corpo_advantage.reward"
    assert cfg.reward.custom_reward_function.name == "compute_score"
    # inherited from verl's ppo_trainer.yaml
    assert cfg.trainer.use_v1 is True and cfg.trainer.v1.trainer_mode == "sync"
    assert "actor" in cfg.actor_rollout_ref


def test_default_threshold_is_the_rewards_constant():
    settings = CorpoSettings.from_algorithm_config(compose_recipe().algorithm)
    assert settings == CorpoSettings(r_min_correct=R_MIN_CORRECT, norm_by_std=False, epsilon=1e-6)


def test_plain_overrides_of_corpo_keys_work():
    cfg = compose_recipe(
        ["algorithm.corpo.r_min_correct=0.5", "algorithm.corpo.norm_by_std=true", "algorithm.adv_estimator=corpo_static"]
    )
    settings = CorpoSettings.from_algorithm_config(cfg.algorithm)
    assert settings.r_min_correct == 0.5 and settings.norm_by_std is True
    assert cfg.algorithm.adv_estimator == "corpo_static"


def test_misspelled_corpo_key_is_rejected():
    with pytest.raises(ConfigCompositionException):
        compose_recipe(["algorithm.corpo.r_min_corect=0.5"])


def test_stock_verl_config_takes_corpo_keys_with_plus():
    with initialize_config_module(config_module="verl.trainer.config", version_base=None):
        with pytest.raises(ConfigCompositionException):
            compose(config_name="ppo_trainer", overrides=["algorithm.corpo.r_min_correct=0.5"])
        cfg = compose(
            config_name="ppo_trainer",
            overrides=["algorithm.adv_estimator=corpo", "+algorithm.corpo.r_min_correct=0.5"],
        )
    assert CorpoSettings.from_algorithm_config(cfg.algorithm).r_min_correct == 0.5
    assert CorpoSettings.from_algorithm_config(cfg.algorithm).epsilon == 1e-6


def test_recipe_main_refuses_non_sync_trainers():
    from recipe.corpo.main_corpo import check_trainer_mode

    check_trainer_mode(compose_recipe())
    with pytest.raises(ValueError, match="v1 sync trainer"):
        check_trainer_mode(compose_recipe(["trainer.use_v1=false"]))
    with pytest.raises(ValueError, match="v1 sync trainer"):
        check_trainer_mode(compose_recipe(["trainer.v1.trainer_mode=colocate_async"]))

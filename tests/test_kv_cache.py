"""vLLM's KV cache on a CPU, sized from the model and the free memory (corpo_sampling.kv_cache)."""

import argparse

import pytest
from transformers import AutoConfig, Qwen3Config

from corpo_sampling import kv_cache
from corpo_sampling.engine import add_engine_arguments, engine_settings
from tests.helpers.eval_fixtures import tiny  # noqa: F401 - fixture

GIB = kv_cache.GIB


def test_bytes_per_token_of_the_tiny_default(tiny):
    config = AutoConfig.from_pretrained(tiny / "model")
    # keys and values x 2 layers x 1 KV head x head_dim 32 x float32
    assert kv_cache.bytes_per_token(config) == 2 * 2 * 1 * 32 * 4
    assert kv_cache.context_length(config) == 2048


def test_bytes_per_token_of_a_qwen3_8b_shaped_config():
    config = Qwen3Config(num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                         hidden_size=4096, max_position_embeddings=40960, dtype="bfloat16")
    assert kv_cache.bytes_per_token(config) == 2 * 36 * 8 * 128 * 2  # 144 KiB per token


def test_room_for_the_sequences_when_memory_allows():
    choice = kv_cache.choose(per_token=512, context=2048, available=16 * GIB)
    assert choice.bytes == 512 * 2048 * kv_cache.SEQUENCES
    assert f"{kv_cache.SEQUENCES} sequences of 2048 tokens" in choice.reason


def test_capped_at_a_share_of_the_available_memory():
    per_token, context = 147456, 8192  # 1.125 GiB per sequence
    choice = kv_cache.choose(per_token, context, available=16 * GIB)
    assert choice.bytes == int(16 * GIB * kv_cache.MEMORY_SHARE)
    assert choice.bytes >= per_token * context


def test_one_sequence_that_does_not_fit_is_refused_with_the_flag_to_use():
    with pytest.raises(ValueError, match=r"one sequence of the model's 40960 tokens needs 5.62 GiB .* --kv-cache-gib"):
        kv_cache.choose(per_token=147456, context=40960, available=16 * GIB)


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_the_flag_must_be_positive(value):
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser, temperature=0.6, top_p=0.95, max_new_tokens=8)
    with pytest.raises(ValueError, match="--kv-cache-gib must be > 0"):
        engine_settings(parser.parse_args(["--kv-cache-gib", value]), "model", "vllm")


def test_the_flag_reaches_the_engine_settings():
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser, temperature=0.6, top_p=0.95, max_new_tokens=8)
    assert engine_settings(parser.parse_args(["--kv-cache-gib", "0.5"]), "model", "vllm").kv_cache_gib == 0.5
    assert engine_settings(parser.parse_args([]), "model", "vllm").kv_cache_gib is None

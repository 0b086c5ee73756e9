"""vLLM's KV-cache size on a CPU, chosen from the model and the machine when nobody chose one.

Without ``VLLM_CPU_KVCACHE_SPACE`` or ``kv_cache_memory_bytes``, vLLM's CPU backend reserves
``gpu_memory_utilization`` (0.92) of the NUMA node's memory and refuses to start when that much is
not free ("Available memory on node 0 (16.2/17.71 GiB) on startup is less than desired CPU memory
utilization"), which is the case on most machines that run anything else. We size it instead:
room for :data:`SEQUENCES` sequences of the model's full context, at most :data:`MEMORY_SHARE` of the
memory available now, and at least one full-context sequence (vLLM's own minimum).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

GIB = 1 << 30
#: full-context sequences the chosen cache holds (more are scheduled as others finish)
SEQUENCES = 32
#: the largest share of the memory available at start-up the cache may take
MEMORY_SHARE = 0.25
_DTYPE_BYTES = {"float32": 4, "float": 4, "float64": 8, "bfloat16": 2, "float16": 2, "half": 2}


@dataclass(frozen=True)
class KvCacheChoice:
    bytes: int
    reason: str


def bytes_per_token(config) -> int:
    """Keys and values of every layer for one token (a transformers ``PretrainedConfig``)."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    heads = text.num_attention_heads
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
    dtype = str(getattr(text, "dtype", None) or getattr(text, "torch_dtype", None) or "bfloat16").replace("torch.", "")
    return 2 * text.num_hidden_layers * kv_heads * head_dim * _DTYPE_BYTES.get(dtype, 2)


def context_length(config) -> int:
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return int(getattr(text, "max_position_embeddings", None) or 4096)


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``)."""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def choose(per_token: int, context: int, available: int) -> KvCacheChoice:
    """The cache for a model needing ``per_token`` bytes per token with ``context`` tokens of context,
    when ``available`` bytes are free; ``ValueError`` when one full-context sequence does not fit."""
    one_sequence = per_token * context
    cap = int(available * MEMORY_SHARE)
    if one_sequence > cap:
        raise ValueError(
            f"vLLM on CPU: one sequence of the model's {context} tokens needs {one_sequence / GIB:.2f} GiB of KV "
            f"cache, more than {MEMORY_SHARE:.0%} of the {available / GIB:.1f} GiB available; choose it with "
            "--kv-cache-gib (or VLLM_CPU_KVCACHE_SPACE, in GiB)")
    size = min(one_sequence * SEQUENCES, cap)
    return KvCacheChoice(size, f"{size / GIB:.3f} GiB: {size // one_sequence} sequences of {context} tokens x "
                               f"{per_token} bytes/token, at most {MEMORY_SHARE:.0%} of the {available / GIB:.1f} GiB "
                               "available (--kv-cache-gib to choose)")


def choose_for_model(model: str) -> KvCacheChoice:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model)
    return choose(bytes_per_token(config), context_length(config), available_memory())

"""Sampling n answers per prompt from a local model (run many requests with
:func:`corpo_sampling.launcher.sample`): the engine behind ``data_prep generate`` and
``recipe.corpo.evaluation.evaluate``.

Callers render their prompts to token ids themselves (so the chat template is theirs to choose)
and hand over :class:`Request` objects; answers come back, as they finish, as
``(request, [text, ...])``.

- **Backends.** ``vllm``: vLLM's offline ``LLM.generate`` on token-id prompts (GPUs, or a CPU with
  the ``vllm-cpu`` distribution, where ``enforce_eager`` is the default and the KV cache is
  ``--kv-cache-gib``, else ``VLLM_CPU_KVCACHE_SPACE`` (GiB), else sized from the model and the free
  memory by ``corpo_sampling.kv_cache``). ``transformers``: ``generate`` one prompt
  at a time (CPU or one GPU per rank; small models).
- **Seeds.** Every request carries its own seed (:func:`request_seed`, from the run's seed and the
  request's key), so a prompt's answers do not depend on which other prompts are sampled, in
  which order, on which rank, or whether a run was resumed. With the same seed, backend and
  hardware the same answers come back.
- **Parallelism.** ``tensor_parallel_size`` GPUs per engine (vLLM) and ``data_parallel_size``
  engines, each in its own process with its own ``CUDA_VISIBLE_DEVICES`` slice, each taking every
  ``data_parallel_size``-th request (one engine per data-parallel rank: vLLM's own recipe for
  offline data parallelism). ``auto`` uses every visible GPU: ``GPUs // tensor_parallel_size``
  ranks; one rank without a GPU. With one rank the engine runs in this process.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import hashlib
import importlib.util
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

from corpo_sampling import kv_cache

BACKENDS = ("auto", "vllm", "transformers")
#: vLLM gets this many prompts per ``LLM.generate`` call: each call is batched by vLLM, and its
#: answers are handed back (and can be written) as soon as it returns.
DEFAULT_PROMPTS_PER_BATCH = 64


@dataclass(frozen=True)
class Request:
    """One prompt to sample ``n`` answers for; ``key`` names it in the results."""

    key: str
    token_ids: tuple[int, ...]
    n: int
    seed: int


@dataclass(frozen=True)
class EngineSettings:
    """How to sample: the model, the backend, the sampling parameters and the parallel layout."""

    model: str
    backend: str
    temperature: float
    top_p: float
    max_new_tokens: int
    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    enforce_eager: bool | None = None  # None: on a CPU only
    prompts_per_batch: int = DEFAULT_PROMPTS_PER_BATCH
    kv_cache_gib: float | None = None  # None: vLLM's own on a GPU; on a CPU chosen by corpo_sampling.kv_cache


def request_seed(seed: int, key: str) -> int:
    """A 62-bit seed for one request from the run's seed and the request's key (stable across
    runs, processes and Python versions; vLLM gives the i-th of n answers seed + i)."""
    digest = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 2


def vllm_available() -> bool:
    """Whether vLLM is installed (an installed vLLM that fails to import fails loudly later)."""
    return importlib.util.find_spec("vllm") is not None


def cuda_device_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def import_vllm() -> None:
    """Import vLLM's engine now, so that an install that cannot work stops the command before any
    work, in one line."""
    try:
        from vllm import LLM  # noqa: F401
    except (ImportError, OSError, RuntimeError) as err:
        raise RuntimeError(f"vLLM is installed but cannot be imported ({type(err).__name__}: {err}); on a CPU "
                           "see docs/vllm-cpu.md (python -m recipe.corpo.cpu_backend.cuda_wheels)") from err


def pick_backend(requested: str) -> str:
    """``vllm`` or ``transformers``; ``auto`` is vLLM when it is installed and a GPU is present
    (vLLM on a CPU works, but for small models transformers starts faster). vLLM is imported here
    once, so that a broken install fails before any work."""
    if requested not in BACKENDS:
        raise ValueError(f"unknown backend {requested!r}: one of {', '.join(BACKENDS)}")
    if requested == "auto":
        requested = "vllm" if vllm_available() and cuda_device_count() > 0 else "transformers"
    elif requested == "vllm" and not vllm_available():
        raise RuntimeError(
            "backend 'vllm' requested but vllm is not installed: on GPU nodes pip install -e '.[vllm]'; "
            "on a CPU see docs/vllm-cpu.md"
        )
    if requested == "vllm":
        import_vllm()
    return requested


def resolve_data_parallel_size(requested: int | str, tensor_parallel_size: int) -> int:
    """``auto``: every visible GPU (``GPUs // tensor_parallel_size`` ranks), one rank on a CPU."""
    if requested != "auto":
        if not str(requested).isdigit() or int(requested) < 1:
            raise ValueError(f"--data-parallel-size must be 'auto' or an integer >= 1, got {requested!r}")
        return int(requested)
    gpus = cuda_device_count()
    if gpus and gpus < tensor_parallel_size:
        raise ValueError(f"--tensor-parallel-size {tensor_parallel_size} needs that many GPUs, {gpus} visible")
    return max(1, gpus // tensor_parallel_size)


def add_engine_arguments(parser: argparse.ArgumentParser, temperature: float, top_p: float, max_new_tokens: int) -> None:
    """The sampling flags ``generate`` and ``evaluate`` share."""
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="auto: vLLM when importable and a GPU is present, else transformers")
    parser.add_argument("--temperature", type=float, default=temperature)
    parser.add_argument("--top-p", type=float, default=top_p)
    parser.add_argument("--max-new-tokens", type=int, default=max_new_tokens)
    parser.add_argument("--seed", type=int, default=0, help="with it each prompt's answers are reproducible")
    parser.add_argument("--tensor-parallel-size", type=int, default=1, help="GPUs per vLLM engine")
    parser.add_argument("--data-parallel-size", default="auto",
                        help="engines, one process each (auto: visible GPUs // tensor-parallel size; 1 on a CPU)")
    parser.add_argument("--prompts-per-batch", type=int, default=DEFAULT_PROMPTS_PER_BATCH,
                        help="vLLM: prompts per generate call (answers are written after each)")
    parser.add_argument("--kv-cache-gib", type=float, default=None,
                        help="vLLM: KV cache size in GiB (default: on a GPU vLLM's own; on a CPU "
                             "VLLM_CPU_KVCACHE_SPACE if set, else chosen from the model and the free memory)")


def engine_settings(args: argparse.Namespace, model: str, backend: str) -> EngineSettings:
    """:class:`EngineSettings` from the flags of :func:`add_engine_arguments`."""
    if args.tensor_parallel_size < 1 or args.prompts_per_batch < 1 or args.max_new_tokens < 1:
        raise ValueError("--tensor-parallel-size, --prompts-per-batch and --max-new-tokens must be >= 1")
    if args.kv_cache_gib is not None and not args.kv_cache_gib > 0:
        raise ValueError(f"--kv-cache-gib must be > 0, got {args.kv_cache_gib}")
    return EngineSettings(
        model=str(model), backend=backend, temperature=args.temperature, top_p=args.top_p,
        max_new_tokens=args.max_new_tokens, tensor_parallel_size=args.tensor_parallel_size,
        data_parallel_size=resolve_data_parallel_size(args.data_parallel_size, args.tensor_parallel_size),
        prompts_per_batch=args.prompts_per_batch, kv_cache_gib=args.kv_cache_gib,
    )


# --- one engine -------------------------------------------------------------------------------


class TransformersEngine:
    """transformers ``generate``, one prompt (its n answers) at a time; GPU if visible, else CPU."""

    def __init__(self, settings: EngineSettings):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.settings = settings
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(settings.model)
        self.model = AutoModelForCausalLM.from_pretrained(settings.model, dtype="auto").to(self.device).eval()
        config = self.model.generation_config
        self.eos = config.eos_token_id if config.eos_token_id is not None else self.tokenizer.eos_token_id
        self.pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id

    def run(self, requests: Sequence[Request]) -> Iterator[tuple[Request, list[str]]]:
        import torch

        sampling = self.settings.temperature > 0
        for request in requests:
            torch.manual_seed(request.seed)
            ids = torch.tensor([request.token_ids], device=self.device)
            with torch.inference_mode():
                out = self.model.generate(
                    ids, attention_mask=torch.ones_like(ids), do_sample=sampling,
                    temperature=self.settings.temperature if sampling else None,
                    top_p=self.settings.top_p if sampling else None, top_k=None,
                    max_new_tokens=self.settings.max_new_tokens, num_return_sequences=request.n,
                    eos_token_id=self.eos, pad_token_id=self.pad,
                )
            yield request, [self.tokenizer.decode(seq[ids.shape[1]:], skip_special_tokens=True) for seq in out]

    def close(self) -> None:
        del self.model


_temp_folder: str | None = None


def private_temp_folder() -> None:
    """vLLM leaves files in the temp folder (its engine's ZMQ IPC sockets ``<uuid4>``, ``vllm_dist_*``)
    when its engine does not shut down cleanly: this process and its children get a temp folder of
    their own, removed at exit (vLLM may cache the path, so it lives as long as the process)."""
    global _temp_folder
    if _temp_folder is None:
        _temp_folder = tempfile.mkdtemp(prefix="corpo-sampling-")
        os.environ["TMPDIR"] = tempfile.tempdir = _temp_folder
        atexit.register(shutil.rmtree, _temp_folder, ignore_errors=True)


class VllmEngine:
    """vLLM's offline engine on token-id prompts, ``prompts_per_batch`` prompts per ``generate``."""

    def __init__(self, settings: EngineSettings):
        from vllm import LLM
        from vllm.platforms import current_platform

        self.settings = settings
        on_cpu = current_platform.is_cpu()
        options = {}
        if on_cpu:
            # vLLM 0.31 CPU: a seeded request whose prefill is split over two steps rewinds its
            # generator with set_offset, which CPU generators lack ("CPU Generator does not use
            # offset", the engine dies). Whole prefills only: nothing to rewind.
            options["enable_chunked_prefill"] = False
        if settings.kv_cache_gib is not None:
            os.environ.pop("VLLM_CPU_KVCACHE_SPACE", None)  # vLLM's CPU platform would let it override the flag
            options["kv_cache_memory_bytes"] = int(settings.kv_cache_gib * kv_cache.GIB)
        elif on_cpu and not os.environ.get("VLLM_CPU_KVCACHE_SPACE"):
            # vLLM would reserve 92% of the machine's memory and refuse to start when less is free
            choice = kv_cache.choose_for_model(settings.model)
            print(f"[sampling] vLLM on CPU: KV cache {choice.reason}", flush=True)
            options["kv_cache_memory_bytes"] = choice.bytes
        self.llm = LLM(model=settings.model, tensor_parallel_size=settings.tensor_parallel_size,
                       enforce_eager=on_cpu if settings.enforce_eager is None else settings.enforce_eager, seed=0,
                       **options)

    def run(self, requests: Sequence[Request]) -> Iterator[tuple[Request, list[str]]]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        settings = self.settings
        greedy = settings.temperature == 0
        for start in range(0, len(requests), settings.prompts_per_batch):
            batch = requests[start:start + settings.prompts_per_batch]
            params = [SamplingParams(n=r.n, temperature=settings.temperature, top_p=1.0 if greedy else settings.top_p,
                                     max_tokens=settings.max_new_tokens, seed=r.seed) for r in batch]
            outputs = self.llm.generate([TokensPrompt(prompt_token_ids=list(r.token_ids)) for r in batch], params,
                                        use_tqdm=False)
            for request, output in zip(batch, outputs, strict=True):
                yield request, [choice.text for choice in sorted(output.outputs, key=lambda c: c.index)]

    def close(self) -> None:
        """Stop vLLM's engine processes now (not at interpreter exit), so that no process and no
        shared-memory segment outlives the sampling."""
        core = getattr(getattr(self.llm, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        del self.llm, core
        gc.collect()


@contextmanager
def open_engine(settings: EngineSettings):
    """The engine of ``settings.backend`` in this process, closed on exit."""
    engine = (VllmEngine if settings.backend == "vllm" else TransformersEngine)(settings)
    try:
        yield engine
    finally:
        engine.close()

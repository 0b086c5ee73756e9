"""A transformers rollout server that verl 0.9.1's agent loop drives like vLLM (rollout name ``hf``).

Three parts, as verl's own backends have:

- ``HFRolloutServer``: a Ray actor per replica holding an fp32 Hugging Face model. Token in, token
  out: ``generate`` samples with a KV cache (temperature, top-k, top-p, stop tokens) and returns
  verl's ``TokenOutput`` with per-token log-probabilities of the temperature-scaled distribution
  (what verl's actor computes). The lifecycle calls verl makes on servers are no-ops.
- ``HFRolloutAdapter``: lives in each FSDP actor worker; after every policy update it drains the
  full-tensor generator (a collective on every rank) and the replica's leader pushes the weights
  to its server. ``CORPO_CPU_SKIP_WEIGHT_SYNC=1`` skips the push (to show that verl's
  ``rollout_corr/k3_kl`` catches a stale rollout).
- ``HFReplica``: starts the server actor for a replica.

For small models on a CPU (tests, the tiny default); GPU runs use vLLM.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any, Generator

import ray
import torch
from transformers import AutoModelForCausalLM
from verl.utils.config import omega_conf_to_dataclass
from verl.workers.config import HFModelConfig
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutReplica, TokenOutput

SKIP_SYNC_ENV = "CORPO_CPU_SKIP_WEIGHT_SYNC"


def server_name(replica_rank: int) -> str:
    """Ray actor name of a replica's server (the adapter finds its server by it)."""
    return f"corpo_hf_rollout_server_{replica_rank}"


def sample_next_token(
    logits: torch.Tensor, temperature: float, top_k: int, top_p: float, generator: torch.Generator
) -> tuple[int, float]:
    """Sample one token from ``logits`` (V,); return it and its log-probability.

    The log-probability is taken under softmax(logits / temperature), before top-k/top-p
    filtering, as verl's actor computes it. ``temperature == 0`` is greedy (temperature 1 for the
    log-probability).
    """
    if temperature <= 0:
        token = int(torch.argmax(logits))
        return token, float(torch.log_softmax(logits, dim=-1)[token])
    scaled = logits / temperature
    log_probs = torch.log_softmax(scaled, dim=-1)
    filtered = scaled.clone()
    if 0 < top_k < filtered.numel():
        kth = torch.topk(filtered, top_k).values[-1]
        filtered[filtered < kth] = float("-inf")
    if top_p < 1.0:
        sorted_logits, order = torch.sort(filtered, descending=True)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        drop = cumulative - torch.softmax(sorted_logits, dim=-1) > top_p  # keep the first token past top_p
        filtered[order[drop]] = float("-inf")
    token = int(torch.multinomial(torch.softmax(filtered, dim=-1), 1, generator=generator))
    return token, float(log_probs[token])


class HFRolloutServer:
    """One replica's generation server (a Ray actor)."""

    def __init__(self, model_config, response_length: int, max_model_len: int, seed: int = 0):
        torch.set_num_threads(1)
        model_path = omega_conf_to_dataclass(model_config, dataclass_type=HFModelConfig).local_path
        self.model = AutoModelForCausalLM.from_pretrained(
            model_path, dtype=torch.float32, attn_implementation="sdpa"
        ).eval()
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.model.config.eos_token_id
        self.eos_token_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        self.response_length = response_length
        self.max_model_len = max_model_len
        self.global_steps = None
        self.generator = torch.Generator().manual_seed(seed)
        self._lock = threading.Lock()

    async def generate(
        self, request_id: str, prompt_ids: list[int], sampling_params: dict[str, Any], image_data=None, video_data=None,
        **kwargs,
    ) -> TokenOutput:
        if image_data is not None or video_data is not None:
            raise NotImplementedError("the hf rollout is text-only")
        return await asyncio.to_thread(self._generate, list(prompt_ids), dict(sampling_params))

    def _generate(self, prompt_ids: list[int], params: dict[str, Any]) -> TokenOutput:
        budget = params.get("max_tokens") or params.get("max_new_tokens") or self.response_length
        max_tokens = min(int(budget), self.response_length, self.max_model_len - len(prompt_ids))
        if max_tokens < 1:
            raise ValueError(f"prompt of {len(prompt_ids)} tokens leaves no room within max_model_len {self.max_model_len}")
        temperature = float(params.get("temperature", 1.0))
        top_k = int(params.get("top_k", -1) or -1)
        top_p = float(params.get("top_p", 1.0))
        stop = self.eos_token_ids | set(params.get("stop_token_ids") or [])
        tokens, log_probs = [], []
        with self._lock, torch.inference_mode():
            input_ids, past = torch.tensor([prompt_ids]), None
            for _ in range(max_tokens):
                out = self.model(input_ids=input_ids, past_key_values=past, use_cache=True)
                past = out.past_key_values
                token, log_prob = sample_next_token(out.logits[0, -1].float(), temperature, top_k, top_p, self.generator)
                tokens.append(token)
                log_probs.append(log_prob)
                if token in stop:
                    break
                input_ids = torch.tensor([[token]])
        return TokenOutput(
            token_ids=tokens,
            log_probs=log_probs if params.get("logprobs") else None,
            stop_reason="completed",
            extra_fields={"global_steps": self.global_steps},
        )

    def load_weights(self, state: dict[str, torch.Tensor], global_steps: int | None) -> int:
        """Load the actor's weights (HF names); returns how many tensors were loaded."""
        with self._lock:
            missing_names = set(state) - set(self.model.state_dict())
            if missing_names:
                raise KeyError(f"weights not in the rollout model: {sorted(missing_names)[:5]}")
            self.model.load_state_dict(state, strict=False)
            self.global_steps = global_steps
        return len(state)

    def set_global_steps(self, global_steps: int | None) -> None:
        self.global_steps = global_steps

    # lifecycle calls verl makes on rollout servers: nothing to do for an in-memory CPU model
    async def wake_up(self): ...
    async def sleep(self): ...
    async def abort_all_requests(self, reject_request: bool = False): ...
    async def resume_generation(self): ...
    async def clear_kv_cache(self): ...
    async def release_kv_cache(self): ...
    async def resume_kv_cache(self): ...
    async def start_profile(self, **kwargs): ...
    async def stop_profile(self): ...


class HFReplica(RolloutReplica):
    """Starts one ``HFRolloutServer`` actor for this replica."""

    async def launch_servers(self):
        server = (
            ray.remote(HFRolloutServer)
            .options(name=server_name(self.replica_rank), max_concurrency=self.max_concurrency)
            .remote(
                model_config=self.model_config,
                response_length=self.config.response_length,
                max_model_len=self.config.max_model_len or self.config.prompt_length + self.config.response_length,
                seed=self.replica_rank,
            )
        )
        await server.wake_up.remote()  # waits for the model to load
        self.servers = [server]
        self._server_handle = server
        self._server_address = f"hf-rollout-{self.replica_rank}"


class HFRolloutAdapter(BaseRollout):
    """In each FSDP actor worker: pushes the updated weights to the replica's server."""

    def __init__(self, config, model_config, device_mesh, *args, **kwargs):
        super().__init__(config, model_config, device_mesh, *args, **kwargs)
        replica_size = (
            self.config.tensor_model_parallel_size
            * self.config.data_parallel_size
            * self.config.pipeline_model_parallel_size
        )
        rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
        self.replica_rank, self.is_leader = divmod(rank, replica_size)[0], rank % replica_size == 0
        self._server = None

    def _server_handle(self):
        if self._server is None:
            self._server = ray.get_actor(server_name(self.replica_rank))
        return self._server

    async def resume(self, tags: list[str]):
        pass

    async def release(self):
        pass

    async def update_weights(
        self, weights: Generator[tuple[str, torch.Tensor], None, None], wire_format: str = "named_tensors",
        global_steps: int | None = None, **kwargs,
    ):
        if wire_format != "named_tensors":
            raise NotImplementedError(f"the hf rollout takes full named tensors, not {wire_format!r}")
        # draining the generator is a collective (FSDP full tensors): every rank does it
        state = {name: tensor.detach().to("cpu", copy=True) for name, tensor in weights}
        if not self.is_leader:
            return
        server = self._server_handle()
        if os.environ.get(SKIP_SYNC_ENV) == "1":
            await server.set_global_steps.remote(global_steps)
            return
        await server.load_weights.remote(state, global_steps)

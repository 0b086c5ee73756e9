"""The CPU backend's pieces that need no trainer: sampling, the rollout server, the backend-string
fix, the platform."""

import pytest
import torch

from recipe.corpo.cpu_backend.hf_rollout import sample_next_token
from recipe.corpo.cpu_backend.patches import dedupe_backend
from tests.helpers.fresh_python import fresh_python


def test_greedy_and_top_k_one_pick_the_argmax_with_its_log_prob():
    logits = torch.tensor([0.1, 2.0, -1.0, 1.5])
    generator = torch.Generator().manual_seed(0)
    expected = float(torch.log_softmax(logits, -1)[1])
    assert sample_next_token(logits, 0.0, -1, 1.0, generator) == (1, expected)
    token, log_prob = sample_next_token(logits, 1.0, 1, 1.0, generator)
    assert token == 1 and abs(log_prob - expected) < 1e-6


def test_log_prob_is_taken_under_the_temperature_scaled_distribution():
    logits = torch.tensor([0.3, 1.0, -0.5])
    generator = torch.Generator().manual_seed(1)
    token, log_prob = sample_next_token(logits, 0.7, -1, 1.0, generator)
    assert abs(log_prob - float(torch.log_softmax(logits / 0.7, -1)[token])) < 1e-6


def test_top_p_never_samples_outside_the_nucleus():
    logits = torch.tensor([5.0, 4.0, -3.0, -4.0])  # the first two hold > 99.9% of the mass
    generator = torch.Generator().manual_seed(2)
    drawn = {sample_next_token(logits, 1.0, -1, 0.9, generator)[0] for _ in range(300)}
    assert drawn <= {0, 1} and 0 in drawn


def test_backend_string_is_deduplicated_only_when_repeated():
    assert dedupe_backend("cpu:gloo,cpu:gloo") == "cpu:gloo"
    assert dedupe_backend("cpu:gloo,cuda:nccl") == "cpu:gloo,cuda:nccl"
    assert dedupe_backend("gloo") == "gloo"
    assert dedupe_backend(None) is None


PROBE = """
import torch, verl
from verl.utils.device import get_device_name, get_nccl_backend, get_torch_device
from verl.workers.rollout.replica import RolloutReplicaRegistry
print(get_device_name(), get_nccl_backend(), torch.distributed.fsdp.CPUOffloadPolicy().pin_memory,
      "hf" in RolloutReplicaRegistry._registry, get_torch_device().memory_allocated())
"""


def test_backend_loads_through_verls_module_hook_only_when_asked():
    on = fresh_python(PROBE, VERL_USE_EXTERNAL_MODULES="recipe.corpo.cpu_backend", VERL_PLATFORM="cpu")
    assert on.returncode == 0, on.stderr[-3000:]
    assert on.stdout.split()[-5:] == ["cpu", "gloo", "False", "True", "0"]
    # the module named but the platform not asked for: verl's own platform, nothing patched
    off = fresh_python(PROBE.replace("get_torch_device().memory_allocated()", "0"),
                        VERL_USE_EXTERNAL_MODULES="recipe.corpo.cpu_backend")
    assert off.returncode == 0, off.stderr[-3000:]
    assert off.stdout.split()[-5:] == ["cuda", "nccl", "True", "False", "0"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from recipe.corpo.cpu_tasks.tiny_default import build

    return build(tmp_path_factory.mktemp("tiny") / "tiny", warm_start_steps=0) / "model"


def _server(model_path, response_length=8):
    from recipe.corpo.cpu_backend.hf_rollout import HFRolloutServer

    return HFRolloutServer({"path": str(model_path)}, response_length=response_length, max_model_len=64, seed=3)


def _full_forward_log_probs(model, prompt_ids, token_ids, temperature):
    """Log-probabilities of ``token_ids`` after ``prompt_ids`` from one forward pass, no KV cache."""
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([prompt_ids + token_ids])).logits[0].float()
    scaled = torch.log_softmax(logits[len(prompt_ids) - 1 : -1] / temperature, dim=-1)
    return scaled[torch.arange(len(token_ids)), torch.tensor(token_ids)]


def test_server_log_probs_with_kv_cache_match_a_full_forward_pass(tiny_model):
    server = _server(tiny_model)
    server.eos_token_ids = set()  # sample the whole budget
    prompt = [5, 17, 42, 9, 100, 3]
    out = server._generate(prompt, {"temperature": 0.7, "top_p": 0.9, "max_tokens": 6, "logprobs": True})
    assert len(out.token_ids) == len(out.log_probs) == 6 and out.stop_reason == "completed"
    expected = _full_forward_log_probs(server.model, prompt, out.token_ids, 0.7)
    assert torch.allclose(torch.tensor(out.log_probs), expected, atol=1e-4), (out.log_probs, expected)
    # no log-probs unless asked; the budget is the smaller of max_tokens and response_length
    assert server._generate(prompt, {"temperature": 1.0, "max_tokens": 50}).log_probs is None
    assert len(server._generate(prompt, {"temperature": 1.0, "max_tokens": 50}).token_ids) == 8


def test_server_takes_the_actors_weights(tiny_model):
    server = _server(tiny_model)
    prompt = [5, 17, 42]
    before = _full_forward_log_probs(server.model, prompt, [7, 8], 1.0)
    updated = {name: tensor + 0.5 for name, tensor in server.model.state_dict().items() if "mlp" in name}
    assert server.load_weights(updated, global_steps=4) == len(updated)
    after = _full_forward_log_probs(server.model, prompt, [7, 8], 1.0)
    assert not torch.allclose(before, after)
    assert server._generate(prompt, {"max_tokens": 1}).extra_fields["global_steps"] == 4
    with pytest.raises(KeyError):
        server.load_weights({"not.a.weight": torch.zeros(1)}, global_steps=5)

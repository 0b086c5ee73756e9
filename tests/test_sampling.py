"""The sampling engine behind generate and evaluate: one seed per prompt, data-parallel ranks as
real processes (transformers backend on CPU), clear errors, nothing left running."""

import multiprocessing

import pytest
from transformers import AutoTokenizer

from corpo_sampling.engine import (
    EngineSettings,
    Request,
    request_seed,
    resolve_data_parallel_size,
)
from corpo_sampling.launcher import sample
from tests.helpers.eval_fixtures import tiny  # noqa: F401 - a fixture


def _requests(model, count=5, n=2, seed=0):
    tokenizer = AutoTokenizer.from_pretrained(model)
    requests = []
    for index in range(count):
        ids = tokenizer.apply_chat_template([{"role": "user", "content": f"Judge pair {index}."}],
                                           add_generation_prompt=True, tokenize=True, return_dict=False)
        requests.append(Request(key=f"p{index}", token_ids=tuple(ids), n=n, seed=request_seed(seed, f"p{index}")))
    return requests


def _settings(model, **overrides):
    return EngineSettings(**{"model": str(model), "backend": "transformers", "temperature": 1.0, "top_p": 1.0,
                             "max_new_tokens": 12, **overrides})


def test_request_seeds_are_stable_and_distinct():
    assert request_seed(0, "a") == request_seed(0, "a") == 1713241641880811292  # fixed: sample files stay reproducible
    assert len({request_seed(seed, key) for seed in range(3) for key in "abc"}) == 9
    assert all(0 <= request_seed(seed, "x") < 2 ** 62 for seed in range(100))


def test_data_parallel_ranks_give_each_prompt_the_answers_one_rank_gives(tiny):
    requests = _requests(tiny / "model")
    one = dict((r.key, answers) for r, answers in sample(_settings(tiny / "model"), requests))
    two = dict((r.key, answers) for r, answers in sample(_settings(tiny / "model", data_parallel_size=2), requests))
    assert one == two and len(one) == len(requests) and all(len(a) == 2 for a in one.values())
    reversed_order = dict((r.key, answers) for r, answers in sample(_settings(tiny / "model"), requests[::-1]))
    assert reversed_order == one  # a prompt's answers do not depend on the other prompts
    assert len({a for answers in one.values() for a in answers}) > 1
    assert not multiprocessing.active_children()


def test_a_failing_rank_is_a_clear_error_and_stops_the_others(tiny, tmp_path):
    requests = _requests(tiny / "model", count=4)
    with pytest.raises(RuntimeError, match=r"(?s)data-parallel rank \d failed:.*no-such-model"):
        list(sample(_settings(tmp_path / "no-such-model", data_parallel_size=2), requests))
    assert not multiprocessing.active_children()


def test_data_parallel_size_auto_is_one_rank_without_a_gpu():
    assert resolve_data_parallel_size("auto", 1) == 1
    assert resolve_data_parallel_size("3", 2) == 3
    with pytest.raises(ValueError, match="must be .auto. or an integer >= 1"):
        resolve_data_parallel_size("0", 1)

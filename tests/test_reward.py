"""The verifier's reward, case by case (spec section 3), and its loading by verl's own reward loop."""

import asyncio
import json

import numpy as np
import pytest
import torch

from corpo_advantage.reward import R_MIN_CORRECT, compute_score

ONE_CORRECT = json.dumps({"labels": [1, 0]})
KEYS = {"score", "acc", "format_ok", "score_a", "score_b", "judge_a_ok", "judge_b_ok"}
UNPARSED = {
    "score": -1.0,
    "acc": 0.0,
    "format_ok": 0.0,
    "score_a": -1.0,
    "score_b": -1.0,
    "judge_a_ok": 0.0,
    "judge_b_ok": 0.0,
}


def parsed(score, v_a, v_b, judge_a_ok, judge_b_ok):
    """The expected dict of a parsable answer."""
    return {
        "score": score,
        "acc": float(judge_a_ok and judge_b_ok),
        "format_ok": 1.0,
        "score_a": v_a,
        "score_b": v_b,
        "judge_a_ok": float(judge_a_ok),
        "judge_b_ok": float(judge_b_ok),
    }


GOOD_9_1 = parsed(0.8, 9.0, 1.0, True, True)

# (response, labels, expected result): every branch of parsing and grading.
CASES = {
    # grading: CORRECT trajectories, reward = mean confidence, in (0, 1]
    "most confident correct": (r"\boxed{10, 0}", [1, 0], parsed(1.0, 10.0, 0.0, True, True)),
    "hesitant correct": (r"\boxed{6, 4}", [1, 0], parsed(0.2, 6.0, 4.0, True, True)),
    "decimals, parentheses": (r"\boxed{(7.5, 2)}", [1, 0], parsed(0.55, 7.5, 2.0, True, True)),
    "both correct labels": (r"\boxed{9, 8}", [1, 1], parsed(0.7, 9.0, 8.0, True, True)),
    "both incorrect labels": (r"\boxed{1, 2}", [0, 0], parsed(0.7, 1.0, 2.0, True, True)),
    "B first correct": (r"\boxed{0, 10}", [0, 1], parsed(1.0, 0.0, 10.0, True, True)),
    "barely right": (r"\boxed{5.01, 4.99}", [1, 0], parsed(0.002, 5.01, 4.99, True, True)),
    # grading: one wrong judgment, reward -(0.25 + 0.2 * its confidence), in [-0.45, -0.25]
    "A undecided": (r"\boxed{5, 0}", [1, 0], parsed(-0.25, 5.0, 0.0, False, True)),
    "A hesitantly wrong": (r"\boxed{4, 0}", [1, 0], parsed(-0.29, 4.0, 0.0, False, True)),
    "A confidently wrong": (r"\boxed{0, 0}", [1, 0], parsed(-0.45, 0.0, 0.0, False, True)),
    "B wrong, A's confidence ignored": (r"\boxed{6, 10}", [1, 0], parsed(-0.45, 6.0, 10.0, True, False)),
    "B undecided on label 0": (r"\boxed{10, 5}", [1, 0], parsed(-0.25, 10.0, 5.0, True, False)),
    # grading: two wrong judgments, in [-0.9, -0.5]
    "both undecided": (r"\boxed{5, 5}", [1, 0], parsed(-0.5, 5.0, 5.0, False, False)),
    "both confidently wrong": (r"\boxed{0, 10}", [1, 0], parsed(-0.9, 0.0, 10.0, False, False)),
    "both wrong, mixed confidence": (r"\boxed{2.5, 7.5}", [1, 0], parsed(-0.7, 2.5, 7.5, False, False)),
    # reasoning: only the text after the last </think> counts
    "answer after reasoning": ("<think>maybe \\boxed{0, 10}</think>\n\\boxed{9, 1}", [1, 0], GOOD_9_1),
    "several think blocks": ("<think>a</think>\\boxed{0, 10}<think>b</think>\\boxed{9, 1}", [1, 0], GOOD_9_1),
    "close tag only (template opened it)": ("reasoning \\boxed{1, 1}</think>\\boxed{9, 1}", [1, 0], GOOD_9_1),
    "box only inside the reasoning": ("<think>\\boxed{9, 1}</think>so A is right.", [1, 0], UNPARSED),
    "think never closed": ("<think>\\boxed{9, 1}", [1, 0], UNPARSED),
    "think reopened after the last close": ("<think>a</think>\\boxed{9, 1}<think>more", [1, 0], UNPARSED),
    # boxes: the last one counts, even when it is malformed
    "last of several boxes": (r"\boxed{0, 10} no wait \boxed{9, 1}", [1, 0], GOOD_9_1),
    "last box malformed": (r"\boxed{9, 1} or \boxed{A}", [1, 0], UNPARSED),
    "box never closed": (r"\boxed{9, 1", [1, 0], UNPARSED),
    "no box": ("A is correct (9) and B is not (1): 9, 1", [1, 0], UNPARSED),
    "empty response": ("", [1, 0], UNPARSED),
    "box content too long": ("\\boxed{" + " " * 64 + "9, 1}", [1, 0], UNPARSED),
    "spaces and newlines": ("\\boxed{ \n( 9 ,\t1 ) \n}", [1, 0], GOOD_9_1),
    "no spaces": (r"\boxed{(9,1)}", [1, 0], GOOD_9_1),
    "leading zeros and trailing decimals": (r"\boxed{09.50, 0.000}", [1, 0], parsed(0.95, 9.5, 0.0, True, True)),
    # box content: anything but exactly two decimal numbers in [0, 10] is a format failure
    "one number": (r"\boxed{9}", [1, 0], UNPARSED),
    "three numbers": (r"\boxed{9, 1, 5}", [1, 0], UNPARSED),
    "empty box": (r"\boxed{}", [1, 0], UNPARSED),
    "negative": (r"\boxed{9, -1}", [1, 0], UNPARSED),
    "explicit plus sign": (r"\boxed{+9, 1}", [1, 0], UNPARSED),
    "above 10": (r"\boxed{10.5, 1}", [1, 0], UNPARSED),
    "just above 10": (r"\boxed{10.0001, 1}", [1, 0], UNPARSED),
    "nan": (r"\boxed{nan, 1}", [1, 0], UNPARSED),
    "inf": (r"\boxed{inf, 1}", [1, 0], UNPARSED),
    "exponent overflow": (r"\boxed{1e400, 1}", [1, 0], UNPARSED),
    "exponent in range": (r"\boxed{9e0, 1}", [1, 0], UNPARSED),
    "text in the box": (r"\boxed{A: 9, B: 1}", [1, 0], UNPARSED),
    "words": (r"\boxed{correct, incorrect}", [1, 0], UNPARSED),
    "semicolon": (r"\boxed{9; 1}", [1, 0], UNPARSED),
    "space separated": (r"\boxed{9 1}", [1, 0], UNPARSED),
    "unbalanced parenthesis": (r"\boxed{(9, 1}", [1, 0], UNPARSED),
    "two pairs of parentheses": (r"\boxed{((9, 1))}", [1, 0], UNPARSED),
    "each number in parentheses": (r"\boxed{(9), (1)}", [1, 0], UNPARSED),
    "bare decimal point": (r"\boxed{9., .5}", [1, 0], UNPARSED),
    "decimal comma": (r"\boxed{9,5, 1}", [1, 0], UNPARSED),
    "fraction": (r"\boxed{\frac{9}{1}, 1}", [1, 0], UNPARSED),
    "non-ASCII digits": ("\\boxed{\u0669, \u0661}", [1, 0], UNPARSED),
    "fullwidth digits": ("\\boxed{\uff19, \uff11}", [1, 0], UNPARSED),
}


@pytest.mark.parametrize("response, labels, expected", CASES.values(), ids=CASES.keys())
def test_case_table(response, labels, expected):
    result = compute_score("corpo_code_pairs", response, json.dumps({"labels": labels}), extra_info={"index": 0})
    assert set(result) == KEYS
    assert all(type(v) is float for v in result.values())
    assert result == pytest.approx(expected, abs=1e-12)
    assert (result["score"] >= R_MIN_CORRECT) == (result["acc"] == 1.0)


def test_unused_arguments_and_extra_keyword_arguments_are_accepted():
    # verl passes extra_info and, with a reward model, reward_router_address and reward_model_tokenizer
    result = compute_score(None, r"\boxed{9, 1}", ONE_CORRECT, None, reward_router_address="h:1", num_turns=2)
    assert result["score"] == pytest.approx(0.8)


MALFORMED_GROUND_TRUTHS = {
    "not JSON": "labels: [1, 0]",
    "empty": "",
    "JSON list": "[1, 0]",
    "no labels": json.dumps({"label": [1, 0]}),
    "labels not a list": json.dumps({"labels": "10"}),
    "one label": json.dumps({"labels": [1]}),
    "three labels": json.dumps({"labels": [1, 0, 1]}),
    "label 2": json.dumps({"labels": [2, 0]}),
    "label -1": json.dumps({"labels": [1, -1]}),
    "string label": json.dumps({"labels": ["1", 0]}),
    "float label": json.dumps({"labels": [1.0, 0]}),
    "boolean label": json.dumps({"labels": [True, False]}),
    "null label": json.dumps({"labels": [None, 0]}),
    "a dict, not a JSON string": {"labels": [1, 0]},
    "None": None,
}


@pytest.mark.parametrize("ground_truth", MALFORMED_GROUND_TRUTHS.values(), ids=MALFORMED_GROUND_TRUTHS.keys())
@pytest.mark.parametrize("response", [r"\boxed{9, 1}", "unparsable"])
def test_malformed_ground_truth_is_a_data_error(ground_truth, response):
    with pytest.raises(ValueError, match="corpo reward: ground_truth"):
        compute_score("corpo_code_pairs", response, ground_truth)


# ---------------------------------------------------------------------------------------------
# Loading through verl 0.9.1's own reward loop, as `reward.custom_reward_function.path=pkg://...`
# ---------------------------------------------------------------------------------------------

REWARD_OVERRIDES = [
    "reward.custom_reward_function.path=pkg://corpo_advantage.reward",
    "reward.custom_reward_function.name=compute_score",
]


@pytest.fixture(scope="module")
def tiny_tokenizer_dir(tmp_path_factory):
    """A byte-level tokenizer saved like a model's, with Qwen3-style <think> tokens that survive
    ``decode(skip_special_tokens=True)`` and special end-of-text tokens that do not."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    byte_vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    backend = Tokenizer(models.BPE(vocab=byte_vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.add_tokens(["<think>", "</think>"])
    path = tmp_path_factory.mktemp("tiny_tokenizer")
    tokenizer.save_pretrained(str(path))
    return str(path)


@pytest.fixture(scope="module")
def verl_config(tiny_tokenizer_dir):
    """verl's stock ``ppo_trainer`` config with this package's reward function."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_module(config_module="verl.trainer.config", version_base=None):
            return compose(
                config_name="ppo_trainer",
                overrides=[*REWARD_OVERRIDES, f"actor_rollout_ref.model.path={tiny_tokenizer_dir}"],
            )
    finally:
        GlobalHydra.instance().clear()


@pytest.fixture
def event_loop_for_worker():
    """A fresh current event loop for the worker (it calls asyncio.get_event_loop()), closed after."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    asyncio.set_event_loop(None)


def test_verl_loader_resolves_the_pkg_path_to_this_function(verl_config):
    from verl.trainer.ppo.reward import get_custom_reward_fn

    import corpo_advantage.reward

    wrapped = get_custom_reward_fn(verl_config)  # what load_reward_manager does in each reward worker
    assert wrapped.args[0] is corpo_advantage.reward.compute_score
    result = wrapped(data_source="corpo_code_pairs", solution_str=r"\boxed{8, 3}", ground_truth=ONE_CORRECT)
    assert result["score"] == pytest.approx(0.5)
    assert result["acc"] == 1.0


def _rollout_batch(tokenizer, responses, ground_truths, pad=3):
    """A batch shaped like the agent loop's: prompt, right-padded response ids, attention mask."""
    prompt = tokenizer.encode("Judge responses A and B.")
    encoded = [tokenizer.encode(text) + [tokenizer.eos_token_id] for text in responses]
    width = max(len(ids) for ids in encoded) + pad
    response_ids = [ids + [tokenizer.pad_token_id] * (width - len(ids)) for ids in encoded]
    attention = [[1] * len(prompt) + [1] * len(ids) + [0] * (width - len(ids)) for ids in encoded]
    from verl import DataProto

    n = len(responses)
    return DataProto.from_dict(
        tensors={
            "prompts": torch.tensor([prompt] * n),
            "responses": torch.tensor(response_ids),
            "attention_mask": torch.tensor(attention),
        },
        non_tensors={
            "data_source": np.array(["corpo_code_pairs"] * n, dtype=object),
            "reward_model": np.array([{"style": "rule", "ground_truth": gt} for gt in ground_truths], dtype=object),
            "extra_info": np.array([{"index": i, "split": "train"} for i in range(n)], dtype=object),
        },
    )


def test_verl_reward_loop_worker_scores_decoded_responses(verl_config, event_loop_for_worker):
    """verl's RewardLoopWorker (the class Ray runs; here in-process, no Ray) with its default `naive`
    manager: it loads the tokenizer, decodes the response ids and calls compute_score in a thread."""
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager

    worker = RewardLoopWorker(verl_config)
    assert worker.loop is event_loop_for_worker
    assert type(worker.reward_manager) is NaiveRewardManager
    responses = [
        "<think>Maybe \\boxed{0, 10}? No: A passes the tests.</think>\nA is right.\n\\boxed{(9, 1)}",
        "<think>A looks wrong.</think>\\boxed{2, 1}",
        "<think>I ran out of tokens before answering \\boxed{9, 1}",
    ]
    data = _rollout_batch(worker.input_tokenizer, responses, [ONE_CORRECT] * 3)
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(data))

    assert [out["reward_score"] for out in outputs] == pytest.approx([0.8, -0.37, -1.0])
    assert [out["reward_extra_info"]["acc"] for out in outputs] == [1.0, 0.0, 0.0]
    assert [out["reward_extra_info"]["format_ok"] for out in outputs] == [1.0, 1.0, 0.0]
    assert all(set(out["reward_extra_info"]) == KEYS for out in outputs)


def test_verl_reward_loop_worker_surfaces_a_malformed_ground_truth(verl_config, event_loop_for_worker):
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    worker = RewardLoopWorker(verl_config)
    data = _rollout_batch(worker.input_tokenizer, [r"\boxed{9, 1}"], ['{"labels": [1]}'])
    with pytest.raises(ValueError, match="corpo reward: ground_truth"):
        worker.loop.run_until_complete(worker.compute_score(data))

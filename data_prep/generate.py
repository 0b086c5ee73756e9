"""Sampling N responses per problem from a local model, written in the generations format.

vLLM is used when it is installed (GPU users: e.g. Qwen3-8B, the paper's setup); otherwise, or with
``backend="transformers"``, plain transformers ``generate`` (slow, for small models and CPU tests).
The solver prompt asks for the reasoning and a final Python code block (code problems) or a final
``\\boxed{}`` answer (math problems): that is what :mod:`data_prep.responses` reads back.
"""

from __future__ import annotations

import importlib.util
from typing import Iterator

from data_prep.schema import Problem

_CODE_PROMPT = """Solve the following programming problem in Python.
{how}
Think it through, then give your complete solution as a single fenced ```python code block at the end.

{statement}
"""
_FUNCTION = "Complete the given starter code; your code will be called by the tests."
_MATH_PROMPT = """Solve the following math problem. Put your final answer in \\boxed{{}}.

{statement}
"""


def _io_instruction(tests: dict) -> str:
    """Where the program reads and writes: the statement's files when the problem has them."""
    if tests["kind"] == "function":
        return _FUNCTION
    source = f"the file {tests['input_file']}" if tests.get("input_file") else "standard input"
    target = f"the file {tests['output_file']}" if tests.get("output_file") else "standard output"
    return f"Read the input from {source} and write the answer to {target}."


def solver_messages(problem: Problem) -> list[dict]:
    """The chat messages asking a model to solve ``problem``."""
    if problem.task == "math":
        content = _MATH_PROMPT.format(statement=problem.statement.strip())
    else:
        content = _CODE_PROMPT.format(how=_io_instruction(problem.tests), statement=problem.statement.strip())
    return [{"role": "user", "content": content}]


def pick_backend(requested: str) -> str:
    """``vllm`` when requested or available (``auto``), else ``transformers``."""
    has_vllm = importlib.util.find_spec("vllm") is not None
    if requested == "vllm" and not has_vllm:
        raise RuntimeError("backend 'vllm' requested but vllm is not installed (pip install 'verl-corpo[vllm]')")
    if requested == "auto":
        return "vllm" if has_vllm else "transformers"
    return requested


def _generate_vllm(model: str, prompts: list[list[dict]], n: int, temperature: float, max_new_tokens: int,
                   seed: int) -> Iterator[list[str]]:
    from vllm import LLM, SamplingParams

    llm = LLM(model=model, seed=seed)
    params = SamplingParams(n=n, temperature=temperature, max_tokens=max_new_tokens, seed=seed)
    for output in llm.chat(prompts, params):
        yield [choice.text for choice in output.outputs]


def _generate_transformers(model: str, prompts: list[list[dict]], n: int, temperature: float,
                           max_new_tokens: int, seed: int) -> Iterator[list[str]]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model)
    lm = AutoModelForCausalLM.from_pretrained(model)
    lm.eval()
    for messages in prompts:
        inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                               return_dict=True)
        with torch.no_grad():
            out = lm.generate(**inputs, do_sample=temperature > 0, temperature=temperature if temperature > 0 else None,
                              num_return_sequences=n, max_new_tokens=max_new_tokens,
                              pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
        prompt_len = inputs["input_ids"].shape[1]
        yield [tokenizer.decode(seq[prompt_len:], skip_special_tokens=True) for seq in out]


def generate(problems: list[Problem], model: str, n: int, backend: str = "auto", temperature: float = 0.8,
             max_new_tokens: int = 1024, seed: int = 0) -> Iterator[dict]:
    """Yield generation rows ``{"problem_id", "response", "sample_index", "model"}``."""
    run = _generate_vllm if pick_backend(backend) == "vllm" else _generate_transformers
    prompts = [solver_messages(problem) for problem in problems]
    for problem, texts in zip(problems, run(model, prompts, n, temperature, max_new_tokens, seed)):
        for index, text in enumerate(texts):
            yield {"problem_id": problem.problem_id, "response": text, "sample_index": index, "model": model}

"""Sampling N responses per problem from a local model, written in the generations format.

The solver prompt asks for the reasoning and a final Python code block (code problems) or a final
``\\boxed{}`` answer (math problems): that is what :mod:`data_prep.formats.solver_answers` reads back. The
prompt is rendered with the model's own chat template; sampling (vLLM or transformers, data- and
tensor-parallel, one seed per problem) is :mod:`corpo_sampling.engine`.
"""

from __future__ import annotations

from typing import Iterator

from corpo_sampling.engine import EngineSettings, Request, request_seed
from corpo_sampling.launcher import sample
from data_prep.formats.problems import Problem

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


def generation_requests(problems: list[Problem], model: str, n: int, seed: int) -> list[Request]:
    """One request per problem: the solver prompt in the model's chat template, its own seed."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    return [
        Request(key=problem.problem_id, n=n, seed=request_seed(seed, problem.problem_id),
                token_ids=tuple(tokenizer.apply_chat_template(solver_messages(problem), add_generation_prompt=True,
                                                              tokenize=True, return_dict=False)))
        for problem in problems
    ]


def generate(problems: list[Problem], settings: EngineSettings, n: int, seed: int = 0) -> Iterator[list[dict]]:
    """Per problem, as it finishes: its rows ``{"problem_id", "response", "sample_index", "model"}``."""
    for request, texts in sample(settings, generation_requests(problems, settings.model, n, seed)):
        yield [{"problem_id": request.key, "response": text, "sample_index": index, "model": settings.model}
               for index, text in enumerate(texts)]

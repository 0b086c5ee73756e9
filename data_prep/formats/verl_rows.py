"""The verifier's prompt and the verl parquet row (spec sections 3 and 4).

This module is the contract between the data and the reward: the prompt asks for the answer
format that ``corpo_advantage.reward`` parses (two scores in [0, 10], A first, in a final
``\\boxed{vA, vB}``), and the row carries the labels as ``reward_model.ground_truth``.
"""

from __future__ import annotations

import json
from typing import Sequence

#: ``data_source`` of each split (validation metrics are grouped by it).
DATA_SOURCES = {
    "train": "corpo_code_pairs",
    "val_code_id": "corpo_val_code_id",
    "val_code_ood": "corpo_val_code_ood",
    "val_math_ood": "corpo_val_math_ood",
}

PAIR_TYPES = ("one_correct", "both_correct", "both_incorrect")

_TASKS = {
    "code": (
        "code_verification",
        "programming problem",
        "whether its final program correctly solves the problem (passes all tests within the limits)",
    ),
    "math": (
        "math_verification",
        "math problem",
        "whether its final answer is correct",
    ),
}

_PROMPT = """You are given a {kind} and two candidate responses, A and B.
For each response, judge {criterion}.

Think it through, then end your answer with your confidence that each response is correct, \
as two numbers from 0 to 10, A first, inside a box: \\boxed{{vA, vB}}.
A score above 5 means you judge the response correct, below 5 incorrect; 5 means undecided.
Example of the last line: \\boxed{{8, 2}}

## Problem

{statement}

## Response A

{response_a}

## Response B

{response_b}
"""


def ability_for(task: str) -> str:
    """verl's ``ability`` column for a task (``code`` or ``math``)."""
    return _TASKS[task][0]


def build_verifier_prompt(statement: str, response_a: str, response_b: str, task: str = "code") -> list[dict]:
    """Chat messages asking the verifier to judge both responses and answer ``\\boxed{vA, vB}``."""
    if task not in _TASKS:
        raise ValueError(f"task must be one of {sorted(_TASKS)}, got {task!r}")
    _, kind, criterion = _TASKS[task]
    content = _PROMPT.format(
        kind=kind,
        criterion=criterion,
        statement=statement.strip(),
        response_a=response_a.strip(),
        response_b=response_b.strip(),
    )
    return [{"role": "user", "content": content}]


_HEADER_A = "\n\n## Response A\n\n"
_HEADER_B = "\n\n## Response B\n\n"
_HEADER_PROBLEM = "## Problem\n\n"


def swap_candidates(messages: Sequence[dict]) -> list[dict] | None:
    """The same verifier prompt with responses A and B exchanged, or None when ``messages`` is not
    exactly one prompt of :func:`build_verifier_prompt` that can be split without ambiguity (a
    section header repeated inside a response or the statement, another template, several
    messages)."""
    if len(messages) != 1 or not isinstance(messages[0].get("content"), str):
        return None
    content = messages[0]["content"]
    if not _splits_once(content):
        return None
    statement = content[content.index(_HEADER_PROBLEM) + len(_HEADER_PROBLEM):content.index(_HEADER_A)]
    response_a = content[content.index(_HEADER_A) + len(_HEADER_A):content.index(_HEADER_B)]
    response_b = content[content.index(_HEADER_B) + len(_HEADER_B):].removesuffix("\n")
    for task in _TASKS:  # only a prompt this template renders exactly is swapped
        if build_verifier_prompt(statement, response_a, response_b, task)[0]["content"] == content:
            swapped = build_verifier_prompt(statement, response_b, response_a, task)[0]
            return [{**messages[0], **swapped}] if _splits_once(swapped["content"]) else None
    return None


def _splits_once(content: str) -> bool:
    """Each section header occurs exactly once (overlapping occurrences included)."""
    return all(content.find(h) != -1 and content.find(h) == content.rfind(h) for h in (_HEADER_PROBLEM, _HEADER_A, _HEADER_B))


def ground_truth_json(labels: Sequence[int]) -> str:
    """``reward_model.ground_truth``: the JSON string ``{"labels": [yA, yB]}``."""
    labels = [int(y) for y in labels]
    if len(labels) != 2 or any(y not in (0, 1) for y in labels):
        raise ValueError(f"labels must be two values in {{0, 1}}, got {labels}")
    return json.dumps({"labels": labels})


def pair_type_of(labels: Sequence[int]) -> str:
    """``one_correct``, ``both_correct`` or ``both_incorrect``."""
    total = int(labels[0]) + int(labels[1])
    return {1: "one_correct", 2: "both_correct", 0: "both_incorrect"}[total]


def make_row(
    *,
    split: str,
    index: int,
    problem_id: str,
    source: str,
    statement: str,
    response_a: str,
    response_b: str,
    labels: Sequence[int],
    task: str = "code",
    data_source: str | None = None,
) -> dict:
    """One verl RLHF row (spec section 4) for the pair (A, B) of one problem."""
    return {
        "data_source": data_source or DATA_SOURCES[split],
        "prompt": build_verifier_prompt(statement, response_a, response_b, task),
        "ability": ability_for(task),
        "reward_model": {"style": "rule", "ground_truth": ground_truth_json(labels)},
        "extra_info": {
            "split": split,
            "index": int(index),
            "problem_id": str(problem_id),
            "source": str(source),
            "pair_type": pair_type_of(labels),
        },
    }

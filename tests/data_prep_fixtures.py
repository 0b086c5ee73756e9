"""Small fixtures for the data_prep tests, built on the fly: the datasets' rows in their own shapes
(tests/dataset_rows.py), math problems, and model-like responses (reasoning, then a fenced code
block) with correct and incorrect programs whose labels are known."""

from __future__ import annotations

import json
from pathlib import Path

from data_prep.sources import code_contests
from tests.dataset_rows import (BAD, CODE_CONTESTS, CODEFORCES, GOOD, write_code_contests, write_codeforces,
                                write_leetcode)

MATH = [
    {"problem_id": "math/1", "source": "math", "statement": "Compute 1/2 + 1/3.", "answer": "\\frac{5}{6}"},
    {"problem_id": "math/2", "source": "math", "statement": "What is 12 * 12?", "answer": "144"},
    {"problem_id": "math/3", "source": "math", "statement": "Solve x + 3 = 10.", "answer": "7"},
]

# problem id -> (correct programs, incorrect programs): the datasets' known programs, plus a few that
# exercise the other verdicts
PROGRAMS = {pid: (list(GOOD.get(pid, [])), list(BAD.get(pid, []))) for pid in {**GOOD, **BAD}}
for _row in CODE_CONTESTS[:4]:  # the last two are the audit's broken and slow problems
    _problem = code_contests.convert(_row)
    PROGRAMS[_problem["problem_id"]] = tuple([r.code for r in code_contests.references(_row) if r.good is good]
                                             for good in (True, False))
PROGRAMS["codeforces/2000/B"][1].append("while True:\n    pass\n")  # timeout
PROGRAMS["codeforces/2000/E"][1].append("print(undefined_name)\n")  # runtime_error

MATH_ANSWERS = {"math/1": (["\\frac{5}{6}", "5/6"], ["\\frac{2}{5}", "1"]),
                "math/2": (["144"], ["124", "1212"]),
                "math/3": (["7", "x = 7"], ["13"])}


def response(code: str, variant: int) -> str:
    """A model-like response: reasoning, a sentence, then the program in a fenced block."""
    return (f"<think>Let me think about approach {variant}. I will try a draft.\n```python\nprint('draft')\n```\n"
            f"That draft is not right.</think>\nHere is my solution (variant {variant}).\n```python\n{code}\n```\n")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_raw_sources(directory: Path) -> dict[str, list[Path]]:
    """The three downloaded layouts (``--input`` values per format): open-r1/codeforces as a folder
    of parquet shards (+ its generated tests), LeetCodeDataset as .jsonl.gz, code_contests as parquet."""
    codeforces = write_codeforces(directory / "codeforces")
    return {
        "codeforces": [codeforces["shards"], "--generated-tests", codeforces["generated_tests"]],
        "leetcode": [write_leetcode(directory / "leetcode")],
        "code_contests": [write_code_contests(directory / "code_contests")],
    }


def code_generations() -> list[dict]:
    """Responses for every code problem, with the expected label, plus one without code."""
    rows = []
    for problem_id, (correct, incorrect) in PROGRAMS.items():
        for label, programs in ((True, correct), (False, incorrect)):
            for variant, code in enumerate(programs):
                rows.append({"problem_id": problem_id, "response": response(code, variant), "expected": label})
    rows.append({"problem_id": "codeforces/2000/A", "response": "<think>hmm</think>I cannot solve it.", "expected": False})
    return rows


def math_generations() -> list[dict]:
    rows = []
    for problem_id, (correct, incorrect) in MATH_ANSWERS.items():
        for label, answers in ((True, correct), (False, incorrect)):
            for answer in answers:
                rows.append({"problem_id": problem_id, "expected": label,
                             "response": f"<think>compute</think>The answer is $\\boxed{{{answer}}}$."})
    return rows


CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tokenizer(corpus: list[str]):
    """A byte-level BPE tokenizer (400 tokens) with a chat template, trained on ``corpus`` (no download)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|end|>", "<|user|>", "<|assistant|>", "<|pad|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>", pad_token="<|pad|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_model(directory: Path) -> Path:
    """A tiny randomly initialised causal LM and a byte-level BPE tokenizer with a chat template,
    trained on the fixtures' own text (no download)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer([row["response"] for row in code_generations()] + [p["description"] for p in CODEFORCES])
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    directory.mkdir(parents=True, exist_ok=True)
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory

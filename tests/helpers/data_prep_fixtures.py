"""Small fixtures for the data_prep tests, built on the fly: the datasets' rows in their own shapes
(tests/helpers/dataset_rows.py), math problems, and model-like responses (reasoning, then a fenced code
block) with correct and incorrect programs whose labels are known."""

from __future__ import annotations

import json
from pathlib import Path

from data_prep.convert.sources import code_contests
from tests.helpers.dataset_rows import (
    BAD,
    CODE_CONTESTS,
    CODEFORCES,
    GOOD,
    write_code_contests,
    write_codeforces,
    write_leetcode,
)

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


# --- many problems and candidates for load runs (scripts/bench/bench_sandbox_load.py) ------------------
# Problem i asks for a * K + b with K = i + 2; every 5th is a function problem (LeetCode-like). Each
# candidate program is distinct (its number is in a comment), so the labeller's code-hash cache never
# merges two of them. Limits are small so that slow and hostile candidates stay cheap.

LOAD_TIME_LIMIT_S = 1.0
LOAD_MEMORY_MB = 128

_STDIO = {
    "correct": ["a, b = map(int, input().split())\nprint(a * {k} + b)",
                "import sys\na, b = map(int, sys.stdin.read().split())\nsys.stdout.write(str(a * {k} + b) + '\\n')"],
    # clearly wrong (the output comparison has a relative tolerance): negated, or K forgotten
    "wrong": ["a, b = map(int, input().split())\nprint(-(a * {k} + b))", "a, b = map(int, input().split())\nprint(a + b)"],
    "runtime_error": ["a, b = map(int, input().split())\nprint(a * {k} + b / 0)", "print(undefined_name)"],
}
_FUNCTION = {
    "correct": ["class Solution:\n    def f(self, a: int, b: int) -> int:\n        return a * {k} + b\n"],
    "wrong": ["class Solution:\n    def f(self, a: int, b: int) -> int:\n        return a * {k} - b\n"],
    "runtime_error": ["class Solution:\n    def f(self, a, b):\n        return [a][b]\n"],
}
_ANY = {  # whatever the problem; they never answer it
    "slow_loop": "while True:\n    pass",
    "slow_sleep": "import time\ntime.sleep(1000)",
    "memory_children": ("import os, time\nfor _ in range(6):\n    if os.fork() == 0:\n        block = bytearray(60 << 20)\n"
                        "        time.sleep(0.3)\n        os._exit(0)\nfor _ in range(6):\n    os.wait()\nprint(0)"),
    "memory_bomb": "x = []\nwhile True:\n    x.append(bytearray(10 ** 7))",
    "fills_workdir": ("for i in range(200):\n    try:\n        open(f'f{i}', 'wb').write(b'x' * (1 << 20))\n"
                      "    except OSError:\n        pass\nprint(0)"),
    "output_bomb": "import sys\nwhile True:\n    sys.stdout.write('x' * 10 ** 6)",
    "fork_bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
    "escapes_its_group": "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(1000)\nprint(0)",
}
#: share of the candidates per kind (sums to 1)
LOAD_MIX = {"correct": 0.55, "wrong": 0.30, "runtime_error": 0.08, "no_code": 0.02, "slow_loop": 0.005,
            "slow_sleep": 0.005, "memory_children": 0.005, "memory_bomb": 0.005, "fills_workdir": 0.005,
            "output_bomb": 0.005, "fork_bomb": 0.0025, "escapes_its_group": 0.0025}


def expected_load_verdict(kind: str, function_problem: bool, cgroups: bool, private_mounts: bool) -> str:
    """The verdict a candidate of ``kind`` must get, given what the sandbox can bound on this host."""
    unanswered = "runtime_error" if function_problem else "wrong_answer"  # printed 0 / no Solution class
    return {"correct": "passed", "wrong": "wrong_answer", "runtime_error": "runtime_error", "no_code": "no_code",
            "slow_loop": "timeout", "slow_sleep": "timeout", "memory_bomb": "memory_limit", "output_bomb": "output_limit",
            "fork_bomb": "timeout", "escapes_its_group": unanswered,
            "memory_children": "memory_limit" if cgroups else unanswered,
            "fills_workdir": "output_limit" if private_mounts else unanswered}[kind]


def load_problems(n_problems: int, seed: int = 0) -> list[dict]:
    """Rows of a problems file: ``a * K + b`` with three tests each, every 5th as a function problem."""
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n_problems):
        k, cases = i + 2, [(rng.randint(1, 10 ** 6), rng.randint(1, 10 ** 6)) for _ in range(3)]
        if i % 5 == 4:
            check = "".join(f"    assert candidate({a}, {b}) == {a * k + b}\n" for a, b in cases)
            tests = {"kind": "function", "check": f"def check(candidate):\n{check}\ncheck(Solution().f)\n"}
        else:
            tests = {"kind": "stdio", "cases": [{"input": f"{a} {b}\n", "output": f"{a * k + b}\n"} for a, b in cases]}
        rows.append({"problem_id": f"load/{i}", "source": "load", "statement": f"Print a * {k} + b.", "tests": tests,
                     "time_limit_s": LOAD_TIME_LIMIT_S, "memory_limit_mb": LOAD_MEMORY_MB})
    return rows


def load_generations(problems: list[dict], per_problem: int, seed: int = 0) -> list[dict]:
    """``per_problem`` responses per problem, kinds drawn by :data:`LOAD_MIX`; each row also has ``kind``."""
    import random

    rng = random.Random(seed)
    kinds, weights = zip(*LOAD_MIX.items())
    rows = []
    for i, problem in enumerate(problems):
        templates = _FUNCTION if problem["tests"]["kind"] == "function" else _STDIO
        for j in range(per_problem):
            kind = rng.choices(kinds, weights)[0]
            number = i * per_problem + j
            if kind == "no_code":
                text = f"<think>candidate {number}</think>I cannot solve this one."
            else:
                code = rng.choice(templates[kind]) if kind in templates else _ANY[kind]
                text = response(f"{code.replace('{k}', str(i + 2))}\n# candidate {number}", number)
            rows.append({"problem_id": problem["problem_id"], "response": text, "kind": kind})
    return rows

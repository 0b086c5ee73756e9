"""Small fixtures for the data_prep tests, built on the fly: raw rows shaped like open-r1/codeforces,
LeetCodeDataset and deepmind/code_contests, math problems, and model-like responses (reasoning, then a
fenced code block) with correct and incorrect programs whose labels are known."""

from __future__ import annotations

import json
from pathlib import Path

CODEFORCES = [
    {  # a + b; correct and incorrect solutions
        "id": "1A", "title": "Sum", "description": "Print a + b.", "input_format": "Two integers a and b.",
        "output_format": "Their sum.", "note": None, "interaction_format": None, "generated_checker": None,
        "examples": [{"input": "1 2\n", "output": "3\n"}],
        "official_tests": [{"input": f"{i} {i * 7}\n", "output": f"{i * 8}\n"} for i in range(1, 6)],
        "time_limit": 2.0, "memory_limit": 256.0,
    },
    {  # an average: float output, judged with tolerance
        "id": "2B", "title": "Mean", "description": "Print the mean of n numbers.", "input_format": "n, then n integers.",
        "output_format": "The mean.", "note": "Absolute or relative error 1e-6 is accepted.",
        "interaction_format": None, "generated_checker": None,
        "examples": [{"input": "2\n1 2\n", "output": "1.5\n"}],
        "official_tests": [{"input": "3\n1 2 2\n", "output": "1.6666666667\n"}, {"input": "1\n5\n", "output": "5\n"}],
        "time_limit": 1.0, "memory_limit": 256.0,
    },
    {  # only correct solutions: both_correct pairs
        "id": "3C", "title": "Reverse", "description": "Reverse the string.", "input_format": "A string s.",
        "output_format": "s reversed.", "note": None, "interaction_format": None, "generated_checker": None,
        "examples": [{"input": "abc\n", "output": "cba\n"}],
        "official_tests": [{"input": "hello\n", "output": "olleh\n"}], "time_limit": 1.0, "memory_limit": 256.0,
    },
    {  # interactive: skipped by the adapter
        "id": "4D", "title": "Guess", "description": "Guess the number.", "input_format": "", "output_format": "",
        "note": None, "interaction_format": "Ask queries.", "generated_checker": None, "examples": [],
        "official_tests": [], "time_limit": 1.0, "memory_limit": 256.0,
    },
]

LEETCODE = [
    {
        "task_id": "two-sum", "problem_description": "Return indices of the two numbers adding up to target.",
        "starter_code": "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n",
        "prompt": "from typing import List\n", "entry_point": "Solution().twoSum",
        "test": "def check(candidate):\n    assert candidate([2, 7, 11, 15], 9) == [0, 1]\n"
                "    assert candidate([3, 2, 4], 6) == [1, 2]\n",
    },
    {
        "task_id": "palindrome-number", "problem_description": "Is x a palindrome?",
        "starter_code": "class Solution:\n    def isPalindrome(self, x: int) -> bool:\n",
        "prompt": "", "entry_point": "Solution().isPalindrome",
        "test": "def check(candidate):\n    assert candidate(121) is True\n    assert candidate(-121) is False\n"
                "    assert candidate(10) is False\n",
    },
]

CODE_CONTESTS = [
    {
        "name": "product", "description": "Print a * b.",
        "public_tests": {"input": ["2 3\n"], "output": ["6\n"]},
        "private_tests": {"input": ["4 5\n", "0 9\n"], "output": ["20\n", "0\n"]},
        "generated_tests": {"input": ["7 7\n"], "output": ["49\n"]},
        "time_limit": {"seconds": 2, "nanos": 0}, "memory_limit_bytes": 268435456,
    },
    {  # only incorrect solutions: both_incorrect pairs
        "name": "vowels", "description": "Count the vowels of s.",
        "public_tests": {"input": ["banana\n"], "output": ["3\n"]},
        "private_tests": {"input": ["xyz\n"], "output": ["0\n"]}, "generated_tests": {"input": [], "output": []},
        "time_limit": {"seconds": 1, "nanos": 0}, "memory_limit_bytes": 268435456,
    },
]

MATH = [
    {"problem_id": "math/1", "source": "math", "statement": "Compute 1/2 + 1/3.", "answer": "\\frac{5}{6}"},
    {"problem_id": "math/2", "source": "math", "statement": "What is 12 * 12?", "answer": "144"},
    {"problem_id": "math/3", "source": "math", "statement": "Solve x + 3 = 10.", "answer": "7"},
]

# problem id -> (correct programs, incorrect programs)
PROGRAMS = {
    "codeforces/1A": (
        ["a, b = map(int, input().split())\nprint(a + b)",
         "import sys\nprint(sum(map(int, sys.stdin.read().split())))",
         "x = list(map(int, open(0).read().split()))\nprint(x[0] + x[1])"],
        ["a, b = map(int, input().split())\nprint(a - b)",
         "a, b = map(int, input().split())\nprint(a * b)",
         "print(int(input()))"],
    ),
    "codeforces/2B": (
        ["n = int(input())\nv = list(map(int, input().split()))\nprint(sum(v) / n)",
         "n = int(input())\nv = list(map(int, input().split()))\nprint('%.10f' % (sum(v) / n))"],
        ["n = int(input())\nv = list(map(int, input().split()))\nprint(sum(v) // n)",
         "n = int(input())\nprint(n)"],
    ),
    "codeforces/3C": (
        ["print(input()[::-1])", "s = input()\nprint(''.join(reversed(s)))", "s = input().strip()\nprint(s[::-1])"],
        [],
    ),
    "leetcode/two-sum": (
        ["class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n"
         "        for i, x in enumerate(nums):\n            if target - x in seen:\n"
         "                return [seen[target - x], i]\n            seen[x] = i\n",
         "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
         "        for i in range(len(nums)):\n            for j in range(i + 1, len(nums)):\n"
         "                if nums[i] + nums[j] == target:\n                    return [i, j]\n"],
        ["class Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]\n",
         "class Solution:\n    def twoSum(self, nums, target):\n        return nums.index(target)\n"],
    ),
    "leetcode/palindrome-number": (
        ["class Solution:\n    def isPalindrome(self, x: int) -> bool:\n        return str(x) == str(x)[::-1]\n"],
        ["class Solution:\n    def isPalindrome(self, x: int) -> bool:\n        return True\n",
         "class Solution:\n    def isPalindrome(self, x: int) -> bool:\n        return str(abs(x)) == str(abs(x))[::-1]\n"],
    ),
    "code_contests/product": (
        ["a, b = map(int, input().split())\nprint(a * b)", "a, b = input().split()\nprint(int(a) * int(b))"],
        ["a, b = map(int, input().split())\nprint(a + b)", "while True:\n    pass"],
    ),
    "code_contests/vowels": (
        [],
        ["print(len(input()))", "s = input()\nprint(sum(c in 'aeiou' for c in s) + 1)", "print(0)"],
    ),
}

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


def write_raw_sources(directory: Path) -> dict[str, Path]:
    """The three downloaded layouts, as local files (parquet for codeforces, JSONL for the others)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    codeforces = directory / "codeforces.parquet"
    pq.write_table(pa.Table.from_pylist(CODEFORCES), codeforces)
    return {
        "codeforces": codeforces,
        "leetcode": write_jsonl(directory / "leetcode.jsonl", LEETCODE),
        "code_contests": write_jsonl(directory / "code_contests.jsonl", CODE_CONTESTS),
    }


def code_generations() -> list[dict]:
    """Responses for every code problem, with the expected label, plus one without code."""
    rows = []
    for problem_id, (correct, incorrect) in PROGRAMS.items():
        for label, programs in ((True, correct), (False, incorrect)):
            for variant, code in enumerate(programs):
                rows.append({"problem_id": problem_id, "response": response(code, variant), "expected": label})
    rows.append({"problem_id": "codeforces/1A", "response": "<think>hmm</think>I cannot solve it.", "expected": False})
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


def build_tiny_model(directory: Path) -> Path:
    """A tiny randomly initialised causal LM and a byte-level BPE tokenizer with a chat template,
    trained on the fixtures' own text (no download)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = [row["response"] for row in code_generations()] + [p["description"] for p in CODEFORCES]
    specials = ["<|end|>", "<|user|>", "<|assistant|>", "<|pad|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>", pad_token="<|pad|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    directory.mkdir(parents=True, exist_ok=True)
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


# --- many problems and candidates for load runs (scripts/bench_sandbox_load.py) ------------------
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

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

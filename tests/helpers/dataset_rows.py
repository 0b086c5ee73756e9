"""Rows in the datasets' own shapes, built by the tests (nothing can be downloaded).

Field names and types follow each dataset's own description:

- open-r1/codeforces: the dataset card's ``dataset_info`` (configs ``default``/``verifiable``;
  ``verifiable-prompts`` adds ``prompt`` and ``language``), written as parquet with that arrow
  schema; generated tests as ``generated_tests/test_cases_<contest>.parquet`` with ``problem_id,
  input, output, test_i``.
- newfacade/LeetCodeDataset v0.3.1: the release's ``.jsonl.gz`` fields, with the ~80-line
  ``prompt`` prelude (imports, ``inf``, ``ListNode``/``TreeNode`` and their helpers; some rows
  also import ``SortedList`` from ``sortedcontainers``).
- deepmind/code_contests: ``contest_problem.proto`` as the hub's parquet stores it (enums as
  ints, tests and solutions as structs of lists, ``time_limit`` null or ``{seconds, nanos}``,
  ``memory_limit_bytes`` 0 when unknown, ``input_file``/``output_file`` empty for stdio).

Each problem comes with known-good and known-bad programs (``GOOD``/``BAD`` by problem id) and the
verdict its reference judge gives them (``JUDGE_CASES``, the table in docs/data_prep.md).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# --------------------------------------------------------------------------------------------
# open-r1/codeforces

_TESTS = pa.list_(pa.struct([("input", pa.string()), ("output", pa.string())]))
CODEFORCES_SCHEMA = pa.schema([
    ("id", pa.string()), ("aliases", pa.list_(pa.string())), ("contest_id", pa.string()),
    ("contest_name", pa.string()), ("contest_type", pa.string()), ("contest_start", pa.int64()),
    ("contest_start_year", pa.int64()), ("index", pa.string()), ("time_limit", pa.float64()),
    ("memory_limit", pa.float64()), ("title", pa.string()), ("description", pa.string()),
    ("input_format", pa.string()), ("output_format", pa.string()), ("interaction_format", pa.string()),
    ("note", pa.string()), ("examples", _TESTS), ("editorial", pa.string()), ("rating", pa.int64()),
    ("tags", pa.list_(pa.string())), ("testset_size", pa.int64()), ("official_tests", _TESTS),
    ("official_tests_complete", pa.bool_()), ("input_mode", pa.string()), ("generated_checker", pa.string()),
    ("executable", pa.bool_()), ("generated_tests", pa.int64()),
])
VERIFIABLE_PROMPTS_SCHEMA = CODEFORCES_SCHEMA.append(pa.field("prompt", pa.string())).append(
    pa.field("language", pa.string()))
GENERATED_TESTS_SCHEMA = pa.schema([("problem_id", pa.string()), ("input", pa.string()), ("output", pa.string()),
                                    ("test_i", pa.int64())])


def _io(pairs):
    return [{"input": i, "output": o} for i, o in pairs]


def codeforces_row(problem_id: str, title: str, description: str, official, **fields) -> dict:
    """One open-r1/codeforces row; ``official`` is a list of (input, output)."""
    contest, index = problem_id.split("/")
    row = {
        "id": problem_id, "aliases": None, "contest_id": contest, "contest_name": f"Codeforces Round {contest}",
        "contest_type": "CF", "contest_start": 1700000000, "contest_start_year": 2023, "index": index,
        "time_limit": 1.0, "memory_limit": 256.0, "title": title, "description": description,
        "input_format": "The only line contains the input.", "output_format": "Print the answer.",
        "interaction_format": None, "note": None, "examples": _io(official[:1]), "editorial": None,
        "rating": 800, "tags": ["math"], "testset_size": len(official), "official_tests": _io(official),
        "official_tests_complete": True, "input_mode": "stdio", "generated_checker": None, "executable": True,
        "generated_tests": 0,
    }
    row.update(fields)
    return row


DIVISOR_CHECKER = '''import sys

def main():
    input_path, correct_path, output_path = sys.argv[1:4]
    n = int(open(input_path).read().split()[0])
    try:
        words = open(output_path).read().split()
        d = int(words[0])
    except (IndexError, ValueError):
        print(0)
        return
    print(1 if len(words) == 1 and 1 < d < n and n % d == 0 else 0)

main()
'''

FRAGILE_CHECKER = '''import sys

n = int(open(sys.argv[1]).read())
d = int(open(sys.argv[3]).read().split()[0])  # a word or an empty output crashes it
print(1 if 1 < d < n and n % d == 0 else 0)
'''
CRASHING_CHECKER = "import sys\nexpected = open(sys.argv[2]).read().split()\nprint(1 if expected[5] else 0)\n"

CODEFORCES = [
    codeforces_row("2000/A", "Predecessor", "Print n - 1.", [("998244354\n", "998244353\n"),
                                                             ("1000000000001\n", "1000000000000\n"), ("1\n", "0\n")],
                   input_format="The only line contains an integer n (0 <= n <= 10^12).", generated_tests=1),
    codeforces_row("2000/B", "Even", "Is n even? Print YES or NO.", [("4\n", "YES\n"), ("7\n", "NO\n")],
                   rating=1500),
    codeforces_row("2000/C", "Winner", "Alice wins when n is odd, Bob otherwise. Print the winner's name.",
                   [("3\n", "Alice\n"), ("8\n", "Bob\n")],
                   output_format="Print Alice or Bob. You can print each letter in any case (upper or lower)."),
    codeforces_row("2000/D", "Name", "Print the name of the winner: Alice when n is odd, Bob otherwise.",
                   [("3\n", "Alice\n"), ("2\n", "Bob\n")]),
    codeforces_row("2000/E", "Third", "Print n / 3.", [("1\n", "0.333333333333\n"), ("10\n", "3.333333333333\n")],
                   output_format="Print a real number; an absolute or relative error of at most 1e-6 is accepted.",
                   rating=None),
    codeforces_row("2001/A", "Files", "Print a + b.", [("1 2\n", "3\n"), ("40 2\n", "42\n")], input_mode="file",
                   input_format="The file input.txt contains a and b.", output_format="Write a + b to output.txt."),
    codeforces_row("2001/B", "Divisor", "Print any divisor d of n with 1 < d < n.",
                   [("12\n", "2\n"), ("35\n", "5\n"), ("49\n", "7\n")], generated_checker=DIVISOR_CHECKER),
    # a checker that cannot parse a malformed output (it judges the expected one), one that always
    # crashes, one that never ends: only the last two cannot judge (checker_error)
    codeforces_row("2001/F", "Fragile", "Print any divisor d of n with 1 < d < n.", [("12\n", "2\n")],
                   generated_checker=FRAGILE_CHECKER),
    codeforces_row("2001/G", "Crashing checker", "Print n.", [("5\n", "5\n")], generated_checker=CRASHING_CHECKER),
    codeforces_row("2001/H", "Endless checker", "Print n twice.", [("5\n", "5 5\n")],
                   generated_checker="while True:\n    pass\n"),
    codeforces_row("2001/C", "Guess", "Guess the number.", [], interaction_format="Ask at most 30 queries.",
                   executable=False),
    codeforces_row("2001/D", "Broken", "Print n.", [("1\n", "1\n")], executable=False),
    codeforces_row("2001/E", "Truncated", "Print n.", [("1\n", "1\n")], official_tests_complete=False),
]
#: generated_tests/test_cases_<contest_id>.parquet rows
GENERATED_TESTS = {"2000": [{"problem_id": "2000/A", "input": "0\n", "output": "-1\n", "test_i": 0}]}


def verifiable_prompts_rows() -> list[dict]:
    """The verifiable-prompts config: one row per (problem, language)."""
    return [dict(row, prompt=f"Solve {row['title']} in {language}.", language=language)
            for row in CODEFORCES[:2] for language in ("python", "cpp")]


# --------------------------------------------------------------------------------------------
# newfacade/LeetCodeDataset v0.3.1

LEETCODE_PRELUDE = '''import random
import functools
import collections
import string
import math
import datetime

from typing import *
from functools import *
from collections import *
from itertools import *
from heapq import *
from bisect import *
from string import *
from operator import *
from math import *

inf = float('inf')

class ListNode:
    def __init__(self, val=0, next=None):
        self.val = val
        self.next = next

def list_node(values: list):
    if not values:
        return None
    head = ListNode(values[0])
    p = head
    for val in values[1:]:
        node = ListNode(val)
        p.next = node
        p = node
    return head

def is_same_list(p1, p2):
    if p1 is None and p2 is None:
        return True
    if not p1 or not p2:
        return False
    return p1.val == p2.val and is_same_list(p1.next, p2.next)

class TreeNode:
    def __init__(self, val=0, left=None, right=None):
        self.val = val
        self.left = left
        self.right = right

def tree_node(values: list):
    if not values:
        return None
    root = TreeNode(values[0])
    i = 1
    queue = deque()
    queue.append(root)
    while queue:
        node = queue.popleft()
        if i < len(values) and values[i] is not None:
            node.left = TreeNode(values[i])
            queue.append(node.left)
        i += 1
        if i < len(values) and values[i] is not None:
            node.right = TreeNode(values[i])
            queue.append(node.right)
        i += 1
    return root

def is_same_tree(p, q):
    if not p and not q:
        return True
    elif not p or not q:
        return False
    elif p.val != q.val:
        return False
    else:
        return is_same_tree(p.left, q.left) and is_same_tree(p.right, q.right)
'''
SORTED_PRELUDE = LEETCODE_PRELUDE.replace("from math import *\n", "from math import *\nfrom sortedcontainers import SortedList\n")

TWO_SUM = '''class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        seen = {}
        for i, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], i]
            seen[x] = i
'''
COUNT_SMALLER = '''class Solution:
    def countSmaller(self, nums: List[int]) -> List[int]:
        seen, out = SortedList(), []
        for x in reversed(nums):
            out.append(seen.bisect_left(x))
            seen.add(x)
        return out[::-1]
'''
MAX_DEPTH = '''class Solution:
    def maxDepth(self, root: Optional[TreeNode]) -> int:
        if root is None:
            return 0
        return 1 + max(self.maxDepth(root.left), self.maxDepth(root.right))
'''


def leetcode_row(task_id, question_id, description, starter, entry_point, asserts, completion, prelude=LEETCODE_PRELUDE):
    test = "def check(candidate):\n" + "".join(f"    assert {a}\n" for a in asserts)
    return {
        "task_id": task_id, "question_id": question_id, "difficulty": "Easy", "tags": ["Array"],
        "problem_description": description, "starter_code": starter, "estimated_date": "2015-08-07",
        "prompt": prelude, "completion": completion, "entry_point": entry_point, "test": test,
        "input_output": [{"input": a.split(") ==")[0].replace("candidate(", ""), "output": a.split("== ")[-1]}
                         for a in asserts],
        "query": f"{description}\n\n{starter}", "response": f"```python\n{completion}```",
    }


LEETCODE = [
    leetcode_row("two-sum", 1, "Return the indices of the two numbers adding up to target.",
                 "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        ",
                 "Solution().twoSum", ["candidate(nums = [2,7,11,15], target = 9) == [0, 1]",
                                       "candidate(nums = [3,2,4], target = 6) == [1, 2]"], TWO_SUM),
    leetcode_row("count-of-smaller-numbers-after-self", 315, "Count the smaller numbers after each element.",
                 "class Solution:\n    def countSmaller(self, nums: List[int]) -> List[int]:\n        ",
                 "Solution().countSmaller", ["candidate(nums = [5,2,6,1]) == [2, 1, 1, 0]",
                                             "candidate(nums = [-1,-1]) == [0, 0]"], COUNT_SMALLER, SORTED_PRELUDE),
    leetcode_row("maximum-depth-of-binary-tree", 104, "Return the maximum depth of the tree.",
                 "class Solution:\n    def maxDepth(self, root: Optional[TreeNode]) -> int:\n        ",
                 "Solution().maxDepth", ["candidate(root = tree_node([3,9,20,None,None,15,7])) == 3",
                                         "candidate(root = tree_node([])) == 0"], MAX_DEPTH),
]

# --------------------------------------------------------------------------------------------
# deepmind/code_contests

_STR_LIST = pa.list_(pa.string())
_TEST_GROUP = pa.struct([("input", _STR_LIST), ("output", _STR_LIST)])
_SOLUTIONS = pa.struct([("language", pa.list_(pa.int64())), ("solution", _STR_LIST)])
CODE_CONTESTS_SCHEMA = pa.schema([
    ("name", pa.string()), ("description", pa.string()), ("public_tests", _TEST_GROUP),
    ("private_tests", _TEST_GROUP), ("generated_tests", _TEST_GROUP), ("source", pa.int64()),
    ("difficulty", pa.int64()), ("solutions", _SOLUTIONS), ("incorrect_solutions", _SOLUTIONS),
    ("cf_contest_id", pa.int64()), ("cf_index", pa.string()), ("cf_points", pa.float64()),
    ("cf_rating", pa.int64()), ("cf_tags", _STR_LIST), ("is_description_translated", pa.bool_()),
    ("untranslated_description", pa.string()),
    ("time_limit", pa.struct([("seconds", pa.int64()), ("nanos", pa.int64())])),
    ("memory_limit_bytes", pa.int64()), ("input_file", pa.string()), ("output_file", pa.string()),
])
PYTHON2, CPP, PYTHON3 = 1, 2, 3


def _group(pairs):
    return {"input": [i for i, _ in pairs], "output": [o for _, o in pairs]}


def code_contests_row(name, description, public, private, good, bad, source=2, **fields) -> dict:
    """One code_contests row; ``good``/``bad`` are Python 3 programs (a C++ and a Python 2 one are
    added, as the dataset has them: the audit must leave those out)."""
    row = {
        "name": name, "description": description, "public_tests": _group(public), "private_tests": _group(private),
        "generated_tests": _group([]), "source": source, "difficulty": 7,
        "solutions": {"language": [CPP, PYTHON2] + [PYTHON3] * len(good),
                      "solution": ["int main() { return 0; }", "print 'python 2'"] + list(good)},
        "incorrect_solutions": {"language": [PYTHON3] * len(bad), "solution": list(bad)},
        "cf_contest_id": 1, "cf_index": "A", "cf_points": 500.0, "cf_rating": 800, "cf_tags": ["math"],
        "is_description_translated": False, "untranslated_description": "",
        "time_limit": {"seconds": 2, "nanos": 0}, "memory_limit_bytes": 256 << 20, "input_file": "",
        "output_file": "",
    }
    row.update(fields)
    return row


PRODUCT_GOOD = "a, b = map(int, input().split())\nprint(a * b)\n"
CODE_CONTESTS = [
    code_contests_row("1_A. Product", "Print a * b.", [("2 3\n", "6\n")], [("4 5\n", "20\n"), ("0 9\n", "0\n")],
                      [PRODUCT_GOOD, "a, b = input().split()\nprint(int(a) * int(b))\n"],
                      ["a, b = map(int, input().split())\nprint(a + b)\n", "print(6)\n"]),
    code_contests_row("1_A. Product", "Print a * b (another judge, same name).", [("3 3\n", "9\n")],
                      [("1 7\n", "7\n")], [PRODUCT_GOOD], ["print(9)\n"], source=7),
    code_contests_row("2_B. Answer", "Print YES when n is positive, NO otherwise.", [("5\n", "YES\n")],
                      [("-1\n", "NO\n"), ("0\n", "NO\n")],
                      ["print('yes' if int(input()) > 0 else 'no')\n"],
                      ["print('yes' if int(input()) >= 0 else 'no')\n"],
                      time_limit=None, memory_limit_bytes=0),
    code_contests_row("3_C. Files", "Read a and b from input.txt, write a - b to output.txt.", [("5 3\n", "2\n")],
                      [("10 1\n", "9\n")],
                      ["a, b = map(int, open('input.txt').read().split())\nopen('output.txt', 'w').write(str(a - b))\n"],
                      ["a, b = map(int, input().split())\nprint(a - b)\n"],
                      input_file="input.txt", output_file="output.txt"),
    # the tests are wrong (20 is not 4 * 6): the problem's own solution is rejected, the audit says so
    code_contests_row("4_D. Broken", "Print a * b.", [("2 2\n", "4\n")], [("4 6\n", "20\n")], [PRODUCT_GOOD],
                      ["print(4)\n"]),
    # the solution is right but too slow for the 1 s limit: reported as a timeout, not as wrong
    code_contests_row("5_E. Slow", "Print the sum 1 + ... + n.", [("3\n", "6\n")], [("100000000\n", "5000000050000000\n")],
                      ["n = int(input())\nt = 0\nfor i in range(1, n + 1):\n    t += i\nprint(t)\n"],
                      ["print(6)\n"], time_limit={"seconds": 1, "nanos": 0}),
]

# --------------------------------------------------------------------------------------------
# programs with known verdicts, by problem id (after convert)

GOOD = {
    "codeforces/2000/A": ["print(int(input()) - 1)\n"],
    "codeforces/2000/B": ["print('Yes' if int(input()) % 2 == 0 else 'No')\n"],
    "codeforces/2000/C": ["print('ALICE' if int(input()) % 2 else 'BOB')\n"],
    "codeforces/2000/D": ["print('Alice' if int(input()) % 2 else 'Bob')\n"],
    "codeforces/2000/E": ["print('%.9f' % (int(input()) / 3))\n", "print(int(input()) / 3)\n"],
    "codeforces/2001/A": ["a, b = map(int, open('input.txt').read().split())\nopen('output.txt', 'w').write(str(a + b))\n"],
    "codeforces/2001/B": ["n = int(input())\nprint(min(d for d in range(2, n) if n % d == 0))\n",
                          "n = int(input())\nprint(max(d for d in range(2, n) if n % d == 0))\n"],
    "leetcode/two-sum": [TWO_SUM, TWO_SUM + "\n\nif __name__ == '__main__':\n    print(Solution().twoSum(*eval(input())))\n"],
    "leetcode/count-of-smaller-numbers-after-self": [COUNT_SMALLER],
    "leetcode/maximum-depth-of-binary-tree": [MAX_DEPTH],
}
BAD = {
    "codeforces/2000/A": ["print(int(input()) - 2)\n", "print(int(input()))\n", "print(max(0, int(input()) - 1))\n"],
    "codeforces/2000/B": ["print('NO' if int(input()) % 2 == 0 else 'YES')\n"],
    "codeforces/2000/C": ["print('BOB' if int(input()) % 2 else 'ALICE')\n"],
    "codeforces/2000/D": ["print('ALICE' if int(input()) % 2 else 'BOB')\n"],
    "codeforces/2000/E": ["print('%.2f' % (int(input()) / 3))\n"],
    "codeforces/2001/A": ["a, b = map(int, input().split())\nprint(a + b)\n"],
    "codeforces/2001/B": ["print(1)\n", "n = int(input())\nprint(n)\n"],
    "leetcode/two-sum": ["class Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]\n"],
    "leetcode/count-of-smaller-numbers-after-self": [
        "class Solution:\n    def countSmaller(self, nums):\n        return [0] * len(nums)\n"],
    "leetcode/maximum-depth-of-binary-tree": [
        "class Solution:\n    def maxDepth(self, root):\n        return 1 if root else 0\n"],
}

#: The table in docs/data_prep.md: (case, problem id, program, the reference judge's verdict, where its rule is).
#: Our verdict for each is checked by tests/test_judge_agreement.py.
JUDGE_CASES = [
    ("answer mod 998244353 off by one (998244352 for 998244353)", "codeforces/2000/A", BAD["codeforces/2000/A"][0],
     "wrong answer", "integers compared exactly (Codeforces checkers; code_contests `ValuesMatch`)"),
    ("integer off by one at 10^12 (1000000000001 for 1000000000000)", "codeforces/2000/A",
     BAD["codeforces/2000/A"][1], "wrong answer", "same"),
    ("real `998244353.0` for the integer `998244353`", "codeforces/2000/A", "print(int(input()) - 1.0)\n",
     "wrong answer", "an integer answer must be an integer (testlib's integer checkers)"),
    ("wrong only on a generated test (n = 0)", "codeforces/2000/A", BAD["codeforces/2000/A"][2], "wrong answer",
     "open-r1 grader: `official_tests` + generated tests"),
    ("`Yes` for `YES`", "codeforces/2000/B", GOOD["codeforces/2000/B"][0], "accepted", "open-r1: yes/no normalised"),
    ("`ALICE` for `Alice`, statement says any case", "codeforces/2000/C", GOOD["codeforces/2000/C"][0], "accepted",
     "statement's \"any case\""),
    ("`ALICE` for `Alice`, statement silent", "codeforces/2000/D", BAD["codeforces/2000/D"][0], "wrong answer",
     "case matters unless the statement says otherwise"),
    ("real answer, 3e-10 error", "codeforces/2000/E", GOOD["codeforces/2000/E"][0], "accepted",
     "absolute or relative error 1e-6"),
    ("real answer, 3e-3 error", "codeforces/2000/E", BAD["codeforces/2000/E"][0], "wrong answer", "same"),
    ("file I/O problem, program uses input.txt/output.txt", "codeforces/2001/A", GOOD["codeforces/2001/A"][0],
     "accepted", "open-r1 `INPUT_MODE=file`"),
    ("file I/O problem, program reads stdin", "codeforces/2001/A", BAD["codeforces/2001/A"][0], "rejected", "same"),
    ("checker problem, another valid answer", "codeforces/2001/B", GOOD["codeforces/2001/B"][1], "accepted",
     "`generated_checker` prints 1"),
    ("checker problem, invalid answer", "codeforces/2001/B", BAD["codeforces/2001/B"][0], "wrong answer",
     "`generated_checker` prints 0"),
    ("LeetCode solution followed by a `__main__` block reading stdin", "leetcode/two-sum", GOOD["leetcode/two-sum"][1],
     "passed", "`eval_lcd`: `exec` in a fresh namespace, not as `__main__`"),
    ("LeetCode prelude imports `SortedList`", "leetcode/count-of-smaller-numbers-after-self",
     GOOD["leetcode/count-of-smaller-numbers-after-self"][0], "passed", "its judge has `sortedcontainers`"),
    ("code_contests `yes` for `YES`", "code_contests/codeforces/2_B. Answer", CODE_CONTESTS[2]["solutions"]["solution"][2],
     "accepted", "`tester_sandboxer.cc` lower-cases every token"),
    ("code_contests `6.0` for `6`", "code_contests/codeforces/1_A. Product",
     "a, b = map(int, input().split())\nprint(float(a * b))\n", "accepted", "`ValuesMatch`: a double within 1e-5"),
    ("code_contests input_file/output_file", "code_contests/codeforces/3_C. Files",
     CODE_CONTESTS[3]["solutions"]["solution"][2], "accepted", "the row's `input_file`/`output_file`"),
    ("code_contests input_file problem, program reads stdin", "code_contests/codeforces/3_C. Files",
     CODE_CONTESTS[3]["incorrect_solutions"]["solution"][0], "rejected", "same"),
    # issue 17: integers as each judge reads them
    ("Codeforces `0998244353` for `998244353` (a leading zero)", "codeforces/2000/A",
     "print('0%d' % (int(input()) - 1))\n", "wrong answer",
     "testlib reads integers with `readLong`, which rejects leading zeros, `+` and `-0`"),
    ("Codeforces `+998244353` for `998244353`", "codeforces/2000/A", "print('+%d' % (int(input()) - 1))\n",
     "wrong answer", "same"),
    ("Codeforces `-0` for `0`", "codeforces/2000/A", "n = int(input()) - 1\nprint('-0' if n == 0 else n)\n",
     "wrong answer", "same"),
    ("code_contests `+6`, `+20`, `-0` for `6`, `20`, `0`", "code_contests/codeforces/1_A. Product",
     "a, b = map(int, input().split())\np = a * b\nprint('-0' if p == 0 else '+%d' % p)\n", "accepted",
     "`ValuesMatch` reads numbers as values"),
    # LeetCode programs that end before check() runs
    ("LeetCode wrong solution ending with `sys.exit(0)`", "leetcode/two-sum",
     BAD["leetcode/two-sum"][0] + "\nimport sys\nsys.exit(0)\n", "failed",
     "`eval_lcd`: any exception before `check()` ends, `SystemExit` included, fails"),
    ("LeetCode wrong solution ending with `exit()`", "leetcode/two-sum", BAD["leetcode/two-sum"][0] + "\nexit()\n",
     "failed", "same (its `reliability_guard` sets `exit` to None)"),
    ("LeetCode wrong solution ending with `raise SystemExit`", "leetcode/two-sum",
     BAD["leetcode/two-sum"][0] + "\nraise SystemExit\n", "failed", "same"),
    ("LeetCode wrong solution ending with `os._exit(0)`", "leetcode/two-sum",
     BAD["leetcode/two-sum"][0] + "\nimport os\nos._exit(0)\n", "failed",
     "`eval_lcd`: a process that reports no result is not passed"),
    # checkers that cannot judge
    ("checker problem, an answer the checker cannot parse (it judges the expected one)", "codeforces/2001/F",
     "print('two')\n", "wrong answer", "`generated_checker` crashes on it: the test fails"),
    ("checker problem, the checker crashes on every output", "codeforces/2001/G", "print(input())\n", "no verdict",
     "open-r1's grader fails every program; the fault is the problem's: left out of `pairs`, listed by `audit`"),
    ("checker problem, the checker never ends", "codeforces/2001/H", "n = input().strip()\nprint(n, n)\n",
     "no verdict", "same"),
]


# --------------------------------------------------------------------------------------------
# files


def write_codeforces(directory: Path) -> dict[str, Path]:
    """default config as two parquet shards, verifiable-prompts, and the generated tests folder."""
    directory.mkdir(parents=True, exist_ok=True)
    shards = directory / "codeforces"
    shards.mkdir(exist_ok=True)
    half = len(CODEFORCES) // 2
    for i, rows in enumerate((CODEFORCES[:half], CODEFORCES[half:])):
        pq.write_table(pa.Table.from_pylist(rows, schema=CODEFORCES_SCHEMA), shards / f"train-0000{i}-of-00002.parquet")
    prompts = directory / "verifiable-prompts.parquet"
    pq.write_table(pa.Table.from_pylist(verifiable_prompts_rows(), schema=VERIFIABLE_PROMPTS_SCHEMA), prompts)
    generated = directory / "generated_tests"
    generated.mkdir(exist_ok=True)
    for contest, rows in GENERATED_TESTS.items():
        pq.write_table(pa.Table.from_pylist(rows, schema=GENERATED_TESTS_SCHEMA), generated / f"test_cases_{contest}.parquet")
    return {"shards": shards, "verifiable_prompts": prompts, "generated_tests": generated}


def write_leetcode(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "LeetCodeDataset-v0.3.1-test.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for row in LEETCODE:
            handle.write(json.dumps(row) + "\n")
    return path


def write_code_contests(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "test-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(CODE_CONTESTS, schema=CODE_CONTESTS_SCHEMA), path)
    return path

"""The harness's file interface (the statement's input/output files, checkers, LeetCode's namespace)
through the real sandbox, including candidates that tamper with the files the harness reads."""

import time

from data_prep.label.checker import run_with_checker
from data_prep.label.sandbox.run import Limits, run_candidate
from tests.helpers.dataset_rows import DIVISOR_CHECKER

LIMITS = Limits(time_limit_s=1.0, memory_limit_mb=128, output_limit_mb=4)
FILE_TESTS = {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}],
              "input_file": "input.txt", "output_file": "output.txt"}
READ_WRITE = "a, b = map(int, open('input.txt').read().split())\nopen('output.txt', 'w').write(f'{a + b}\\n')\n"


def judge(code, tests=FILE_TESTS, run=run_candidate):
    started = time.monotonic()
    result = run(code, tests, LIMITS)
    assert time.monotonic() - started < 20
    return result


def test_statement_files():
    assert judge(READ_WRITE).verdict == "passed"
    stdin = judge("a, b = map(int, input().split())\nprint(a + b)\n")  # stdin is empty on a file problem
    assert stdin.verdict == "runtime_error" and "EOFError" in stdin.detail
    stdout = judge("a, b = map(int, open('input.txt').read().split())\nprint(a + b)\n")
    assert stdout.verdict == "wrong_answer" and stdout.detail == "no output file 'output.txt' written"


def test_an_output_file_from_an_earlier_test_does_not_count():
    tests = dict(FILE_TESTS, cases=[{"input": "1 2\n", "output": "3\n"}, {"input": "2 1\n", "output": "3\n"}])
    writes_once = READ_WRITE.replace("open('output.txt', 'w')", "a == 1 and open('output.txt', 'w')")
    result = judge(writes_once, tests)  # test 2 would pass on test 1's file if the harness kept it
    assert (result.verdict, result.tests_run, result.detail) == ("wrong_answer", 2, "no output file 'output.txt' written")


def test_output_file_symlinked_to_an_endless_device_is_not_followed():
    code = "import os\nos.symlink('/dev/zero', 'output.txt')\n"
    assert judge(code).verdict == "wrong_answer"


def test_input_file_replaced_by_a_fifo_is_recreated():
    code = ("import os\n" + READ_WRITE + "os.unlink('input.txt')\nos.mkfifo('input.txt')\n")
    assert judge(code).verdict == "passed"


def test_stdout_replaced_by_a_fifo():
    code = "import os\nos.unlink('stdout.txt')\nos.mkfifo('stdout.txt')\nprint(3)\n"
    result = judge(code, {"kind": "stdio", "cases": [{"input": "", "output": "3\n"}]})
    assert (result.verdict, result.detail) == ("wrong_answer", "stdout is no longer a regular file")


CHECKED = {"kind": "stdio", "cases": [{"input": "12\n", "output": "2\n"}, {"input": "35\n", "output": "5\n"}],
           "checker": DIVISOR_CHECKER}


def test_checker_accepts_any_valid_answer_and_rejects_the_first_invalid_one():
    assert judge("n = int(input())\nprint(n // min(d for d in range(2, n) if n % d == 0))\n", CHECKED,
                 run_with_checker).verdict == "passed"
    result = judge("n = int(input())\nprint(2 if n % 2 == 0 else 1)\n", CHECKED, run_with_checker)
    assert (result.verdict, result.tests_run) == ("wrong_answer", 2) and "checker" in result.detail


def test_the_candidate_never_sees_the_expected_output():
    result = judge("print(open('correct_output.txt').read())\n", CHECKED, run_with_checker)
    assert result.verdict == "runtime_error" and "FileNotFoundError" in result.detail


def test_a_crashing_or_slow_candidate_keeps_its_own_verdict():
    assert judge("1 / 0\n", CHECKED, run_with_checker).verdict == "runtime_error"
    assert judge("n = int(input())\nprint(2)\nwhile n == 35:\n    pass\n", CHECKED, run_with_checker).verdict == "timeout"


def test_leetcode_namespace():
    tests = {"kind": "function", "prelude": "from sortedcontainers import SortedList\n",
             "check": "def check(candidate):\n    assert candidate([3, 1]) == [1, 3]\n\ncheck(Solution().sort)\n"}
    solution = "class Solution:\n    def sort(self, xs):\n        return list(SortedList(xs))\n"
    assert judge(solution + "if __name__ == '__main__':\n    input()\n", tests).verdict == "passed"
    assert judge(solution + "print(__name__)\nimport sys\nsys.stdin.read()\n", tests).verdict == "runtime_error"
    assert judge(solution.replace("list(SortedList(xs))", "xs"), tests).verdict == "wrong_answer"

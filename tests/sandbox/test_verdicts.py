"""Verdicts for ordinary candidates, through the real Docker sandbox."""

from __future__ import annotations

import pytest

from sandbox import Job, Sandbox, Verdict

TESTS = """
from solution import add

def test_small():
    assert add(1, 2) == 3

def test_negative():
    assert add(-2, 2) == 0
"""


@pytest.mark.parametrize(
    ("program", "verdict", "passed"),
    [
        ("def add(a, b):\n    return a + b\n", Verdict.PASS, 2),
        ("def add(a, b):\n    return a - b\n", Verdict.FAIL, 0),
        ("def add(a, b):\n    return a * b if a > 0 else a + b\n", Verdict.FAIL, 1),
        ("def add(a, b):\n    raise ValueError('nope')\n", Verdict.ERROR, 0),
        ("def add(a, b) return a + b\n", Verdict.ERROR, 0),
        ("import sys\nsys.exit(0)\n", Verdict.ERROR, 0),
        ("import time\ndef add(a, b):\n    time.sleep(60)\n", Verdict.TIMEOUT, 0),
    ],
    ids=["pass", "fail", "partial", "raise", "syntax", "exit-at-import", "timeout"],
)
def test_verdict(sandbox: Sandbox, program: str, verdict: Verdict, passed: int) -> None:
    result = sandbox.run(Job(program, TESTS, timeout=2))
    assert result.verdict is verdict, result.detail
    assert result.passed == passed
    if verdict in (Verdict.PASS, Verdict.FAIL):
        assert result.total == 2


def test_failure_detail_names_the_test(sandbox: Sandbox) -> None:
    result = sandbox.run(Job("def add(a, b):\n    return 0\n", TESTS))
    assert "test_small" in result.detail and "assert add(1, 2) == 3" in result.detail


def test_fail_fast_stops_at_first_failure(sandbox: Sandbox) -> None:
    result = sandbox.run(Job("def add(a, b):\n    return 0\n", TESTS, fail_fast=True))
    assert result.verdict is Verdict.FAIL
    assert "test_negative" not in result.detail


def test_output_is_captured(sandbox: Sandbox) -> None:
    program = "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\ndef add(a, b):\n    return a + b\n"
    result = sandbox.run(Job(program, TESTS))
    assert result.verdict is Verdict.PASS
    assert result.stdout == "to stdout\n" and result.stderr == "to stderr\n"


def test_no_tests_is_an_error(sandbox: Sandbox) -> None:
    assert sandbox.run(Job("x = 1\n", "from solution import *\n")).verdict is Verdict.ERROR


def test_run_many_keeps_order_and_runs_duplicates_once(sandbox: Sandbox) -> None:
    good, bad = "def add(a, b):\n    return a + b\n", "def add(a, b):\n    return 0\n"
    jobs = [Job(good if i % 3 else bad, TESTS) for i in range(30)]
    results = sandbox.run_many(jobs)
    assert [r.verdict for r in results] == [Verdict.PASS if i % 3 else Verdict.FAIL for i in range(30)]


def test_hypothesis_is_available_to_tests(sandbox: Sandbox) -> None:
    tests = (
        "from hypothesis import given, strategies as st\nfrom solution import add\n\n"
        "@given(st.integers(), st.integers())\ndef test_commutes(a, b):\n    assert add(a, b) == add(b, a)\n"
    )
    assert sandbox.run(Job("def add(a, b):\n    return a + b\n", tests)).verdict is Verdict.PASS


def test_compile_warnings_reach_the_candidates_stderr(sandbox: Sandbox) -> None:
    # The runner compiles ahead of the fork only what compiles cleanly: a warning must still print in the child.
    program = "def add(a, b):\n    return a + b if a is not 'x' else 0\n"
    result = sandbox.run(Job(program, TESTS))
    assert result.verdict is Verdict.PASS
    assert "SyntaxWarning" in result.stderr


def test_tests_that_do_not_compile_are_an_error_with_the_reason(sandbox: Sandbox) -> None:
    result = sandbox.run(Job("def add(a, b):\n    return a + b\n", "def test_broken(:\n    pass\n"))
    assert result.verdict is Verdict.ERROR
    assert "SyntaxError" in result.detail and "test_solution.py" in result.detail


def test_tracebacks_show_the_candidates_source_lines(sandbox: Sandbox) -> None:
    result = sandbox.run(Job("def add(a, b):\n    return a / 0  # the culprit\n", TESTS))
    assert result.verdict is Verdict.ERROR
    assert "solution.py" in result.detail and "return a / 0  # the culprit" in result.detail


def test_a_candidate_sees_only_the_tests_of_its_own_task(one_container: Sandbox) -> None:
    # The runner keeps the compiled tests of the last task only: no code object the next task's candidate can
    # reach holds the earlier task's tests. The same probe does find its own task's tests, so it would see a leak.
    secret = "def test_secret():\n    assert 'the other task' != 'SECRET-42'\n"
    snoop = (
        "import sys, types\n"
        "def add(a, b):\n    return a + b\n"
        "needle = ''.join(['SECRET', '-42'])  # not a constant of this program\n"
        "def consts(code):\n"
        "    for c in code.co_consts:\n"
        "        yield from consts(c) if isinstance(c, types.CodeType) else [c]\n"
        "def codes():  # every code object within two steps of any module's globals, the runner's included\n"
        "    for module in list(sys.modules.values()):\n"
        "        for value in list(vars(module).values()):\n"
        "            for v in [value, *getattr(value, '__dict__', {}).values()]:\n"
        "                if isinstance(v, types.CodeType):\n"
        "                    yield v\n"
        "print(sum(needle in consts(c) for c in codes()))\n"
    )
    assert one_container.run(Job("def add(a, b):\n    return a + b\n", secret)).verdict is Verdict.PASS
    result = one_container.run(Job(snoop, TESTS))
    assert (result.verdict, result.stdout) == (Verdict.PASS, "0\n")
    own = one_container.run(Job(snoop, TESTS + secret))
    assert own.verdict is Verdict.PASS and own.stdout != "0\n"


def test_a_program_that_is_not_python_is_an_error_with_the_reason(sandbox: Sandbox) -> None:
    result = sandbox.run(Job("def add(a, b):\n    return a +\n", TESTS))
    assert (result.verdict, result.passed, result.total) == (Verdict.ERROR, 0, 0)
    assert 'solution.py", line 2' in result.detail and "SyntaxError: invalid syntax" in result.detail

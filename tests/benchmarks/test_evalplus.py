"""HumanEval+ and MBPP+ scoring in the sandbox: every reference passes its own hidden tests, wrong programs fail,
and EvalPlus' comparison rules (float tolerance, special oracles, rebuilt tuple inputs) hold."""

from __future__ import annotations

import pytest

from benchmarks.datasets import load_benchmark
from benchmarks.evalplus import hidden_tests
from sandbox import Job, Sandbox, Verdict


@pytest.mark.parametrize("split", [False, True], ids=["shared", "split"])
@pytest.mark.parametrize("name", ["humaneval+", "mbpp+"])
def test_every_reference_passes_its_hidden_tests(sandbox: Sandbox, name: str, split: bool) -> None:
    """Judged split too: whatever a reference returns crosses the codec (a Counter, a complex, a re.Match)."""
    tasks = load_benchmark(name)
    results = sandbox.run_many([Job(t.meta["reference"], t.hidden_tests, timeout=120, split=split) for t in tasks])
    failing = {t.id: r.detail[-300:] for t, r in zip(tasks, results, strict=True) if r.verdict is not Verdict.PASS}
    assert not failing
    assert {r.judged for r in results} == {"split" if split else "shared"}


def test_a_program_right_on_the_base_inputs_only_fails_the_plus_ones(sandbox: Sandbox) -> None:
    (task,) = load_benchmark("humaneval+", ids=["0"])  # has_close_elements
    base_only = "def has_close_elements(numbers, threshold):\n    return len(numbers) in (5, 6) and threshold < 0.5\n"
    (result,) = sandbox.run_many([Job(base_only, task.hidden_tests, timeout=60)])
    assert result.verdict is Verdict.FAIL and "has_close_elements(*" in result.detail


def _verdict(sandbox: Sandbox, program: str, reference: str, inputs: list, atol: float = 0) -> Verdict:
    entry = program.split("def ", 1)[1].split("(", 1)[0]
    (result,) = sandbox.run_many([Job(program, hidden_tests(entry, reference, inputs, [], atol), timeout=30)])
    return result.verdict


def test_floats_compare_within_tolerance_and_other_values_exactly(sandbox: Sandbox) -> None:
    reference = "def f(x):\n    return x / 3\n"
    assert _verdict(sandbox, "def f(x):\n    return x * (1 / 3)\n", reference, [[1.0], [2.0]]) is Verdict.PASS
    assert _verdict(sandbox, "def f(x):\n    return round(x / 3, 3)\n", reference, [[1.0]]) is Verdict.FAIL
    assert _verdict(sandbox, "def f(x):\n    return [x]\n", "def f(x):\n    return (x,)\n", [[1]]) is Verdict.FAIL


def test_find_zero_accepts_any_root(sandbox: Sandbox) -> None:
    reference = "def find_zero(xs):\n    return 1.0\n"  # x^2 - 1 has two roots
    program = "def find_zero(xs):\n    return -1.0\n"
    assert _verdict(sandbox, program, reference, [[[-1, 0, 1]]], atol=1e-4) is Verdict.PASS


def test_mbpp_inputs_are_rebuilt_as_the_references_expect(sandbox: Sandbox) -> None:
    (task,) = load_benchmark("mbpp+", ids=["106"])  # add_lists(list, tuple) -> tuple
    assert "(" in task.hidden_tests.split("_BASE = ", 1)[1].split("\n", 1)[0]
    wrong = "def add_lists(test_list, test_tup):\n    return list(test_tup) + test_list\n"
    results = sandbox.run_many([Job(p, task.hidden_tests, timeout=60) for p in (task.meta["reference"], wrong)])
    assert [r.verdict for r in results] == [Verdict.PASS, Verdict.FAIL]


def test_a_candidate_that_loops_fails_at_the_per_input_limit_not_the_job_timeout(sandbox: Sandbox) -> None:
    (task,) = load_benchmark("humaneval+", ids=["0"])
    loops = "def has_close_elements(numbers, threshold):\n    while True:\n        pass\n"
    (result,) = sandbox.run_many([Job(loops, task.hidden_tests, timeout=60)])
    assert result.verdict is Verdict.ERROR and "reference's time" in result.detail
    assert result.duration < 30

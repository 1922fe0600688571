"""Selection tests from examples stated in words: what the model transcribes is kept only if the prompt says it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from solver.examples import prose_tests, stated_examples
from solver.task import Task

PROMPT = '''def add_up(lst, scale=1):
    """Sum the list, times scale.
    For lst = [1,2,3] the output should be 6.
    Example: add_up([4, 5], scale=2) returns 18; an empty list gives 0.
    "abc" is not a list.
    """
'''
TASK = Task(id="t", prompt=PROMPT, entry_point="add_up")


def test_keeps_the_examples_the_prompt_states() -> None:
    answer = (
        "```python\nassert add_up([1, 2, 3]) == 6\nassert add_up([4, 5], scale=2) == 18\nassert add_up([]) == 0\n```"
    )
    assert stated_examples(answer, TASK) == [("add_up([1, 2, 3])", "6"), ("add_up([4, 5], scale=2)", "18"),
                                            ("add_up([])", "0")]  # fmt: skip


def test_drops_invented_values_other_functions_and_non_literals() -> None:
    answer = "\n".join([
        "assert add_up([7, 8]) == 15",  # 7, 8 and 15 appear nowhere in the prompt
        "assert sum([1, 2, 3]) == 6",  # not the entry point
        "assert add_up(list(range(3))) == 3",  # not a literal argument
        "assert add_up([1, 2]) == add_up([2, 1])",  # not a literal expectation
        "assert add_up(",  # not Python
        "print(add_up([1, 2, 3]))",  # not an assert
    ])  # fmt: skip
    assert stated_examples(answer, TASK) == []
    assert prose_tests(answer, TASK) == ""


def test_truth_forms_become_boolean_expectations() -> None:
    task = Task(id="t", prompt='def is_odd(n):\n    """is_odd(3) is true, is_odd(4) is not."""\n', entry_point="is_odd")
    answer = "assert is_odd(3)\nassert not is_odd(4)\nassert is_odd(4) is False"
    assert stated_examples(answer, task) == [("is_odd(3)", "True"), ("is_odd(4)", "False")]


def test_the_tests_are_a_module_that_imports_the_solution() -> None:
    tests = prose_tests("assert add_up([1, 2, 3]) == 6", TASK)
    assert tests.startswith("from solution import *")
    assert "def test_example_1():" in tests
    compile(tests, "tests.py", "exec")


@given(st.text())
def test_arbitrary_answers_never_raise_and_give_valid_modules(answer: str) -> None:
    tests = prose_tests(answer, TASK)
    if tests:
        compile(tests, "tests.py", "exec")

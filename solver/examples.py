"""Selection tests from examples stated in prose ("for lst = [1,2,3] the output should be 6").

Most prompts state their examples in words rather than as ``>>>`` lines. The cheap model rewrites them as asserts;
an assert is kept only if it calls the entry point with literal arguments, expects a literal, and every value in it
appears in the prompt's text, so the model can transcribe examples but not invent them.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from solver.task import Task, examples_to_tests

MAX_EXAMPLES = 10


def stated_examples(answer: str, task: Task) -> list[tuple[str, str]]:
    """(call, expected) pairs from the answer's asserts that the prompt itself states."""
    return _asserts(answer, task, stated_only=True)


def prose_tests(answer: str, task: Task) -> str:
    """A test module from the stated examples in a model's answer ("" when there are none)."""
    return examples_to_tests(stated_examples(answer, task))


def written_tests(answer: str, task: Task) -> str:
    """A test module from every literal assert on the entry point in a model's answer, stated in the prompt or not
    (the strong model's own tests: it may choose inputs, and is trusted to get their outputs right)."""
    return examples_to_tests(_asserts(answer, task, stated_only=False))


def _asserts(answer: str, task: Task, *, stated_only: bool) -> list[tuple[str, str]]:
    """Distinct (call, expected) pairs from the answer's literal asserts on the entry point, in order, at most
    MAX_EXAMPLES; with ``stated_only``, only those whose every value the prompt states."""
    examples: list[tuple[str, str]] = []
    for line in answer.splitlines():
        example = _example(line.strip(), task.entry_point)
        if example and example not in examples and (not stated_only or _stated(example, task.prompt)):
            examples.append(example)
    return examples[:MAX_EXAMPLES]


def _example(line: str, entry_point: str) -> tuple[str, str] | None:
    if not line.startswith("assert"):
        return None
    try:
        node = ast.parse(line).body[0]
    except (SyntaxError, ValueError, IndexError):
        return None
    if not isinstance(node, ast.Assert):
        return None
    test = node.test
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq | ast.Is):
        call, expected = test.left, test.comparators[0]
    elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        call, expected = test.operand, ast.Constant(False)
    else:
        call, expected = test, ast.Constant(True)
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == entry_point):
        return None
    try:
        for arg in [*call.args, *(k.value for k in call.keywords), expected]:
            ast.literal_eval(arg)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return ast.unparse(call), ast.unparse(expected)


def _stated(example: tuple[str, str], prompt: str) -> bool:
    """Every number and string in the example occurs in the prompt."""
    call, expected = example
    tree = ast.parse(f"({call}, {expected})")
    values = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)]
    text = prompt.lower()
    return all(_occurs(value, text) for value in values)


def _occurs(value: Any, text: str) -> bool:
    if isinstance(value, bool) or value is None:
        return True  # "true", "false", "none" are said in too many ways to check
    if isinstance(value, str):
        return value.lower() in text if value else ('""' in text or "''" in text or "empty" in text)
    if isinstance(value, int | float):
        forms = {repr(abs(value)), f"{abs(value):g}"}
        if isinstance(value, float) and value.is_integer():
            forms.add(str(int(abs(value))))
        return any(re.search(rf"(?<![\w.]){re.escape(form)}(?![\w]|\.\d)", text) for form in forms)
    return False

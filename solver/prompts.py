"""What the models are told. Short prompts and short answers: small models do worse as their context fills up,
and every generated token costs time and money."""

from __future__ import annotations

import re

from solver.models import Messages
from solver.task import Task

SYSTEM = "You are an expert Python programmer. You write correct, simple, self-contained code."


def _ask(task: Task) -> str:
    if re.search(rf"\bdef\s+{re.escape(task.entry_point)}\s*\(", task.prompt):
        what = f"Complete the Python function `{task.entry_point}` below."
    else:  # a statement in words (MBPP): name the function the tests will call
        what = f"Write the Python function `{task.entry_point}` that the task below asks for."
    return (
        f"{what} Answer with the complete function and the imports it needs in one ```python code block; no tests, "
        f"no example usage.\n\n```python\n{task.prompt.strip()}\n```"
    )


def solve_prompt(task: Task) -> Messages:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": _ask(task)}]


def examples_prompt(task: Task) -> Messages:
    return _asserts_request(
        task,
        f"The Python function `{task.entry_point}` below states examples of inputs and outputs in its text. Write "
        f"each example it states as one line `assert {task.entry_point}(...) == ...`. Use only examples written in "
        "the text; do not invent any and do not implement the function.",
    )


def tests_prompt(task: Task) -> Messages:
    """Tests, not a solution: a short answer that can judge the cheap model's candidates."""
    return _asserts_request(
        task,
        f"Write 5 tests for the Python function `{task.entry_point}` below, each one line `assert "
        f"{task.entry_point}(...) == ...` with literal inputs and the exact output the task asks for. Prefer small, "
        "ordinary inputs; include one edge case. Do not implement the function.",
    )


def _asserts_request(task: Task, instruction: str) -> Messages:
    ask = f"{instruction} Answer with the asserts in one ```python code block.\n\n```python\n{task.prompt.strip()}\n```"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ask}]


def output_prompt(task: Task, call: str) -> Messages:
    """What one call returns, by the task's own words: a short answer that judges between candidates."""
    ask = (f"Here is the task a Python function `{task.entry_point}` must do:\n\n```python\n{task.prompt.strip()}\n"
           f"```\n\nWhat must `{call}` return? Reason in a sentence or two if you need to, then give the value alone, "
           "as a Python literal, on the last line. Do not write the function.")  # fmt: skip
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ask}]


def escalation_prompt(task: Task, failures: list[tuple[str, str]]) -> Messages:
    """The task plus a few failed attempts and why they failed, so the strong model avoids the same traps.
    With no failures it is exactly the solve prompt (so strong-alone answers are shared through the cache)."""
    parts = [_ask(task)]
    if failures:
        parts.append("These attempts failed the tests; do not repeat their mistakes.")
        for n, (program, feedback) in enumerate(failures, 1):
            parts.append(f"Attempt {n}:\n```python\n{program.strip()}\n```\nTest output:\n```\n{feedback[-1500:]}\n```")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]


def repair_prompt(task: Task, attempts: list[tuple[str, str]]) -> Messages:
    """The solve prompt, then each attempt as the model's own answer followed by its test output and a request to
    fix it: a conversation the model continues. ``attempts`` is the latest alone, or the whole chain."""
    messages = solve_prompt(task)
    for program, feedback in attempts:
        messages.append({"role": "assistant", "content": f"```python\n{program.strip()}\n```"})
        messages.append({"role": "user", "content": (
            f"This failed the tests:\n```\n{feedback[-1500:]}\n```\nFix it. Answer with the complete function and "
            "the imports it needs in one ```python code block."
        )})  # fmt: skip
    return messages

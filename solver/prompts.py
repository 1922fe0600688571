"""What the models are told. Short prompts and short answers: small models do worse as their context fills up,
and every generated token costs time and money."""

from __future__ import annotations

from solver.models import Messages
from solver.task import Task

SYSTEM = "You are an expert Python programmer. You write correct, simple, self-contained code."


def _ask(task: Task) -> str:
    return (
        f"Complete the Python function `{task.entry_point}` below. Answer with the complete function and the "
        "imports it needs in one ```python code block; no tests, no example usage.\n\n"
        f"```python\n{task.prompt.strip()}\n```"
    )


def solve_prompt(task: Task) -> Messages:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": _ask(task)}]


def escalation_prompt(task: Task, failures: list[tuple[str, str]]) -> Messages:
    """The task plus a few failed attempts and why they failed, so the strong model avoids the same traps.
    With no failures it is exactly the solve prompt (so strong-alone answers are shared through the cache)."""
    parts = [_ask(task)]
    if failures:
        parts.append("These attempts failed the tests; do not repeat their mistakes.")
        for n, (program, feedback) in enumerate(failures, 1):
            parts.append(f"Attempt {n}:\n```python\n{program.strip()}\n```\nTest output:\n```\n{feedback[-1500:]}\n```")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]

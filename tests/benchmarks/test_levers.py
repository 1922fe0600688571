"""The lever comparison's arithmetic, on records made up so that every figure is known."""

from __future__ import annotations

from typing import Any

from benchmarks.levers import compare


def record(hidden: str, *, solved: bool = True, escalated: bool = False, strong: float = 0.0,
           unsure: bool = False) -> dict[str, Any]:  # fmt: skip
    calls = [{"tier": "cheap", "cost": 0.01}] + ([{"tier": "strong", "cost": strong}] if strong else [])
    return {"hidden": hidden, "solved": solved, "escalated": escalated, "calls": calls, "unsure": unsure,
            "selection": "given"}  # fmt: skip


def test_a_judge_that_fixes_one_false_pass_and_loses_one_right_answer() -> None:
    base = {"a": record("FAIL"), "b": record("PASS"), "c": record("PASS"), "d": record("FAIL", solved=False)}
    row = {
        "a": record("PASS", strong=0.1),  # a question settled it: a false pass removed
        "b": record("FAIL", strong=0.1, unsure=True),  # it misled: a right answer lost
        "c": record("PASS"),
        "d": record("FAIL", solved=False, escalated=True, strong=1.0),  # an escalation it caused, not a question
    }
    strong_alone = {i: {"calls": [{"tier": "strong", "cost": 1.0}]} for i in base}
    assert compare(row, base, strong_alone) == [
        "4",
        "1",
        "1",
        "2/3 -> 2/3",
        "1",
        "0 -> 1",
        "2 at 10% of a solution",
        "+30.0 pts",  # 1.2 of strong-alone's 4.0
    ]

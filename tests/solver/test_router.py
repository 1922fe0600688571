"""The difficulty router: what it learns from labelled tasks, how its threshold is calibrated, its file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solver.errors import InputError
from solver.router import FEATURES, Router, cheap_failed, features, train
from solver.task import Task


def task(n: int, words: int) -> Task:
    doc = " ".join(["word"] * words)
    return Task(id=f"t{n}", prompt=f'def f{n}(x: int) -> int:\n    """{doc}"""\n', entry_point=f"f{n}")


def test_features_describe_the_prompt_and_whether_tests_come_with_it() -> None:
    plain = Task(id="a", prompt="Write a function to add two numbers.\nassert add(1, 2) == 3\n", entry_point="add")
    typed = Task(id="b", prompt='def add(a: int, b: int) -> int:\n    """>>> add(1, 2)\n    3"""\n',
                 entry_point="add", tests="def test(): pass")  # fmt: skip
    named = dict(zip(FEATURES, features(plain), strict=True)), dict(zip(FEATURES, features(typed), strict=True))
    assert named[0]["parameters"] == 0 and named[1]["parameters"] == 2  # MBPP's prompts have no def
    assert named[0]["type hints"] == 0 and named[1]["type hints"] == 1
    assert named[0]["has tests"] == 0 and named[1]["has tests"] == 1
    assert named[0]["log examples"] > 0 and named[1]["log examples"] > 0


def test_a_router_learns_which_prompts_fail_and_routes_its_calibrated_share() -> None:
    tasks = [task(n, words=5 + 10 * n) for n in range(20)]
    failed = [n >= 12 for n in range(20)]  # the long ones fail
    router = train(tasks, failed, strong_share=0.25)
    assert router.strong_share == pytest.approx(0.25)
    routed = [router.routes_to_strong(t) for t in tasks]
    assert routed == [n >= 15 for n in range(20)]  # the longest quarter
    p = router.probabilities(tasks)
    assert p[19] > 0.5 > p[0]
    never = train(tasks, failed, strong_share=0.0)
    assert not any(never.routes_to_strong(t) for t in tasks)


def test_a_router_needs_both_outcomes_and_a_sensible_share() -> None:
    tasks = [task(n, words=n) for n in range(4)]
    with pytest.raises(InputError, match="solved and tasks it failed"):
        train(tasks, [True] * 4, strong_share=0.5)
    with pytest.raises(InputError, match="between 0 and 1"):
        train(tasks, [True, False, True, False], strong_share=1.5)


def test_a_router_file_round_trips_and_a_bad_one_is_one_line(tmp_path: Path) -> None:
    tasks = [task(n, words=3 * n) for n in range(10)]
    router = train(tasks, [n > 6 for n in range(10)], strong_share=0.3)
    router.save(tmp_path / "router.json")
    assert Router.load(tmp_path / "router.json") == router
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match="not a router file"):
        Router.load(tmp_path / "bad.json")
    data = json.loads((tmp_path / "router.json").read_text())
    (tmp_path / "old.json").write_text(json.dumps({**data, "features": ["log chars"]}))
    with pytest.raises(InputError, match="other features"):
        Router.load(tmp_path / "old.json")


def test_the_label_is_whether_a_cheap_answer_passed() -> None:
    assert not cheap_failed({"tier": "cheap", "hidden": "PASS", "verdict": "PASS"})
    assert cheap_failed({"tier": "cheap", "hidden": "FAIL", "verdict": "PASS"})  # selection tests fooled
    assert cheap_failed({"tier": "strong", "hidden": "PASS", "verdict": "PASS"})  # escalated
    assert not cheap_failed({"tier": "cheap", "hidden": None, "verdict": "PASS"})  # unscored: the task's own tests

"""The escalation gate after sampling: trained on escalations' evidence, it withholds those the strong model fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solver.errors import InputError
from solver.gate import Gate, escalations, train


def evidence(*, erring: int, samples: int = 5, tests_passed: int = 0) -> dict[str, float]:
    """The evidence of a task whose ``samples`` cheap samples were all distinct and all failed, ``erring`` of them
    by raising (the rest on an assertion)."""
    return {"samples": samples, "distinct": samples, "passing": 0, "failing": samples - erring, "erring": erring,
            "tests passed": tests_passed, "behaviours": 0, "top votes": 0, "second votes": 0,
            "judge matched": 0, "judge matched none": 0}  # fmt: skip


# Where every cheap sample raised, the strong model failed too; where they failed on assertions, it solved the task.
ROWS = [(evidence(erring=5), True)] * 6 + [(evidence(erring=4), True)] * 2 + [(evidence(erring=0), False)] * 6
ROWS += [(evidence(erring=1, tests_passed=2), False)] * 2 + [(evidence(erring=4), False)]


def test_the_gate_withholds_what_the_strong_model_failed_and_none_it_solved_in_training() -> None:
    gate = train([e for e, _ in ROWS], [f for _, f in ROWS])
    withheld = [gate.withholds(e) for e, _ in ROWS]
    assert not any(w for w, (_, failed) in zip(withheld, ROWS, strict=True) if not failed)
    assert all(gate.withholds(e) for e, failed in ROWS if e["erring"] == 5)  # the clear cases
    assert not gate.withholds(evidence(erring=0))


def test_a_gate_file_round_trips_and_a_wrong_one_says_what_to_do(tmp_path: Path) -> None:
    gate = train([e for e, _ in ROWS], [f for _, f in ROWS])
    gate.save(tmp_path / "gate.json")
    assert Gate.load(tmp_path / "gate.json") == gate
    router_like = {**json.loads((tmp_path / "gate.json").read_text()), "gate features": ["log chars"]}
    (tmp_path / "old.json").write_text(json.dumps(router_like))
    with pytest.raises(InputError, match="other features; train it again"):
        Gate.load(tmp_path / "old.json")
    (tmp_path / "junk.json").write_text("{")
    with pytest.raises(InputError, match="not a gate file"):
        Gate.load(tmp_path / "junk.json")


def test_training_needs_both_outcomes() -> None:
    with pytest.raises(InputError, match="solved and escalations it failed"):
        train([evidence(erring=5)] * 3, [True] * 3)


def test_the_rows_are_the_committees_escalations_labelled_by_strong_alone() -> None:
    committee = {
        "a": {"escalated": True, "evidence": evidence(erring=5)},
        "b": {"escalated": False, "evidence": evidence(erring=0)},  # solved cheaply: not a row
        "c": {"escalated": True, "evidence": evidence(erring=0)},
        "d": {"escalated": True, "evidence": {}},  # a record from before evidence was kept
    }
    strong = {"a": {"hidden": "FAIL"}, "b": {"hidden": "PASS"}, "c": {"hidden": "PASS"}, "d": {"hidden": "PASS"}}
    assert [(e.task_id, e.strong_failed) for e in escalations(committee, strong)] == [("a", True), ("c", False)]

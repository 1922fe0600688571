"""The committee's pure decisions: selection, when to stop, when to escalate, pass@k."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.result import RunResult, Verdict
from solver.policy import (
    Candidate,
    CommitteeConfig,
    Next,
    feedback_for_escalation,
    next_step,
    pass_at_k,
    round_sizes,
    select,
)

CONFIG = CommitteeConfig()


def cand(verdict: Verdict, passed: int = 0, total: int = 2, index: int = 0, detail: str = "") -> Candidate:
    return Candidate(f"program {index}", "cheap", index, RunResult(verdict, passed, total, detail=detail))


def test_a_pass_wins_over_more_tests_passed_elsewhere() -> None:
    best = select([cand(Verdict.FAIL, 1, 2, 0), cand(Verdict.PASS, 1, 1, 1), cand(Verdict.ERROR, 0, 2, 2)])
    assert best is not None and best.sample_index == 1


def test_among_failures_more_tests_passed_wins_then_fail_over_crash_then_earlier() -> None:
    assert select([cand(Verdict.FAIL, 0, 2, 0), cand(Verdict.FAIL, 1, 2, 1)]).sample_index == 1  # type: ignore[union-attr]
    assert select([cand(Verdict.ERROR, 0, 2, 0), cand(Verdict.FAIL, 0, 2, 1)]).sample_index == 1  # type: ignore[union-attr]
    assert select([cand(Verdict.PASS, 2, 2, 3), cand(Verdict.PASS, 2, 2, 1)]).sample_index == 1  # type: ignore[union-attr]


def test_infra_errors_never_win() -> None:
    assert select([cand(Verdict.INFRA_ERROR, index=0)]) is None
    assert select([cand(Verdict.INFRA_ERROR, index=0), cand(Verdict.ERROR, index=1)]).sample_index == 1  # type: ignore[union-attr]


def test_next_step() -> None:
    assert next_step([cand(Verdict.PASS, 2)], cheap_left=5, can_escalate=True, config=CONFIG) is Next.ACCEPT
    assert next_step([cand(Verdict.FAIL)], cheap_left=5, can_escalate=True, config=CONFIG) is Next.SAMPLE_MORE
    assert next_step([cand(Verdict.FAIL)], cheap_left=0, can_escalate=True, config=CONFIG) is Next.ESCALATE
    assert next_step([cand(Verdict.FAIL)], cheap_left=0, can_escalate=False, config=CONFIG) is Next.GIVE_UP
    no_escalation = CommitteeConfig(escalate=False)
    assert next_step([cand(Verdict.FAIL)], cheap_left=0, can_escalate=True, config=no_escalation) is Next.GIVE_UP


def test_a_broken_sandbox_never_escalates() -> None:
    infra = [cand(Verdict.INFRA_ERROR, index=i) for i in range(3)]
    assert next_step(infra, cheap_left=0, can_escalate=True, config=CONFIG) is Next.INFRA
    mixed = [cand(Verdict.FAIL, index=0), cand(Verdict.INFRA_ERROR, index=1)]
    assert next_step(mixed, cheap_left=5, can_escalate=True, config=CONFIG) is Next.INFRA
    assert next_step([*mixed, cand(Verdict.PASS, 2, index=2)], cheap_left=0, can_escalate=True, config=CONFIG) is (
        Next.ACCEPT
    )


def test_strong_alone_is_escalation_with_no_cheap_samples() -> None:
    assert next_step([], cheap_left=0, can_escalate=True, config=CONFIG) is Next.ESCALATE


def test_escalation_feedback_is_the_best_failures() -> None:
    failures = feedback_for_escalation(
        [cand(Verdict.ERROR, 0, 2, 0, "boom"), cand(Verdict.FAIL, 1, 2, 1, "close"), cand(Verdict.PASS, 2, 2, 2)],
        limit=1,
    )
    assert failures == [("program 1", "close")]


@pytest.mark.parametrize(("n", "c", "k", "expected"), [(10, 0, 1, 0.0), (10, 10, 1, 1.0), (10, 3, 1, 0.3),
                                                       (10, 1, 10, 1.0), (5, 2, 2, 0.7)])  # fmt: skip
def test_pass_at_k_known_values(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected)


@given(st.integers(1, 50).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_is_a_probability_growing_with_k(nck: tuple[int, int, int]) -> None:
    n, c, k = nck
    p = pass_at_k(n, c, k)
    assert 0.0 <= p <= 1.0
    if k < n:
        assert pass_at_k(n, c, k + 1) >= p - 1e-12


def test_rounds_start_with_the_greedy_answer_alone() -> None:
    assert round_sizes(CommitteeConfig(samples=10, batch=4), batched=True) == [1, 4, 4, 1]
    assert round_sizes(CommitteeConfig(samples=3, batch=4), batched=False) == [1, 1, 1]
    assert round_sizes(CommitteeConfig(samples=4, batch=2, greedy_first=False), batched=True) == [2, 2]
    assert round_sizes(CommitteeConfig(samples=0), batched=True) == []

"""Endpoint faults over real HTTP: every kind is retried and the run ends right, with the ledger holding exactly the
tokens of the answers the server completed."""

from __future__ import annotations

from pathlib import Path

from benchmarks.datasets import load_benchmark
from benchmarks.fake_openai import FAULTS, NO_CODE
from benchmarks.faults import run_with_faults
from sandbox import Verdict


def test_every_fault_is_retried_and_the_ledger_counts_only_completed_answers(tmp_path: Path) -> None:
    tasks = load_benchmark("humaneval", ids=["0", "2", "3", "12", "38", "53"])
    # Each kind once, answers in between. The answer with no code goes first, so a cheap request gets it (the cheap
    # committee samples on); on the strong model's one answer it would leave the task unsolved, rightly.
    kinds = [NO_CODE, *(kind for kind in FAULTS if kind != NO_CODE)]
    schedule = tuple(step for kind in kinds for step in (kind, ""))
    run = run_with_faults(tasks, schedule=schedule, cache_dir=tmp_path)
    assert set(run.injected) == set(FAULTS)
    # A fault not retried would end its task as an infra error (the client raises once its retries run out).
    assert [s.hidden for s in run.solutions] == [Verdict.PASS] * len(tasks)
    assert run.ledger_tokens == run.billed_tokens > 0

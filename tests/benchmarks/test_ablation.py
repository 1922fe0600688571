"""`committee bench --ablate` and the router as a user runs them: the levers one at a time in one run, the oracle
router computed from it, a router trained on the run's logs, and a resumed run that adds the router's row without
asking the model again for anything it answered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.fake_openai import fake_openai, replaying_model
from benchmarks.kill_resume import bench, finish
from tests.benchmarks.test_bench import TASK_IDS, TASKS, WRONG, records


def report(run: Path) -> dict[str, dict[str, Any]]:
    return {row["config"]: row for row in json.loads((run / "report.json").read_text())}


def test_ablation_then_a_router_trained_on_its_logs(tmp_path: Path) -> None:
    requests: list[str] = []
    model = replaying_model(TASKS, WRONG)

    def counting(request: dict[str, Any]) -> Any:
        requests.append(request["model"])
        return model(request)

    with fake_openai(counting) as server:
        stdout = finish(bench(server.base_url, tmp_path, "r", TASK_IDS, "--ablate"))
        run = tmp_path / "r"
        rows = report(run)
        assert list(rows) == ["cheap-alone", "strong-alone", "examples", "+agreement", "+model-tests", "+repair",
                              "+strong-tests", "+agreement-on-pass", "+strong-judge", "oracle-router"]  # fmt: skip
        assert "the levers one at a time" in stdout
        assert rows["+repair"]["passed"] == 6 and rows["+repair"]["escalated"] == 2
        # the oracle router: the cheap committee's 4 cheap solutions, strong-alone on the 2 it cannot solve
        assert rows["oracle-router"]["passed"] == 6 and rows["oracle-router"]["escalated"] == 2
        assert rows["oracle-router"]["cost"] < rows["+repair"]["cost"]  # no cheap samples spent on the hard two
        assert not (run / "+router.jsonl").exists()  # no router given

        train = subprocess.run([sys.executable, "-m", "solver", "router", "train", "humaneval",
                                str(run / "+repair.jsonl"), "--strong-share", "0.34", "--out",
                                str(tmp_path / "router.json")], capture_output=True, text=True, check=True)  # fmt: skip
        assert "trained on 6 tasks (2 the cheap committee failed)" in train.stderr

        asked = len(requests)
        finish(bench(server.base_url, tmp_path, "r", TASK_IDS, "--ablate", "--router", str(tmp_path / "router.json")))
    rows = report(run)
    assert {"+router", "all"} <= rows.keys()
    routed = [r for r in records(run, "+router") if r["routed"]]
    assert len(routed) == rows["+router"]["routed"] == 2
    for record in routed:  # straight to the strong model: not one cheap sample
        assert record["tier"] == "strong" and {call["tier"] for call in record["calls"]} == {"strong"}
    # every answer the router's run needed was answered before (strong-alone asked the same prompt)
    assert all(call["cached"] for record in records(run, "+router") for call in record["calls"])
    assert len(requests) == asked


def test_ablate_needs_a_strong_model(tmp_path: Path) -> None:
    process = subprocess.run([sys.executable, "-m", "solver", "bench", "humaneval", "--limit", "1", "--ablate",
                              "--strong", "none", "--runs-dir", str(tmp_path)],
                             capture_output=True, text=True)  # fmt: skip
    assert process.returncode == 2 and "--ablate compares against the strong model" in process.stderr

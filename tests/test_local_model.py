"""End to end with a real model: the CLI starts llama.cpp's server on Qwen2.5-Coder-0.5B and runs HumanEval tasks
through the committee, the sandbox and Ray. Slow (a minute or two on 2 cores); runs in CI, where the model is
fetched by `make test`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from solver.local import MODELS_DIR


def test_real_cheap_model_on_three_humaneval_tasks(tmp_path: Path) -> None:
    if not (MODELS_DIR / "qwen2.5-coder-0.5b-instruct.gguf").is_file():
        pytest.fail(f"the 0.5B model is missing from {MODELS_DIR}: run `committee models fetch` (make test does)")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "solver",
            "bench",
            "humaneval",
            "--limit",
            "3",
            "--strong",
            "none",
            "--samples",
            "3",
            "--batch",
            "3",
            "--runs-dir",
            str(tmp_path),
            "--run-id",
            "real",
            "--cache",
            str(tmp_path / "cache"),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "real" / "report.json").read_text())
    by_config = {row["config"]: row for row in report}
    assert set(by_config) == {"cheap-alone", "committee"}
    for row in report:
        assert row["tasks"] == 3 and row["infra_errors"] == 0
        assert row["cheap_tokens"] > 0 and row["strong_tokens"] == 0
    assert by_config["committee"]["passed"] >= 1  # Qwen2.5-Coder-0.5B solves HumanEval/0, /3 and /4 greedily
    records = [json.loads(line) for line in (tmp_path / "real" / "committee.jsonl").read_text().splitlines()]
    assert all(r["program"] and r["hidden"] in ("PASS", "FAIL", "ERROR", "TIMEOUT") for r in records)

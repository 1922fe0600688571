"""The `committee` command as a user runs it: a real process, one-line errors, exit codes, results on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_openai import Reply, fake_openai, fenced


def committee(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "solver", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def tasks_file(tmp_path: Path) -> Path:
    record = {
        "task_id": "demo/0",
        "prompt": 'def double(x: int) -> int:\n    """Twice x.\n    >>> double(2)\n    4\n    """\n',
        "entry_point": "double",
        "canonical_solution": "    return 2 * x\n",
        "test": "def check(candidate):\n    assert candidate(5) == 10\n",
    }
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(record) + "\n")
    return path


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["solve", "missing.jsonl"], 1, "missing.jsonl: no such task file"),
        (["solve", "TASKS", "--cheap", "nonsense"], 1, "model 'nonsense' not understood"),
        (
            ["solve", "TASKS", "--cheap", "m@http://127.0.0.1:9/v1?key=COMMITTEE_NO_SUCH_KEY"],
            1,
            "set the environment variable COMMITTEE_NO_SUCH_KEY",
        ),
        (["solve", "TASKS", "--price", "m=abc"], 1, "expected MODEL=IN,OUT"),
        (["bench", "nope"], 2, "Invalid value"),
        (["solve", "TASKS", "--samples", "-1"], 2, "Invalid value"),
    ],
)
def test_errors_are_one_line_with_the_right_exit_code(
    tasks_file: Path, args: list[str], code: int, message: str
) -> None:
    done = committee(*[str(tasks_file) if a == "TASKS" else a for a in args])
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_solve_writes_results_and_prints_a_table(tasks_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with fake_openai(lambda r: Reply([fenced("def double(x):\n    return x * 2")])) as server:
        done = committee("solve", str(tasks_file), "--cheap", f"m@{server.base_url}", "--strong", "none",
                         "--out", str(out), "--cache", str(tmp_path / "cache"), "--containers", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "demo/0" in done.stdout and "PASS" in done.stdout
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["solved"] and record["tier"] == "cheap" and record["calls"][0]["tokens_out"] == 50


def test_dead_endpoint_fails_the_run_with_exit_1(tasks_file: Path, tmp_path: Path) -> None:
    out, cache = str(tmp_path / "r.jsonl"), str(tmp_path / "cache")
    done = committee("solve", str(tasks_file), "--cheap", "m@http://127.0.0.1:9/v1", "--strong", "none",
                     "--out", out, "--cache", cache, "--containers", "1")  # fmt: skip
    assert done.returncode == 1
    assert "infra error" in done.stderr

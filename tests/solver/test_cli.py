"""The `committee` command as a user runs it: a real process, one-line errors, exit codes, results on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.fake_openai import Reply, fake_openai, fenced


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


def hosted_pair(request: dict[str, Any]) -> Reply:
    """The fake server posing as two hosted models: the cheap one answers wrong, the strong one right."""
    body = "x * 2" if request["model"] != "openai/gpt-4o-mini" else "x + 3"
    return Reply([fenced(f"def double(x):\n    return {body}")] * request["n"], prompt_tokens=1000)


@pytest.mark.parametrize(
    ("strong", "warned"), [("deepseek/deepseek-chat", False), ("house-model", True)], ids=["listed", "unpriced"]
)
def test_hosted_models_are_priced_at_their_list_price_or_said_to_be_unpriced(
    tasks_file: Path, tmp_path: Path, strong: str, warned: bool
) -> None:
    out = tmp_path / "results.jsonl"
    with fake_openai(hosted_pair) as server:
        done = committee("solve", str(tasks_file), "--cheap", f"openai/gpt-4o-mini@{server.base_url}", "--strong",
                         f"{strong}@{server.base_url}", "--samples", "1", "--out", str(out), "--cache",
                         str(tmp_path / "cache"), "--containers", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    output = " ".join((done.stdout + done.stderr).split())
    assert "cheap openai/gpt-4o-mini: openai gpt-4o-mini list price" in output
    assert ("has no known price" in output) == warned and ("unpriced" in output) == warned
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    cheap_cost = (1000 * 0.15 + 50 * 0.60) / 1e6  # gpt-4o-mini: $0.15 in, $0.60 out per million
    assert [c["price_basis"] for c in record["calls"]] == ["list", "unpriced" if warned else "list"]
    assert record["calls"][0]["cost"] == pytest.approx(cheap_cost)
    assert (record["calls"][1]["cost"] > 0) != warned


@pytest.mark.parametrize("command", ["solve", "bench"])
def test_dead_endpoint_stops_the_run_before_anything_is_written(command: str, tasks_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    where = ["solve", str(tasks_file), "--out", str(out)] if command == "solve" else ["bench", "humaneval",
             "--limit", "1", "--runs-dir", str(out)]  # fmt: skip
    done = committee(*where, "--cheap", "m@http://127.0.0.1:9/v1", "--strong", "none", "--cache", str(tmp_path))
    assert done.returncode == 1
    assert "the cheap endpoint http://127.0.0.1:9/v1 does not answer" in done.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"task_id": "a", "prompt": "def f(): pass"}', ":1: field 'entry_point' must be a non-empty string"),
        ('{"task_id": "a", "prompt": 3, "entry_point": "f"}', ":1: field 'prompt' must be a non-empty string"),
        ('{"task_id": "a", "prompt": "x", "entry_point": "f"}\nnot json', ":2: invalid JSON"),
        ('{"task_id": "a", "prompt": "x", "entry_point": "f", "tests": "def test_("}', "tests are not valid Python"),
        (json.dumps({"task_id": "a", "prompt": "x" * 300_000, "entry_point": "f"}), "the limit is 200,000"),
        ('[{"task_id": "a"', "invalid JSON at line 1"),
        ("", "holds no tasks"),
    ],
    ids=["missing field", "wrong type", "invalid JSON line", "broken tests", "huge prompt", "cut short", "empty"],
)
def test_malformed_task_file_is_one_line_and_writes_nothing(tmp_path: Path, content: str, message: str) -> None:
    path, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    path.write_text(content)
    done = committee("solve", str(path), "--out", str(out), "--cheap", "m@http://127.0.0.1:9/v1", "--strong", "none")
    assert done.returncode == 1
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not out.exists()


def test_a_vllm_model_without_vllm_installed_is_one_line(tasks_file: Path) -> None:
    done = committee("solve", str(tasks_file), "--cheap", "vllm:qwen2.5-coder-0.5b-instruct", "--strong", "none",
                     env={"COMMITTEE_VLLM_PYTHON": "/nonexistent/python3"})  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "vLLM is not installed" in done.stderr and "committee models install-vllm" in done.stderr

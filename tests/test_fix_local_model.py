"""`committee fix` with the real local models (llama.cpp: Qwen2.5-Coder 0.5B cheap, 1.5B strong) on a fixture
repository with an off-by-one: the CLI runs its tests in the sandbox, the models' patches are verified there, and the
fix lands in the working tree. Runs in CI, where `make test` fetches the models."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.fix_fixtures import FIXTURES
from solver.local import MODELS_DIR

pytestmark = pytest.mark.usefixtures("engine")


def test_real_models_fix_an_off_by_one(tmp_path: Path) -> None:
    for name in ("qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct"):
        if not (MODELS_DIR / f"{name}.gguf").is_file():
            pytest.fail(f"{name} is missing from {MODELS_DIR}: run `committee models fetch` (make test does)")
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "off_by_one", repo)
    done = subprocess.run(
        [sys.executable, "-m", "solver", "fix", "--repo", str(repo), "--cache", str(tmp_path / "cache"),
         "--summary", str(tmp_path / "summary.md")],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = (tmp_path / "summary.md").read_text()
    assert "committee fix: fixed" in summary and "`tests.test_windows::test_pairs`" in summary
    assert (repo / "windows.py").read_text() != (FIXTURES / "off_by_one" / "windows.py").read_text()
    assert (repo / "tests").exists() and sorted(p.name for p in (repo / "tests").iterdir()) == ["test_windows.py"]

"""`committee bench fix` end to end on a real package's injected bug: the package's own suite in the sandbox, a
scripted model over real HTTP, SWE-bench scoring on the whole suite, resume without paying twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from benchmarks.fake_openai import Reply, fake_openai
from benchmarks.fixbench.cases import load_cases, load_packages, repository
from solver.cli import cli

pytestmark = pytest.mark.usefixtures("engine")
CASE = "cachetools-02"


def reverse(diff: str) -> str:
    """The diff that undoes ``diff``: its fix."""
    swapped = {"-": "+", "+": "-"}
    lines = []
    for line in diff.splitlines(keepends=True):
        if line.startswith(("---", "+++")):
            lines.append(line)
        elif line[:1] in swapped:
            lines.append(swapped[line[0]] + line[1:])
        elif line.startswith("@@"):
            old, new = line.split()[1:3]
            lines.append(f"@@ -{new[1:]} +{old[1:]} @@\n")
        else:
            lines.append(line)
    return "".join(lines)


def test_the_committee_escalates_where_cheap_patches_fail_and_the_fix_is_scored_on_the_whole_suite(
    tmp_path: Path,
) -> None:
    case = next(c for c in load_cases() if c.id == CASE)
    fix = f"The length check is off by one.\n\n```diff\n{reverse(case.diff)}```\n"
    tests_edit = "FILE: tests/test_lru.py\n```python\ndef test_nothing():\n    pass\n```\n"

    def model(request: dict[str, Any]) -> Reply:
        prompt = request["messages"][-1]["content"]
        assert "Running `pytest -o addopts= tests` gives" in prompt or len(request["messages"]) > 2
        if request["model"] == "strong":
            return Reply([fix])
        n = request.get("n", 1)
        return Reply(([tests_edit, "I am not sure."] * n)[:n])

    with fake_openai(model) as server:
        args = ["bench", "fix", "--tasks", CASE, "--cheap", f"cheap@{server.base_url}", "--strong",
                f"strong@{server.base_url}", "--run-id", "t", "--runs-dir", str(tmp_path), "--cache",
                str(tmp_path / "cache"), "--price", "cheap=1,2", "--price", "strong=50,100"]  # fmt: skip
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        asked = len(server.requests)
        again = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert again.exit_code == 0 and len(server.requests) == asked  # resumed: nothing asked again
    records = {name: json.loads((tmp_path / "t" / f"{name}.jsonl").read_text())
               for name in ("cheap-alone", "strong-alone", "committee")}  # fmt: skip
    assert not records["cheap-alone"]["resolved"] and records["cheap-alone"]["status"] == "not fixed"
    for name in ("strong-alone", "committee"):
        assert (records[name]["resolved"], records[name]["restored"], records[name]["tier"]) == (True, True, "strong")
        assert records[name]["changed"] == [case.file]
    assert records["committee"]["samples"] == 1 + 4 + 1  # greedy, a round, the strong answer (no repair of nothing)
    report = {r["config"]: r for r in json.loads((tmp_path / "t" / "report.json").read_text())}
    assert report["committee"]["resolved"] == 1 and report["cheap-alone"]["resolved"] == 0
    assert 0 < report["committee"]["cost_fraction_of_strong_alone"] < 1.5
    assert (tmp_path / "t" / "report.png").stat().st_size > 0
    assert "| cachetools | boundary | 1 | 0 | 1 | 1 |" in result.output
    with fake_openai(model) as server:  # one lever more on the same run: only it runs, from the same cache
        args[args.index("--cheap") + 1 : args.index("--strong") + 2] = [
            f"cheap@{server.base_url}", "--strong", f"strong@{server.base_url}"]  # fmt: skip
        lever = CliRunner().invoke(cli, [*args, "--ablate", "--configs", "committee,without-spread"])
        assert lever.exit_code == 0, lever.output
        unknown = CliRunner().invoke(cli, [*args, "--configs", "committee,nope"])
        assert unknown.exit_code == 2 and "no configuration nope in this run" in unknown.output
    report = {r["config"]: r for r in json.loads((tmp_path / "t" / "report.json").read_text())}
    assert list(report) == ["committee", "without-spread"] and report["without-spread"]["resolved"] == 1


def test_the_shipped_bug_breaks_exactly_its_recorded_tests() -> None:
    """A case's record replays: the package's suite on the buggy tree fails what the record says, on this machine."""
    from benchmarks.fixbench.cases import buggy
    from sandbox.repo import RepoSandbox

    packages, cases = load_packages(), load_cases()
    sandbox = RepoSandbox()
    for case in [c for c in cases if c.package == "cachetools"][:2]:
        package = packages[case.package]
        files = buggy(case, repository(package))
        sandbox.start(files)
        run = sandbox.run(files, package.pytest_args)
        assert set(package.passing) - run.passing == set(case.fail_to_pass)
    sandbox.close()

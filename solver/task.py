"""Tasks: what the solver is asked, and the tests it may select with (apart from the hidden ones that score it)."""

from __future__ import annotations

import ast
import doctest
import gzip
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solver.errors import InputError

MAX_PROMPT_CHARS = 200_000


@dataclass(frozen=True)
class Task:
    """One code task. Test sources are pytest-style modules that import from ``solution``."""

    id: str
    prompt: str
    """What the model sees: usually a function signature with a docstring."""
    entry_point: str
    """The function the tests call."""
    tests: str = ""
    """Selection tests: what a user would have (the prompt's examples, a repository's tests). May be empty."""
    hidden_tests: str = ""
    """Scoring tests, never shown to the solver and never used to select."""
    language: str = "python"
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def load_tasks(path: str | Path) -> list[Task]:
    """Read tasks from a JSON list or JSONL file (optionally gzipped), in our format or HumanEval's."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such task file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            text = f.read()
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as e:  # gzip: cut short (EOF) or corrupt (zlib)
        raise InputError(f"{path}: cannot read it as UTF-8 text ({e})") from e
    tasks = list(_parse(text, path))
    if not tasks:
        raise InputError(f"{path}: holds no tasks")
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"{path}: task id {dup!r} appears more than once")
    return tasks


def _parse(text: str, path: Path) -> Iterator[Task]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: invalid JSON at line {e.lineno}: {e.msg}") from e
        except (ValueError, RecursionError) as e:  # valid syntax Python refuses: nested too deep, huge integers
            raise InputError(f"{path}: cannot read its JSON ({type(e).__name__}: {_first_line(e)})") from e
        for n, record in enumerate(records, 1):
            yield task_from_record(record, f"{path}: record {n}")
        return
    for n, line in enumerate(text.split("\n"), 1):  # not splitlines(): JSON strings may hold U+2028 and friends
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{n}: invalid JSON ({e.msg}); expected one task object per line") from e
        except (ValueError, RecursionError) as e:
            raise InputError(f"{path}:{n}: cannot read its JSON ({type(e).__name__}: {_first_line(e)})") from e
        yield task_from_record(record, f"{path}:{n}")


def task_from_record(record: Any, where: str = "task") -> Task:
    """A Task from our own record or HumanEval's (task_id, prompt, entry_point, test)."""
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    task_id = record.get("id", record.get("task_id"))
    fields = {"id": task_id, "prompt": record.get("prompt"), "entry_point": record.get("entry_point")}
    for name, value in fields.items():
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{where}: field {name!r} must be a non-empty string")
    prompt, entry_point = record["prompt"], record["entry_point"]
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(f"{where}: prompt is {len(prompt):,} characters; the limit is {MAX_PROMPT_CHARS:,}")
    if not entry_point.isidentifier():
        raise InputError(f"{where}: entry_point {entry_point!r} is not a Python identifier")
    for name in ("tests", "hidden_tests", "test"):
        if name in record and not isinstance(record[name], str):
            raise InputError(f"{where}: field {name!r} must be a string")
    language = record.get("language", "python")
    if language != "python":
        raise InputError(f"{where}: language {language!r} is not supported (only python)")
    if "test" in record and "tests" not in record:  # HumanEval: `check(candidate)` is the hidden test
        tests = doctest_tests(prompt)
        hidden = check_tests(record["test"], entry_point)
    else:
        tests, hidden = record.get("tests", ""), record.get("hidden_tests", "")
    for name, source in (("tests", tests), ("hidden tests", hidden)):
        _check_test_module(source, f"{where}: {name}")
    return Task(id=str(task_id), prompt=prompt, entry_point=entry_point, tests=tests, hidden_tests=hidden)


def _check_test_module(source: str, where: str) -> None:
    """Broken tests would fail every candidate and send every task to the strong model: refuse them up front."""
    if not source.strip():
        return
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as e:
        raise InputError(f"{where} are not valid Python ({e.__class__.__name__}: {_first_line(e)})") from None
    except (MemoryError, RecursionError):
        raise InputError(f"{where} are nested too deeply to parse") from None
    if not any(isinstance(n, ast.FunctionDef) and n.name.startswith("test_") for n in tree.body):
        raise InputError(f"{where} define no top-level test_* function")


def check_tests(check_source: str, entry_point: str) -> str:
    """HumanEval's ``def check(candidate)`` as a test module."""
    return f"from solution import *\n\n{check_source}\n\ndef test_check():\n    check({entry_point})\n"


def doctest_examples(prompt: str) -> list[tuple[str, str]]:
    """The ``>>>`` examples of a prompt whose expected output is a Python literal."""
    try:
        parsed = doctest.DocTestParser().get_examples(prompt)
    except ValueError:  # malformed examples (">>>x", uneven indentation) are no examples
        return []
    examples = []
    for example in parsed:
        source = example.source.strip()
        # doctest reads the docstring's closing quotes as part of the last example's output
        want = re.split(r"^\s*(?:\"\"\"|\'\'\')", example.want, maxsplit=1, flags=re.MULTILINE)[0].strip()
        if not want or not _is_expression(source) or not _is_literal(want):
            continue
        examples.append((source, want))
    return examples


def doctest_tests(prompt: str) -> str:
    """The prompt's examples as a test module (empty when the prompt has none)."""
    return examples_to_tests(doctest_examples(prompt))


def examples_to_tests(examples: Iterable[tuple[str, str]]) -> str:
    body = []
    for n, (source, want) in enumerate(examples, 1):
        body.append(
            f"def test_example_{n}():\n"
            f"    got = {source}\n"
            f"    expected = {want}\n"
            f"    assert got == expected, '%s returned %r, expected %r' % ({source!r}, got, expected)\n"
        )
    return "from solution import *\n\n\n" + "\n\n".join(body) if body else ""


def _is_literal(text: str) -> bool:
    """A value written out (a number, string, list, ...): an expected output a test can compare with."""
    try:
        ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _is_expression(text: str) -> bool:
    try:
        compile(text, "<example>", "eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0]

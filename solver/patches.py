"""Patches from model answers: whole files after a ``FILE: path`` line, unified diffs, or a bare code block that
replaces the functions it defines in the file that defines them. Pure text work: nothing here runs code.

What a patch may touch: regular files inside the repository, never under ``.git``, never a secret-looking one,
never a test (the patch is judged by the repository's own tests). By default also never build, test or CI
configuration or anything but Python source (``conftest.py``, ``setup.cfg``, ``pyproject.toml``, ``tox.ini``,
``requirements*``, ``.github/``, ...): a patch that rewrites how the tests run or what installs next time is not a
fix. ``allow_config`` widens that to any other file.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from solver.checkout import UnsafePath, check_relative, is_secret
from solver.diffs import DiffError, apply_diff

FENCE = re.compile(r"```([\w+-]*)[^\n]*\n(.*?)```", re.DOTALL)
FILE_MARK = re.compile(r"(?:FILE:|#+|\*\*)\s*`?([\w./-]+\.py)`?\**\s*:?\s*$")
SECTION_MARK = re.compile(r"#\s*(?:FILE:)?\s*([\w./-]+\.py)$")
TEST_FILE = re.compile(
    r"(^|/)(tests?/|testing/|test_[^/]*\.py$|[^/]*_tests?\.py$|tests?\.py$|conftest\.py$)", re.IGNORECASE
)
CONFIG_FILE = re.compile(  # anywhere, or (second line) at the top of the repository
    r"(^|/)(\.[^/]*(/|$)|conftest\.py$|setup\.cfg$|pyproject\.toml$|tox\.ini$|pytest\.ini$|sitecustomize\.py$"
    r"|usercustomize\.py$|[^/]*\.pth$|requirements[^/]*\.(txt|in)$|Makefile$|MANIFEST\.in$|Dockerfile$)"
    r"|^(setup\.py|noxfile\.py|hatch_build\.py|fabfile\.py|tasks\.py|docs/.*)$"
)


def is_test_file(path: str) -> bool:
    return bool(TEST_FILE.search(path))


class PatchError(ValueError):
    """An answer that holds no usable patch; the message says why (it goes back to the model in a repair)."""


def parse_answer(text: str, files: Mapping[str, bytes], *, allow_config: bool = False) -> dict[str, bytes]:
    """The files an answer changes, path -> new content, keeping only what a patch may touch (see the module's
    doc): other changes are dropped (small models often echo the tests back, edited), and an answer left with
    none is a PatchError that says which files it wanted."""
    changes: dict[str, bytes] = {}
    for match in FENCE.finditer(text):
        language, body = match.group(1).lower(), match.group(2)
        if language in ("diff", "patch") or body.startswith(("--- ", "diff --git")):
            try:
                changes.update(apply_diff(files, body))
            except DiffError as e:
                raise PatchError(str(e)) from e
            continue
        for path, code in _sections(body, _marked_path(text[: match.start()])):
            path = path or _defining_file(code, files)
            if path is not None:
                original = files.get(_safe(path))
                new = code if original is None else _merge(original.decode(errors="replace"), code)
                changes[_safe(path)] = new.encode()
    changes = {_safe(p): c for p, c in changes.items() if files.get(p) != c}
    refused = {p: why for p in changes if (why := refusal(p, allow_config=allow_config))}
    changes = {p: c for p, c in changes.items() if p not in refused}
    if not changes and refused and all(why == "a test" for why in refused.values()):
        raise PatchError(
            f"the answer changes only the tests ({', '.join(sorted(refused))}): fix the code, not the tests"
        )
    if not changes and refused:
        named = "; ".join(f"{p}: {why}" for p, why in sorted(refused.items()))
        raise PatchError(f"the answer changes only files a fix may not touch ({named}): change the source code")
    if not changes:
        raise PatchError("the answer holds no change to a file of the repository")
    return changes


def refusal(path: str, *, allow_config: bool = False) -> str | None:
    """Why a patch may not change ``path``, or None when it may."""
    if is_secret(path) or PurePosixPath(path).name.startswith(".git"):
        return "a secret-looking or git file"
    if is_test_file(path):
        return "a test"
    if allow_config:
        return None
    if CONFIG_FILE.search(path):
        return "build, test or CI configuration (--allow-config-edits allows it)"
    if not path.endswith(".py"):
        return "not a Python source file (--allow-config-edits allows it)"
    return None


def _sections(body: str, path: str | None) -> list[tuple[str | None, str]]:
    """A code block split at ``# FILE: path`` (or ``# path.py``) comment lines: (path or None, code)."""
    sections: list[tuple[str | None, list[str]]] = [(path, [])]
    for line in body.splitlines(keepends=True):
        if mark := SECTION_MARK.match(line.strip()):
            sections.append((mark.group(1).removeprefix("./"), []))
        else:
            sections[-1][1].append(line)
    return [(p, "".join(lines)) for p, lines in sections if "".join(lines).strip()]


def _marked_path(before: str) -> str | None:
    """A path named on the last non-empty line before a code block."""
    lines = [line.strip() for line in before.splitlines() if line.strip()]
    match = FILE_MARK.search(lines[-1]) if lines else None
    return match.group(1).removeprefix("./") if match else None


def _safe(path: str) -> str:
    try:
        return "/".join(check_relative(path.removeprefix("./")))
    except UnsafePath as e:
        raise PatchError(f"the answer names a path outside the repository: {path[:200]!r}") from e


def parse_python(source: str | bytes) -> ast.Module | None:
    """The syntax tree of a source, or None for anything ast cannot take: a syntax error, a null byte, nesting
    deep enough to exhaust the recursion limit or memory (hostile files and answers do all of these)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _top_level_names(source: str) -> dict[str, ast.stmt]:
    """The module's top-level functions and classes; SyntaxError when it does not parse."""
    if (tree := parse_python(source)) is None:
        raise SyntaxError("unparseable")
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


def _defining_file(block: str, files: Mapping[str, bytes]) -> str | None:
    """The non-test file that defines most of the block's functions and classes (at least one)."""
    try:
        names = set(_top_level_names(block))
    except SyntaxError:
        return None
    best, shared = None, 0
    for path, data in sorted(files.items()):
        if not path.endswith(".py") or is_test_file(path):
            continue
        try:
            count = len(names & set(_top_level_names(data.decode(errors="replace"))))
        except SyntaxError:
            continue
        if count > shared:
            best, shared = path, count
    return best


def _merge(original: str, block: str) -> str:
    """A block that omits some of the file's definitions replaces only those it defines (small models answer with
    the one function they fixed); a block that defines them all replaces the file."""
    try:
        old, new = _top_level_names(original), _top_level_names(block)
    except SyntaxError:
        return block
    if not new or set(old) <= set(new):
        return block
    lines = original.splitlines(keepends=True)
    block_lines = block.splitlines(keepends=True)
    spans = []
    for name, node in new.items():
        if name in old:
            target = old[name]
            start = min([target.lineno, *(d.lineno for d in getattr(target, "decorator_list", []))]) - 1
            source_start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
            spans.append((start, target.end_lineno or start + 1, "".join(block_lines[source_start : node.end_lineno])))
    for start, end, text in sorted(spans, reverse=True):
        lines[start:end] = [text if text.endswith("\n") else text + "\n"]
    merged = "".join(lines)
    imports = [line for line in block.splitlines() if line.startswith(("import ", "from ")) and line not in merged]
    return "".join(f"{line}\n" for line in imports) + merged

"""Patches from model answers: whole files after a ``FILE: path`` line, unified diffs, or a bare code block that
replaces the functions it defines in the file that defines them. Pure text work: nothing here runs code."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

FENCE = re.compile(r"```([\w+-]*)[^\n]*\n(.*?)```", re.DOTALL)
FILE_MARK = re.compile(r"(?:FILE:|#+|\*\*)\s*`?([\w./-]+\.py)`?\**\s*:?\s*$")
SECTION_MARK = re.compile(r"#\s*(?:FILE:)?\s*([\w./-]+\.py)$")
TEST_FILE = re.compile(r"(^|/)(tests?/|test_[^/]*\.py$|[^/]*_test\.py$|conftest\.py$)")


def is_test_file(path: str) -> bool:
    return bool(TEST_FILE.search(path))


class PatchError(ValueError):
    """An answer that holds no usable patch; the message says why (it goes back to the model in a repair)."""


def parse_answer(text: str, files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The code files an answer changes, path -> new content. Changes to test files are dropped: the patch is
    judged by the repository's own tests (small models often echo the tests back, edited)."""
    changes: dict[str, bytes] = {}
    for match in FENCE.finditer(text):
        language, body = match.group(1).lower(), match.group(2)
        if language in ("diff", "patch") or body.startswith(("--- ", "diff --git")):
            changes.update(apply_diff(files, body))
            continue
        for path, code in _sections(body, _marked_path(text[: match.start()])):
            path = path or _defining_file(code, files)
            if path is not None:
                path = _safe(path)
                original = files.get(path)
                new = code if original is None else _merge(original.decode(errors="replace"), code)
                changes[path] = new.encode()
    changes = {p: c for p, c in changes.items() if files.get(p) != c}
    tests = sorted(p for p in changes if is_test_file(p))
    changes = {p: c for p, c in changes.items() if p not in tests}
    if not changes and tests:
        raise PatchError(f"the answer changes only the tests ({', '.join(tests)}): fix the code, not the tests")
    if not changes:
        raise PatchError("the answer holds no change to a file of the repository")
    return changes


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
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise PatchError(f"the answer names a path outside the repository: {path}")
    return str(pure)


def _top_level_names(source: str) -> dict[str, ast.stmt]:
    tree = ast.parse(source)
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


def apply_diff(files: Mapping[str, bytes], diff: str) -> dict[str, bytes]:
    """The files a unified diff changes, applied with ``git apply`` (which runs nothing) in a scratch copy."""
    with tempfile.TemporaryDirectory(prefix="committee-patch-") as tmp:
        root = Path(tmp)
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        (root / ".patch").write_text(diff if diff.endswith("\n") else diff + "\n")
        env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "GIT_CONFIG_NOSYSTEM": "1"}
        subprocess.run(["git", "init", "-q"], cwd=root, env=env, check=True)  # its own repository: paths from here
        for strip in ("-p1", "-p0"):
            done = subprocess.run(["git", "apply", "--recount", "--whitespace=nowarn", strip, ".patch"], cwd=root,
                                  env=env, capture_output=True, text=True)  # fmt: skip
            if done.returncode == 0:
                break
        else:
            raise PatchError(f"the diff does not apply: {done.stderr.strip().splitlines()[-1] if done.stderr else ''}")
        changed = {}
        for path in root.rglob("*"):
            name = path.relative_to(root).as_posix()
            if not path.is_file() or name == ".patch" or name.startswith(".git/"):
                continue
            if files.get(name) != (data := path.read_bytes()):
                changed[name] = data
        return changed

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
SEARCH_REPLACE = re.compile(
    r"^<{5,9} ?SEARCH[^\n]*\n(.*?)^={5,9}[^\n]*\n(.*?)^>{5,9} ?REPLACE[^\n]*$", re.DOTALL | re.MULTILINE
)
PATH_LINE = re.compile(r"(?:FILE:|#+|\*\*)?\s*`?([\w./-]+\.py)`?\**\s*:?\s*$")
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
    changes = _search_replace(text, files)
    for match in FENCE.finditer(text):
        language, body = match.group(1).lower(), match.group(2)
        if SEARCH_REPLACE.search(body):
            continue
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


def _search_replace(text: str, files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The files that search/replace blocks change (``<<<<<<< SEARCH``, the lines as they are, ``=======``, the
    new lines, ``>>>>>>> REPLACE``), each block applied to the file named on the last path line before it, or
    else to the one source file that holds its search text. Exactly, else but for trailing whitespace and
    indentation; a search text found nowhere or more than once is a PatchError (no guessing)."""
    changes: dict[str, bytes] = {}
    for number, match in enumerate(SEARCH_REPLACE.finditer(text), 1):
        search, replace = match.group(1), match.group(2)
        if not search.strip():
            raise PatchError(f"search/replace block {number} has an empty SEARCH part: quote the lines to change")
        before = [line.strip("`").strip() for line in text[: match.start()].splitlines() if line.strip("` \t")]
        named = next((m.group(1) for line in reversed(before[-3:]) if (m := PATH_LINE.fullmatch(line))), None)
        current = {p: changes.get(p, d).decode(errors="replace") for p, d in files.items() if p.endswith(".py")}
        if named is None:
            holders = [p for p, source in current.items() if not is_test_file(p) and _locate(source, search)]
            if len(holders) != 1:
                raise PatchError(f"search/replace block {number} names no file: put FILE: path on the line before it")
            named = holders[0]
        path = _safe(named.removeprefix("./"))
        if path not in current:
            raise PatchError(f"search/replace block {number} names {path[:200]}, which the repository does not have")
        span = _locate(current[path], search)
        if span is None:
            raise PatchError(f"the SEARCH part of block {number} is not in {path[:200]} exactly once: quote its "
                             "lines exactly as they are")  # fmt: skip
        start, end, indent = span
        new = "".join(indent + line if line.strip() else line for line in replace.splitlines(keepends=True))
        changes[path] = (current[path][:start] + new + current[path][end:]).encode()
    return changes


def _locate(source: str, search: str) -> tuple[int, int, str] | None:
    """Where ``search`` occurs once in ``source`` as whole lines: (start, end, indentation to add to the
    replacement). Exactly, else line by line ignoring trailing whitespace, else with every line shifted by the
    same indentation."""
    if source.count(search) == 1 and (source.startswith(search) or source[source.index(search) - 1] == "\n"):
        return source.index(search), source.index(search) + len(search), ""
    lines, wanted = source.splitlines(keepends=True), [line.rstrip() for line in search.splitlines()]
    while wanted and not wanted[-1]:
        wanted.pop()
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    found = []
    for i in range(len(lines) - len(wanted) + 1):
        window = [line.rstrip() for line in lines[i : i + len(wanted)]]
        extra = window[0][: len(window[0]) - len(wanted[0])] if wanted and window[0].endswith(wanted[0]) else None
        if (
            extra is not None
            and not extra.strip()
            and all(w == extra + x or not (w or x) for w, x in zip(window, wanted, strict=True))
        ):
            found.append((offsets[i], offsets[i + len(wanted)], extra))
    if len(found) == 1:
        return found[0]
    return None


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


Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _definitions(body: list[ast.stmt]) -> dict[str, Definition]:
    return {n.name: n for n in body if isinstance(n, Definition)}


def _top_level_names(source: str) -> dict[str, Definition]:
    """The module's top-level functions and classes; SyntaxError when it does not parse."""
    if (tree := parse_python(source)) is None:
        raise SyntaxError("unparseable")
    return _definitions(tree.body)


def _methods(tree: ast.Module) -> dict[str, list[Definition]]:
    """Each method name of the module's classes (nested too), with every definition of it."""
    found: dict[str, list[Definition]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for name, member in _definitions(node.body).items():
                found.setdefault(name, []).append(member)
    return found


def _defining_file(block: str, files: Mapping[str, bytes]) -> str | None:
    """The non-test file that defines most of the block's functions and classes (as top-level names or as the
    methods of one of its classes; at least one)."""
    try:
        names = set(_top_level_names(block))
    except SyntaxError:
        return None
    best, shared = None, 0
    for path, data in sorted(files.items()):
        if not path.endswith(".py") or is_test_file(path) or (tree := parse_python(data)) is None:
            continue
        count = len(names & set(_definitions(tree.body))) or len(names & set(_methods(tree)))
        if count > shared:
            best, shared = path, count
    return best


def _start(node: Definition) -> int:
    """The definition's first line (its first decorator's), 1-based."""
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


def _source(node: Definition, lines: list[str], indent: int) -> str:
    """The definition's text from ``lines``, re-indented to ``indent`` columns."""
    text = lines[_start(node) - 1 : node.end_lineno]
    shift = indent - node.col_offset
    out = []
    for line in text:
        if shift < 0 and line[:-shift].strip() == "":
            line = line[-shift:]
        elif shift > 0 and line.strip():
            line = " " * shift + line
        out.append(line if line.endswith("\n") else line + "\n")
    return "".join(out)


def _replacements(target: Definition, node: Definition, old_lines: list[str],
                  new_lines: list[str]) -> list[tuple[int, int, str]]:  # fmt: skip
    """(start, end, text) spans of the original to replace so that ``node`` takes ``target``'s place. A class that
    answers with only some of its members replaces only those (small models answer with the one method they
    fixed, inside its class)."""
    if isinstance(target, ast.ClassDef) and isinstance(node, ast.ClassDef):
        old_members, new_members = _definitions(target.body), _definitions(node.body)
        if new_members and not set(old_members) <= set(new_members):
            return [span for name, member in new_members.items() if name in old_members
                    for span in _replacements(old_members[name], member, old_lines, new_lines)]  # fmt: skip
    text = _source(node, new_lines, target.col_offset)
    if not isinstance(node, ast.ClassDef) and not isinstance(target, ast.ClassDef):
        text = _keep_docstring(target, node, old_lines, text)
    return [(_start(target) - 1, target.end_lineno or target.lineno, text)]


def _keep_docstring(target: Definition, node: Definition, old_lines: list[str], text: str) -> str:
    """The answered function's text with the original's docstring where the answer has none or the first line
    only (prompts cut long docstrings to their first line; a fix keeps them whole)."""
    original, answered = ast.get_docstring(target, clean=False), ast.get_docstring(node, clean=False)
    if original is None or (answered is not None and not original.startswith(answered.rstrip())):
        return text
    if node.body[0].lineno == node.lineno or target.body[0].lineno == target.lineno:
        return text  # a one-line definition: nothing to put back
    doc = old_lines[target.body[0].lineno - 1 : target.body[0].end_lineno]
    lines = text.splitlines(keepends=True)
    first = node.body[0].lineno - _start(node)
    if answered is None:
        lines[first:first] = doc
    else:
        lines[first : node.body[0].end_lineno - _start(node) + 1] = doc  # type: ignore[operator]
    return "".join(lines)


def _merge(original: str, block: str) -> str:
    """A block that omits some of the file's definitions replaces only those it defines: top-level functions and
    classes, the methods of a class it repeats with only them, or a method given on its own (small models answer
    with the one function they fixed); functions it adds go before the first it replaces. A block that defines
    them all replaces the file."""
    old_tree, new_tree = parse_python(original), parse_python(block)
    if old_tree is None or new_tree is None:
        return block
    old, new = _definitions(old_tree.body), _definitions(new_tree.body)
    if not new or set(old) <= set(new):
        return block
    lines, block_lines = original.splitlines(keepends=True), block.splitlines(keepends=True)
    methods = _methods(old_tree)
    spans, added = [], []
    for name, node in new.items():
        if name in old:
            spans += _replacements(old[name], node, lines, block_lines)
        elif len(methods.get(name, [])) == 1:  # a method answered on its own, and only one class has it
            spans += _replacements(methods[name][0], node, lines, block_lines)
        else:
            added.append(_source(node, block_lines, 0) + "\n\n")
    if not spans:
        return original
    spans.sort(reverse=True)
    for start, end, text in spans:
        lines[start:end] = [text]
    first = spans[-1][0]
    lines[first:first] = added
    merged = "".join(lines)
    imports = [line for line in block.splitlines() if line.startswith(("import ", "from ")) and line not in merged]
    return "".join(f"{line}\n" for line in imports) + merged

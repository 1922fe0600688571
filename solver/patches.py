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
import itertools
import re
import textwrap
from collections.abc import Mapping
from pathlib import PurePosixPath

from solver.checkout import UnsafePath, check_relative, is_secret
from solver.diffs import DiffError, apply_diff, lines_of

FENCE = re.compile(r"```([\w+-]*)[^\n]*\n(.*?)```", re.DOTALL)
SEARCH_MARK = re.compile(r"^<{5,9} ?SEARCH[ \t]*$", re.MULTILINE)
DIVIDER_MARK = re.compile(r"={7}[ \t]*")
REPLACE_MARK = re.compile(r">{5,9} ?REPLACE[ \t]*")
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
        if SEARCH_MARK.search(body):
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
                original = changes.get(_safe(path), files.get(_safe(path)))  # onto what earlier blocks changed
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


def _blocks(text: str) -> list[tuple[int, str, str]]:
    """The answer's search/replace blocks as (index of the SEARCH line, search, replace), read line by line: a
    block is a ``<<<<<<< SEARCH`` line, the lines to find, a line of exactly seven ``=``, the new lines and a
    ``>>>>>>> REPLACE`` line; a block left open is not one."""
    lines = text.splitlines(keepends=True)
    found, i = [], 0
    while i < len(lines):
        if not SEARCH_MARK.fullmatch(lines[i].rstrip("\r\n")):
            i += 1
            continue
        divider = next((j for j in range(i + 1, len(lines)) if DIVIDER_MARK.fullmatch(lines[j].rstrip("\r\n"))), None)
        end = (
            None
            if divider is None
            else next(
                (j for j in range(divider + 1, len(lines)) if REPLACE_MARK.fullmatch(lines[j].rstrip("\r\n"))), None
            )
        )
        if divider is None or end is None:
            break
        found.append((i, "".join(lines[i + 1 : divider]), "".join(lines[divider + 1 : end])))
        i = end + 1
    return found


def _search_replace(text: str, files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The files that search/replace blocks change, each block applied to the file named on one of the three
    lines before it, or else to the one source file that holds its search text. Exactly, else but for trailing
    whitespace and indentation; a search text found nowhere or more than once is a PatchError (no guessing)."""
    changes: dict[str, str] = {}
    lines = text.splitlines()

    def current(path: str) -> str:
        return changes.get(path) or files[path].decode(errors="replace")

    for number, (at, search, replace) in enumerate(_blocks(text), 1):
        if not search.strip():
            raise PatchError(f"search/replace block {number} has an empty SEARCH part: quote the lines to change")
        before = [line.strip("`").strip() for line in lines[max(0, at - 3) : at] if line.strip("` \t")]
        named = next((m.group(1) for line in reversed(before) if (m := PATH_LINE.fullmatch(line))), None)
        if named is None:
            sources = [p for p in files if p.endswith(".py") and not is_test_file(p)]
            holders = [p for p in sources if search.strip().splitlines()[0].strip() in current(p)
                       and _locate(current(p), search)]  # fmt: skip
            if len(holders) != 1:
                raise PatchError(f"search/replace block {number} names no file: put FILE: path on the line before it")
            named = holders[0]
        path = _safe(named.removeprefix("./"))
        if path not in files:
            raise PatchError(f"search/replace block {number} names {path[:200]}, which the repository does not have")
        span = _locate(current(path), search)
        if span is None:
            raise PatchError(f"the SEARCH part of block {number} is not in {path[:200]} exactly once: quote its "
                             "lines exactly as they are")  # fmt: skip
        start, end, indent = span
        new = "".join(indent + line if line.strip() else line for line in replace.splitlines(keepends=True))
        changes[path] = current(path)[:start] + new + current(path)[end:]
    return {p: c.encode() for p, c in changes.items()}


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


Node = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _key(node: Node) -> str:
    """A definition's name, told apart from its namesakes where Python keeps both (a property's setter)."""
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Attribute) and decorator.attr in ("setter", "deleter"):
            return f"{node.name}.{decorator.attr}"
    return node.name


def _definitions(body: list[ast.stmt]) -> dict[str, Node]:
    return {_key(n): n for n in body if isinstance(n, Node)}


def _top_level_names(source: str) -> dict[str, Node]:
    """The module's top-level functions and classes; SyntaxError when it does not parse."""
    if (tree := parse_python(source)) is None:
        raise SyntaxError("unparseable")
    return _definitions(tree.body)


def _methods(tree: ast.Module) -> dict[str, list[Node]]:
    """Each method of the module's classes (nested too), with every definition of it."""
    found: dict[str, list[Node]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for key, member in _definitions(node.body).items():
                found.setdefault(key, []).append(member)
    return found


def _defining_file(block: str, files: Mapping[str, bytes]) -> str | None:
    """The non-test file that defines most of the block's functions and classes (as top-level names or as the
    methods of one of its classes; at least one)."""
    if (tree := _parse_block(block)) is None:
        return None
    names = set(_definitions(tree.body))
    best, shared = None, 0
    for path, data in sorted(files.items()):
        if not path.endswith(".py") or is_test_file(path) or (module := parse_python(data)) is None:
            continue
        count = len(names & set(_definitions(module.body))) or len(names & set(_methods(module)))
        if count > shared:
            best, shared = path, count
    return best


def _parse_block(block: str) -> ast.Module | None:
    """An answer's code block, also when it is an indented method without its class line."""
    return parse_python(block) or parse_python(textwrap.dedent(block))


def first_line(node: ast.stmt) -> int:
    """The statement's first line, 1-based: a definition's first decorator's."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])


def _source(node: Node, lines: list[str], indent: int) -> str:
    """The definition's text from ``lines``, re-indented to ``indent`` columns."""
    text = lines[first_line(node) - 1 : node.end_lineno]
    shift = indent - node.col_offset
    out = []
    for line in text:
        if shift < 0 and line[:-shift].strip() == "":
            line = line[-shift:]
        elif shift > 0 and line.strip():
            line = " " * shift + line
        out.append(line if line.endswith("\n") else line + "\n")
    return "".join(out)


Span = tuple[int, int, str]
"""(first line, line after the last, 0-based, of the original) and the text that takes their place."""


def _replacements(target: Node, node: Node, old_lines: list[str], new_lines: list[str]) -> list[Span]:
    """The spans of the original to replace so that ``node`` takes ``target``'s place. A class that answers with
    only some of its members replaces only those, and the members it adds go at the end of the class (small
    models answer with the one method they fixed, inside its class)."""
    if isinstance(target, ast.ClassDef) and isinstance(node, ast.ClassDef):
        old_members, new_members = _definitions(target.body), _definitions(node.body)
        if new_members and not set(old_members) <= set(new_members):
            spans = [span for key, member in new_members.items() if key in old_members
                     for span in _replacements(old_members[key], member, old_lines, new_lines)]  # fmt: skip
            indent = next(iter(old_members.values())).col_offset if old_members else target.col_offset + 4
            extra = [m for k, m in new_members.items() if k not in old_members]
            added = "".join("\n" + _source(m, new_lines, indent) for m in extra)
            end = target.end_lineno or target.lineno
            return spans + ([(end, end, added)] if added else [])
    text = _source(node, new_lines, target.col_offset)
    if not isinstance(node, ast.ClassDef) and not isinstance(target, ast.ClassDef):
        text = _keep_decorators(target, node, old_lines, _keep_docstring(target, node, old_lines, text))
    return [(first_line(target) - 1, target.end_lineno or target.lineno, text)]


def _keep_decorators(target: Node, node: Node, old_lines: list[str], text: str) -> str:
    """The answered function's text under the original's decorators where the answer has none (small models drop
    them: a comparison method answered without its ``@comparator`` no longer compares with dicts)."""
    if node.decorator_list or not target.decorator_list:
        return text
    return "".join(old_lines[first_line(target) - 1 : target.lineno - 1]) + text


def _keep_docstring(target: Node, node: Node, old_lines: list[str], text: str) -> str:
    """The answered function's text with the original's docstring where the answer has none or the first line
    only (prompts cut long docstrings to their first line; a fix keeps them whole)."""
    original, answered = ast.get_docstring(target, clean=False), ast.get_docstring(node, clean=False)
    if original is None or (answered is not None and not original.strip().startswith(answered.strip())):
        return text
    if node.body[0].lineno == node.lineno or target.body[0].lineno == target.lineno:
        return text  # a one-line definition: nothing to put back
    doc = old_lines[target.body[0].lineno - 1 : target.body[0].end_lineno]
    lines = lines_of(text)
    first = node.body[0].lineno - first_line(node)
    if answered is None:
        lines[first:first] = doc
    else:
        lines[first : (node.body[0].end_lineno or node.body[0].lineno) - first_line(node) + 1] = doc
    return "".join(lines)


def _merge(original: str, block: str) -> str:
    """The file with the block's definitions in place of their namesakes: top-level functions and classes, the
    methods of a class it repeats with only them, or a method given on its own (small models answer with the one
    function they fixed); functions it adds go before the top-level statement of the first it replaces. A block
    that defines every top-level name, each class whole, and top-level statements of its own (imports,
    constants) where the file has some, is the whole file."""
    old_tree, new_tree = parse_python(original), _parse_block(block)
    if old_tree is None or new_tree is None:
        return block
    old, new = _definitions(old_tree.body), _definitions(new_tree.body)
    others = [n for n in old_tree.body[1 if ast.get_docstring(old_tree) else 0 :] if not isinstance(n, Node)]
    partial = any(isinstance(n, ast.ClassDef) and isinstance(o := old.get(k), ast.ClassDef)
                  and not set(_definitions(o.body)) <= set(_definitions(n.body)) for k, n in new.items())  # fmt: skip
    if not new or (set(old) <= set(new) and not partial and others and len(new_tree.body) > len(new)):
        return block
    lines, block_lines = lines_of(original), lines_of(block if parse_python(block) else textwrap.dedent(block))
    methods = _methods(old_tree)
    spans: list[Span] = []
    added = []
    for key, node in new.items():
        if key in old:
            spans += _replacements(old[key], node, lines, block_lines)
        elif len(methods.get(key, [])) == 1:  # a method answered on its own, and only one class has it
            spans += _replacements(methods[key][0], node, lines, block_lines)
        else:
            added.append(_source(node, block_lines, 0) + "\n\n")
    if not spans:
        return original
    spans = sorted(set(spans))
    for (_, end, _), (next_start, _, _) in itertools.pairwise(spans):
        if next_start < end:
            raise PatchError("the answer gives the same definition twice: give each function once")
    first = spans[0][0]
    statement = next((n for n in old_tree.body if first_line(n) - 1 <= first < (n.end_lineno or n.lineno)), None)
    insert_at = first if statement is None else first_line(statement) - 1
    for start, end, text in reversed(spans):
        lines[start:end] = [text]
    if added:
        lines[insert_at:insert_at] = added
    merged = "".join(lines)
    imports = [line for line in block.splitlines() if line.startswith(("import ", "from ")) and line not in merged]
    return "".join(f"{line}\n" for line in imports) + merged

"""Where a failure's bug is likely to be, as the few whole functions to show a model instead of whole files.

From the failing tests (their ids name their functions) and pytest's tracebacks (``path:line`` of each frame),
the functions involved are found by walking the calls outward: the functions the traceback passes through, then
the repository's definitions of what the failing tests call, then what those call, and so on. Names are matched
by name (a method by its attribute name), so a call through a package's re-exports or an instance still finds its
definition; a name defined in many places (``get``, ``run``) is too vague to follow. Pure text work on the
repository's sources (every parse goes through ``parse_python``): nothing runs.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from solver.patches import is_test_file, parse_python

MAX_DEFINITIONS_PER_NAME = 3
"""A name with more definitions than this in the repository says too little about where a call goes."""
DEPTH = 3
FRAME = re.compile(r"([\w./-]+\.py):(\d{1,7})\b")


@dataclass(frozen=True)
class Definition:
    """A function or method of a repository file."""

    path: str
    qualname: str
    """``func``, or ``Class.method``."""
    start: int
    """First line (its first decorator's), 1-based."""
    end: int
    owner_line: str
    """A method's ``class ...:`` line, else empty."""
    calls: frozenset[str]
    """Names it calls (functions by name, methods by attribute)."""
    docstring: tuple[int, int] | None = None
    """Lines of its docstring (first, last), if it has one."""

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]

    def text(self, files: Mapping[str, bytes], *, short_docstring: bool = False) -> str:
        """Its source (a method's after its class line); ``short_docstring``: a docstring of many lines cut to its
        first, closed again (what a model needs to read, and to echo back, of it)."""
        lines = files[self.path].decode(errors="replace").splitlines()[self.start - 1 : self.end]
        if short_docstring and self.docstring and self.docstring[1] > self.docstring[0]:
            first, last = (n - self.start for n in self.docstring)
            quote = next((q for q in ('"""', "'''") if q in lines[first]), '"""')
            head = lines[first].rstrip()
            lines[first : last + 1] = [head if head.endswith(quote) and head.count(quote) > 1 else head + quote]
        body = "\n".join(lines)
        return f"{self.owner_line}\n{body}" if self.owner_line else body


def _called(node: ast.AST) -> frozenset[str]:
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            func = child.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
    return frozenset(names)


def definitions(path: str, source: bytes) -> list[Definition]:
    """The functions and methods of a file (nested classes' methods too; a function nested in a function belongs
    to it)."""
    tree = parse_python(source)
    if tree is None:
        return []
    lines = source.decode(errors="replace").splitlines()
    found: list[Definition] = []

    def visit(body: list[ast.stmt], owner: ast.ClassDef | None, prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                owner_line = lines[owner.lineno - 1].rstrip() if owner is not None else ""
                first = node.body[0]
                doc = (first.lineno, first.end_lineno or first.lineno) if ast.get_docstring(node) is not None else None
                found.append(Definition(path, prefix + node.name, start, node.end_lineno or start, owner_line,
                                        _called(node), doc))  # fmt: skip
            elif isinstance(node, ast.ClassDef):
                visit(node.body, node, f"{prefix}{node.name}.")

    visit(tree.body, None, "")
    return found


def _test_function(test_id: str, path: str, defs: list[Definition]) -> Definition | None:
    """The definition a JUnit test id (``tests.test_x.TestY::test_z[param]``) names in its file."""
    name = test_id.split("::")[-1].split("[")[0]
    owner = test_id.split("::")[0].rsplit(".", 1)[-1]
    matches = [d for d in defs if d.path == path and d.name == name]
    return next((d for d in matches if d.qualname.startswith(f"{owner}.")), matches[0] if matches else None)


def frames(output: str, files: Mapping[str, bytes]) -> list[tuple[str, int]]:
    """Repository ``(path, line)`` pairs a traceback names, in the order it names them."""
    found = []
    for match in FRAME.finditer(output):
        path = match.group(1).removeprefix("/work/repo/").removeprefix("./")
        if path in files:
            found.append((path, int(match.group(2))))
    return list(dict.fromkeys(found))


def localise(files: Mapping[str, bytes], failing: Iterable[str], output: str,
             test_file_of: Mapping[str, str]) -> tuple[list[Definition], list[Definition]]:  # fmt: skip
    """(source functions, most likely first; the failing tests' functions). ``test_file_of`` maps a failing test's id
    to its file."""
    sources = [p for p in files if p.endswith(".py")]
    defs = [d for p in sorted(sources) for d in definitions(p, files[p])]
    code = [d for d in defs if not is_test_file(d.path)]
    by_name: dict[str, list[Definition]] = {}
    for d in code:
        by_name.setdefault(d.name, []).append(d)
    tests = [t for i in sorted(failing) if i in test_file_of and (t := _test_function(i, test_file_of[i], defs))]
    tests = list(dict.fromkeys(tests))
    chosen: list[Definition] = []
    for path, line in reversed(frames(output, files)):  # innermost frames last in a traceback: take them first
        inside = [d for d in code if d.path == path and d.start <= line <= d.end]
        chosen += [d for d in sorted(inside, key=lambda d: d.end - d.start)[:1] if d not in chosen]
    frontier = [d for d in [*tests, *chosen]]
    for _ in range(DEPTH):
        names = [n for d in frontier for n in sorted(d.calls)]
        found = [d for n in dict.fromkeys(names) if len(by_name.get(n, [])) <= MAX_DEFINITIONS_PER_NAME
                 for d in by_name.get(n, []) if d not in chosen]  # fmt: skip
        found = list(dict.fromkeys(found))
        chosen += found
        frontier = found
    return chosen, tests

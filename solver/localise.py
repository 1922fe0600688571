"""Where a failure's bug is likely to be, as the few whole functions to show a model instead of whole files.

From the failing tests (their ids name their functions) and pytest's tracebacks (``path:line`` of each frame),
the functions involved are found by walking the calls outward: the functions the traceback passes through, then
the repository's definitions of what the failing tests call (what the failing line itself calls first, and what
the test's class names in its body), then what those call, and so on. An operator is a call of its special method
(``a < b`` of ``__lt__``), and a function passed to a call a call of it (``sorted(xs, key=f)``). Names are matched
by name (a method by its attribute name, a class by its special methods and its bases'), so a call through a
package's re-exports or an instance still finds its definition; a name defined in many places (``get``, ``run``)
is too vague to follow. Pure text work on the repository's sources (every parse goes through ``parse_python``):
nothing runs.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from solver.diffs import lines_of
from solver.patches import first_line, is_test_file, parse_python

MAX_DEFINITIONS_PER_NAME = 3
"""A name with more definitions than this in the repository says too little about where a call goes."""
DEPTH = 3
MAX_SOURCE_BYTES = 2 * 2**20
"""A larger file is data or generated code: not parsed (a parse runs at about 100k lines a second)."""
ENOUGH = 40
"""The walk stops once it has this many functions: a prompt shows far fewer."""
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
        lines = [line.rstrip("\n") for line in lines_of(files[self.path].decode(errors="replace"))]
        lines = lines[self.start - 1 : self.end]
        if short_docstring and self.docstring and self.docstring[1] > self.docstring[0]:
            first, last = (n - self.start for n in self.docstring)
            quote = next((q for q in ('"""', "'''") if q in lines[first]), '"""')
            head = lines[first].rstrip()
            if head.endswith(quote) and head.count(quote) == 1:  # the text starts on the next line: take that
                text = next((line.strip() for line in lines[first + 1 : last] if line.strip()), "")
                head += text
            lines[first : last + 1] = [head if head.endswith(quote) and head.count(quote) > 1 else head + quote]
        body = "\n".join(lines)
        return f"{self.owner_line}\n{body}" if self.owner_line else body


@functools.lru_cache(maxsize=512)
def _tree(source: bytes) -> ast.Module | None:
    """A file's syntax tree, parsed once for the several walks over it (a parse is most of their cost)."""
    return parse_python(source)


# The special methods an operator runs (``a < b`` runs ``__lt__``, ``a[k]`` ``__getitem__``, ``len(a)`` ``__len__``).
OPERATORS = {
    ast.Lt: "__lt__",
    ast.LtE: "__le__",
    ast.Gt: "__gt__",
    ast.GtE: "__ge__",
    ast.Eq: "__eq__",
    ast.NotEq: "__ne__",
    ast.In: "__contains__",
    ast.NotIn: "__contains__",
    ast.Add: "__add__",
    ast.Sub: "__sub__",
    ast.Mult: "__mul__",
    ast.Div: "__truediv__",
    ast.FloorDiv: "__floordiv__",
    ast.Mod: "__mod__",
    ast.BitOr: "__or__",
    ast.BitAnd: "__and__",
    ast.BitXor: "__xor__",
    ast.Load: "__getitem__",
    ast.Store: "__setitem__",
    ast.Del: "__delitem__",
}
BUILTIN_HOOKS = {"len": "__len__", "iter": "__iter__", "next": "__next__", "repr": "__repr__", "str": "__str__",
                 "hash": "__hash__", "bool": "__bool__"}  # fmt: skip


def _called(node: ast.AST) -> frozenset[str]:
    """The names ``node`` calls or passes to a call (a callback), and the special methods its operators run."""
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            func = child.func
            if isinstance(func, ast.Name):
                names.update({func.id, BUILTIN_HOOKS.get(func.id, func.id)})
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
            for arg in [*child.args, *(k.value for k in child.keywords)]:  # a callback: sorted(xs, key=sort_key)
                if isinstance(arg, ast.Name | ast.Attribute):
                    names.add(arg.id if isinstance(arg, ast.Name) else arg.attr)
        elif isinstance(child, ast.Compare):
            names.update(OPERATORS[type(op)] for op in child.ops if type(op) in OPERATORS)
        elif isinstance(child, ast.BinOp | ast.AugAssign) and type(child.op) in OPERATORS:
            names.add(OPERATORS[type(child.op)])
        elif isinstance(child, ast.Subscript):
            names.add(OPERATORS[type(child.ctx)])
    return frozenset(names)


@functools.lru_cache(maxsize=64)
def _innermost_statements(source: bytes) -> dict[int, ast.stmt]:
    """Each line's innermost statement, found in one walk of the file (a traceback may name hundreds of lines)."""
    found: dict[int, ast.stmt] = {}
    for node in ast.walk(tree) if (tree := _tree(source)) is not None else ():  # outer statements first
        if isinstance(node, ast.stmt):
            found.update(dict.fromkeys(range(node.lineno, (node.end_lineno or node.lineno) + 1), node))
    return found


def _statement_calls(source: bytes, line: int) -> frozenset[str]:
    """What the innermost statement at ``line`` calls (a traceback's line: the assertion that failed)."""
    statement = _innermost_statements(source).get(line)
    return _called(statement) if statement is not None else frozenset()


def definitions(path: str, source: bytes) -> list[Definition]:
    """The functions and methods of a file (nested classes' methods too; a function nested in a function belongs
    to it)."""
    tree = _tree(source)
    if tree is None:
        return []
    lines = [line.rstrip("\n") for line in lines_of(source.decode(errors="replace"))]
    found: list[Definition] = []

    def visit(body: list[ast.stmt], owner: ast.ClassDef | None, prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = first_line(node)
                owner_line = lines[owner.lineno - 1].rstrip() if owner is not None else ""
                first = node.body[0]
                doc = (first.lineno, first.end_lineno or first.lineno) if ast.get_docstring(node) is not None else None
                found.append(Definition(path, prefix + node.name, start, node.end_lineno or start, owner_line,
                                        _called(node), doc))  # fmt: skip
            elif isinstance(node, ast.ClassDef):
                visit(node.body, node, f"{prefix}{node.name}.")

    visit(tree.body, None, "")
    return found


def classes(path: str, source: bytes) -> dict[str, tuple[str, ...]]:
    """The file's classes (nested too) and the names of their bases."""
    tree = _tree(source)
    if tree is None:
        return {}
    return {node.name: tuple(b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                             for b in node.bases)
            for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}  # fmt: skip


@functools.lru_cache(maxsize=64)
def _class_attribute_calls(source: bytes) -> dict[str, frozenset[str]]:
    """Per class of the file: what the statements of its body (not its methods) call or pass to a call."""
    tree = _tree(source)
    classes = [c for c in ast.walk(tree) if isinstance(c, ast.ClassDef)] if tree is not None else []
    members = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    return {c.name: frozenset(name for n in c.body if not isinstance(n, members) for name in _called(n))
            for c in classes}  # fmt: skip


def _owner(test_id: str) -> str:
    """The class a JUnit test id (``tests.test_x.TestY::test_z[param]``) names, or ""."""
    where = test_id.partition("[")[0].rpartition("::")[0]
    return where.rsplit(".", 1)[-1] if "." in where else ""


def _test_function(test_id: str, defs: list[Definition]) -> Definition | None:
    """The definition a JUnit test id (``tests.test_x.TestY::test_z[param]``) names among its file's ``defs``."""
    where, _, name = test_id.partition("[")[0].rpartition("::")  # parameters may hold "::"
    name, owner = name or where, where.rsplit(".", 1)[-1]
    matches = [d for d in defs if d.name == name]
    return next((d for d in matches if d.qualname.startswith(f"{owner}.")), matches[0] if matches else None)


def frames(output: str, files: Mapping[str, bytes]) -> list[tuple[str, int]]:
    """Repository ``(path, line)`` pairs a traceback names, in the order it names them."""
    found = []
    for match in FRAME.finditer(output):
        path = match.group(1).removeprefix("/work/repo/").removeprefix("./")
        if path in files:
            found.append((path, int(match.group(2))))
    return list(dict.fromkeys(found))


def module_calls(source: bytes) -> frozenset[str]:
    """Names the module calls as it is imported (outside its functions and classes, and not under ``if __name__ ==
    "__main__"``): set-up that later calls depend on."""
    tree = _tree(source)
    if tree is None:
        return frozenset()
    top = [
        n
        for n in tree.body
        if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and not (isinstance(n, ast.If) and "__main__" in ast.dump(n.test))
    ]  # not what runs as a script
    return frozenset(name for node in top for name in _called(node))


def localise(files: Mapping[str, bytes], failing: Iterable[str], output: str,
             test_file_of: Mapping[str, str]) -> tuple[list[Definition], list[Definition]]:  # fmt: skip
    """(source functions, most likely first; the failing tests' functions). ``test_file_of`` maps a failing test's id
    to its file. The walk goes through the tests' own helpers (a harness in a test file) but shows only source;
    last come the functions a chosen module calls as it is imported."""
    failing = sorted(failing)
    sources = sorted(p for p in files if p.endswith(".py") and len(files[p]) <= MAX_SOURCE_BYTES)
    defs = [d for p in sources for d in definitions(p, files[p])]
    by_name: dict[str, list[Definition]] = {}
    by_path: dict[str, list[Definition]] = {}
    methods: dict[str, list[Definition]] = {}
    for d in defs:
        by_name.setdefault(d.name, []).append(d)
        by_path.setdefault(d.path, []).append(d)
        if "." in d.qualname:
            methods.setdefault(d.qualname.split(".")[-2], []).append(d)
    bases = {name: b for p in sources for name, b in classes(p, files[p]).items()}

    def called(name: str) -> list[Definition]:
        """What a call of ``name`` may run: the functions and methods of that name, or, for a class, its special
        methods and its bases' (``__init__``, and what operators run: ``cache[key] = value`` runs ``__setitem__``;
        the methods it calls by name are found by name)."""
        if name in bases:
            family: list[str] = []
            todo = [name]
            while todo and len(family) < 10:
                cls = todo.pop(0)
                family.append(cls)
                todo += [b for b in bases.get(cls, ()) if b in bases and b not in family]
            return [d for cls in family for d in methods.get(cls, []) if d.name.startswith("__")]
        found = by_name.get(name, [])
        return found if len(found) <= MAX_DEFINITIONS_PER_NAME else []

    tests = list(dict.fromkeys(t for i in failing if i in test_file_of
                               and (t := _test_function(i, by_path.get(test_file_of[i], [])))))  # fmt: skip
    seen: dict[Definition, None] = {}  # ordered, and a set
    traceback = frames(output, files)
    for path, line in reversed(traceback):  # innermost frames last in a traceback: take them first
        inside = sorted((d for d in by_path.get(path, []) if d.start <= line <= d.end), key=lambda d: d.end - d.start)
        seen.update((d, None) for d in inside[:1] if d not in tests)
    # What the failing lines of the tests call comes first (an assertion ``not (v1 < v3)`` points at ``__lt__``);
    # only files small enough to parse are read (a test file too is the repository's).
    readable = set(sources)
    hot = sorted({n for path, line in traceback if is_test_file(path) and path in readable
                  for n in _statement_calls(files[path], line)})  # fmt: skip
    # A test class's own attributes are part of its tests (a mixin's tests run ``DECORATOR = staticmethod(f)``).
    owners = {(test_file_of[i], _owner(i)) for i in failing if test_file_of.get(i) in readable}
    hot += sorted({n for path, owner in owners for n in _class_attribute_calls(files[path]).get(owner, ())})
    frontier = [*tests, *seen]
    for _ in range(DEPTH):
        if len(seen) >= ENOUGH:
            break
        names = dict.fromkeys([*hot, *(n for f in frontier for n in sorted(f.calls))])
        hot = []
        found = (d for n in names for d in called(n))
        frontier = [d for d in dict.fromkeys(found) if d not in seen and d not in tests]
        seen.update(dict.fromkeys(frontier))
    chosen = [d for d in seen if not is_test_file(d.path)]
    at_import = [n for p in dict.fromkeys(d.path for d in chosen) for n in sorted(module_calls(files[p]))]
    chosen += [d for d in dict.fromkeys(d for n in at_import for d in called(n)) if d not in set(chosen)]
    return chosen, tests

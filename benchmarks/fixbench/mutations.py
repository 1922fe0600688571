"""Procedural bugs of the kinds real bugs have, injected into Python source as the smallest text edit.

Each mutation replaces one span of the source (found from the AST's positions, which count UTF-8 bytes) and
keeps every other byte, so its diff is one or two lines, as a real bug's would be. A mutation is kept only if the
result still parses and means something else (its AST differs).
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass

KINDS = ("comparison", "boundary", "operator", "swapped-arguments", "dropped-statement", "wrong-default",
         "exception-type", "slice-off-by-one")  # fmt: skip

FLIPPED = {ast.Eq: "!=", ast.NotEq: "==", ast.Is: "is not", ast.IsNot: "is", ast.In: "not in", ast.NotIn: "in"}
BOUNDARY = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">"}
OPERATOR_TEXT = {ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
                 ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}  # fmt: skip
SWAPPED_OPERATOR = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "+"), ast.FloorDiv: ("//", "%"),
                    ast.Mod: ("%", "//"), ast.BitAnd: ("&", "|"), ast.BitOr: ("|", "&"), ast.LShift: ("<<", ">>"),
                    ast.RShift: (">>", "<<")}  # fmt: skip
OTHER_EXCEPTION = {"ValueError": "TypeError", "TypeError": "ValueError", "KeyError": "IndexError",
                   "IndexError": "KeyError", "AttributeError": "KeyError", "LookupError": "ValueError",
                   "RuntimeError": "ValueError", "NotImplementedError": "RuntimeError",
                   "ZeroDivisionError": "ValueError", "OverflowError": "ValueError"}  # fmt: skip


@dataclass(frozen=True)
class Mutation:
    kind: str
    file: str
    line: int
    """1-based line where the edit starts."""
    description: str
    start: int
    """Byte offsets of the replaced span in the file."""
    end: int
    replacement: bytes

    def apply(self, source: bytes) -> bytes:
        return source[: self.start] + self.replacement + source[self.end :]


def _offsets(source: bytes) -> list[int]:
    """Byte offset of each line's start (index 1-based line - 1)."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


class _Finder:
    def __init__(self, path: str, source: bytes) -> None:
        self.path, self.source, self.lines = path, source, _offsets(source)

    def at(self, line: int, col: int) -> int:
        return self.lines[line - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.at(node.lineno, node.col_offset), self.at(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined,arg-type]

    def text(self, node: ast.AST) -> bytes:
        start, end = self.span(node)
        return self.source[start:end]

    def mutation(self, kind: str, node: ast.AST, description: str, start: int, end: int, new: bytes) -> Mutation:
        return Mutation(kind, self.path, node.lineno, description, start, end, new)  # type: ignore[attr-defined]

    def between(self, left: ast.AST, right: ast.AST, operator: str) -> tuple[int, int] | None:
        """The span of ``operator`` in the text between two operands (comments and brackets aside)."""
        start, end = self.span(left)[1], self.span(right)[0]
        gap = self.source[start:end].decode(errors="replace")
        words = r"\s+".join(re.escape(w) for w in operator.split())
        pattern = (
            rf"(?<![\w=<>!]){words}(?![\w=<>])" if operator[0].isalpha() else rf"(?<![=<>!/*%&|^]){words}(?![=<>/*])"
        )
        found = [m for m in re.finditer(pattern, gap)]
        if len(found) != 1 or "#" in gap:
            return None
        match = found[0]
        return start + len(gap[: match.start()].encode()), start + len(gap[: match.end()].encode())


def _docstring(node: ast.stmt, parent: ast.AST) -> bool:
    body = getattr(parent, "body", [])
    return bool(body) and body[0] is node and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def mutations(path: str, source: bytes) -> list[Mutation]:
    """Every single-span mutation of the functions in ``source`` that parses and changes its meaning."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    find = _Finder(path, source)
    found: list[Mutation] = []
    for function in _functions(tree):
        found += _defaults(find, function)
        for node in ast.walk(function):
            found += _in_node(find, node)
    original = ast.dump(tree)
    kept, seen = [], set()
    for m in found:
        key = (m.start, m.end, m.replacement)
        if key in seen:
            continue
        seen.add(key)
        try:
            if ast.dump(ast.parse(m.apply(source))) != original:
                kept.append(m)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return sorted(kept, key=lambda m: (m.start, m.kind))


def _defaults(find: _Finder, function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[Mutation]:
    for default in [*function.args.defaults, *(d for d in function.args.kw_defaults if d is not None)]:
        if not isinstance(default, ast.Constant):
            continue
        value = default.value
        if isinstance(value, bool):
            new = repr(not value)
        elif isinstance(value, int) and abs(value) < 10**6:
            new = repr(value + 1)
        elif value is None:
            continue
        else:
            continue
        start, end = find.span(default)
        yield find.mutation("wrong-default", default, f"default {value!r} to {new} in {function.name}()", start, end,
                            new.encode())  # fmt: skip


def _in_node(find: _Finder, node: ast.AST) -> Iterator[Mutation]:
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        op, left, right = node.ops[0], node.left, node.comparators[0]
        table, kind = (FLIPPED, "comparison") if type(op) in FLIPPED else (BOUNDARY, "boundary")
        if type(op) in table and (span := find.between(left, right, OPERATOR_TEXT[type(op)])):
            new = table[type(op)]
            yield find.mutation(kind, node, f"`{OPERATOR_TEXT[type(op)]}` to `{new}`", *span, new.encode())
    elif isinstance(node, ast.BinOp) and type(node.op) in SWAPPED_OPERATOR:
        old, new = SWAPPED_OPERATOR[type(node.op)]
        if isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
            return  # "%" formatting and string concatenation: a crash, not a wrong answer
        if span := find.between(node.left, node.right, old):
            yield find.mutation("operator", node, f"`{old}` to `{new}`", *span, new.encode())
    elif isinstance(node, ast.BoolOp) and len(node.values) == 2:
        old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
        if span := find.between(node.values[0], node.values[1], old):
            yield find.mutation("operator", node, f"`{old}` to `{new}`", *span, new.encode())
    elif isinstance(node, ast.Call) and len(node.args) >= 2 and not node.keywords:
        first, second = node.args[0], node.args[1]
        if not any(isinstance(a, ast.Starred) for a in (first, second)) and find.text(first) != find.text(second):
            start, end = find.span(first)[0], find.span(second)[1]
            gap = find.source[find.span(first)[1] : find.span(second)[0]]
            if gap.strip() == b",":
                swapped = find.text(second) + gap + find.text(first)
                yield find.mutation("swapped-arguments", node, "the first two arguments swapped", start, end, swapped)
    elif isinstance(node, ast.Raise) and node.exc is not None:
        name = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if isinstance(name, ast.Name) and name.id in OTHER_EXCEPTION:
            yield find.mutation("exception-type", node, f"raises {OTHER_EXCEPTION[name.id]} for {name.id}",
                                *find.span(name), OTHER_EXCEPTION[name.id].encode())  # fmt: skip
    elif isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Name) and node.type.id in OTHER_EXCEPTION:
        new = OTHER_EXCEPTION[node.type.id]
        yield find.mutation("exception-type", node, f"catches {new} instead of {node.type.id}", *find.span(node.type),
                            new.encode())  # fmt: skip
    elif isinstance(node, ast.Slice):
        for bound, sign in ((node.lower, "+ 1"), (node.upper, "- 1")):
            if bound is None:
                continue
            text = find.text(bound)
            if isinstance(bound, ast.Constant) and isinstance(bound.value, int) and not isinstance(bound.value, bool):
                moved = str(bound.value + 1 if sign == "+ 1" else bound.value - 1).encode()
            else:
                atom = isinstance(bound, (ast.Name, ast.Attribute, ast.Call, ast.Subscript))
                moved = (text if atom else b"(" + text + b")") + b" " + sign.encode()
            yield find.mutation("slice-off-by-one", bound, f"slice bound `{text.decode(errors='replace')}` off by one",
                                *find.span(bound), moved)  # fmt: skip
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.If, ast.For, ast.While, ast.With, ast.Try)):
        yield from _dropped(find, node)


def _dropped(find: _Finder, parent: ast.AST) -> Iterator[Mutation]:
    """A one-line statement or a short ``if`` branch removed from a block (never the block's only statement):
    the call, assignment or special case a real bug forgets."""
    for field in ("body", "orelse", "finalbody"):
        block = getattr(parent, field, None)
        if not block or len(block) < 2:
            continue
        for statement in block:
            simple = isinstance(statement, (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete, ast.Raise))
            branch = isinstance(statement, ast.If) and not statement.orelse
            if _docstring(statement, parent) or not (simple or branch):
                continue  # never a definition, a return, a loop's break (a hang, not a wrong answer) or an if/else
            if statement.end_lineno - statement.lineno >= (1 if simple else 4):  # type: ignore[operator]
                continue
            if statement.lineno == getattr(parent, "lineno", 0):
                continue  # on the header's line (``if x: y``): no whole line to remove
            start = find.lines[statement.lineno - 1]
            end = find.lines[statement.end_lineno]  # type: ignore[index]
            line = find.source[start:end]
            if line.strip().endswith(b"\\") or b";" in line:
                continue
            what = "an `if` branch" if branch else f"a `{type(statement).__name__.lower()}` statement"
            yield find.mutation("dropped-statement", statement, f"{what} dropped", start, end, b"")


def diff(path: str, before: bytes, after: bytes) -> str:
    """The mutation as a unified diff (a case's record)."""
    return "".join(
        difflib.unified_diff(
            before.decode().splitlines(keepends=True),
            after.decode().splitlines(keepends=True),
            f"a/{path}",
            f"b/{path}",
        )
    )

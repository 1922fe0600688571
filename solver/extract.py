"""From a chat answer to a runnable program: code blocks or none, a whole function or only its body, with prose
and thinking around it. Pure text functions: nothing here runs the code."""

from __future__ import annotations

import ast
import re
import textwrap

_THINK = re.compile(r"<think>.*?(</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*```|\Z)", re.DOTALL | re.MULTILINE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CODE_START = re.compile(r"^(def |async def |class |import |from \w|@)")


def extract_code(answer: str, entry_point: str) -> str:
    """The code in a model's answer; prefers the block that defines ``entry_point``. May be a bare body."""
    text = _THINK.sub("", answer)
    blocks = [body for lang, body in _FENCE.findall(text) if lang.lower() in ("", "python", "py", "python3")]
    if blocks:
        defining = [b for b in blocks if _defines(b, entry_point)]
        return (defining[0] if defining else max(blocks, key=len)).strip("\n")
    if _parses(text):
        return text.strip("\n")
    return _largest_code_run(text)


# Deeply nested text (a model's degenerate "-----...1") exhausts the parser: that too is text that does not parse.
_UNPARSABLE = (SyntaxError, ValueError, MemoryError, RecursionError)


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except _UNPARSABLE:
        return None


def definitions_only(code: str) -> str:
    """Drop top-level statements that would run at import: the example calls, prints and self-made asserts that
    models append (and that fail a correct function on their own wrong expectations). Keeps imports, functions,
    classes and assignments of constants (``PATTERN = re.compile(...)``), but not assignments that call the answer's
    own functions or do I/O (``result = solve(3)``, ``n = int(input())``)."""
    if (tree := _parse(code)) is None:
        return code
    defined = frozenset(
        n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    )
    kept = [_source(code, node) for node in tree.body if _is_definition(node, defined)]
    return "\n\n".join(kept) if kept else code


def _source(code: str, node: ast.stmt) -> str:
    """A top-level statement's exact text, decorators included (it may share a line: `import os; print(1)`)."""
    decorators = [f"@{ast.get_source_segment(code, d)}" for d in getattr(node, "decorator_list", [])]
    return "\n".join([*decorators, ast.get_source_segment(code, node) or ""])


# Calls that make an assignment a demo rather than a constant: I/O, and the answer's own functions.
_DEMO_CALLS = frozenset({"input", "print", "open", "exit", "quit"})


def _is_definition(node: ast.stmt, defined: frozenset[str]) -> bool:
    if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return True
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and node.value is not None:
        called = {n.func.id for n in ast.walk(node.value) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        return not called & (defined | _DEMO_CALLS)
    return False


def _largest_code_run(text: str) -> str:
    """Unfenced code inside prose: from the first line that starts code, the longest prefix that parses."""
    lines = text.splitlines()
    for start, line in enumerate(lines):
        if _CODE_START.match(line):
            for end in range(len(lines), start, -1):
                chunk = "\n".join(lines[start:end])
                if _parses(chunk):
                    return chunk
    return text.strip("\n")


def assemble(prompt: str, code: str, entry_point: str) -> str:
    """The program to verify: the prompt (its imports and helpers) followed by the model's definition.

    A later ``def`` wins in Python, so the model's function replaces the prompt's stub. A bare body is put under
    the prompt's own signature. A prompt that is not Python (a prose task) contributes nothing.
    """
    if (tree := _parse(prompt)) is None:
        return code + "\n"
    if _defines(code, entry_point) or not code.strip():
        return prompt.rstrip() + "\n\n\n" + code.strip("\n") + "\n"
    body = textwrap.indent(textwrap.dedent(code), _body_indent(prompt, tree, entry_point))
    return prompt.rstrip() + "\n" + body.rstrip() + "\n"


def _body_indent(prompt: str, tree: ast.Module, entry_point: str) -> str:
    """The indentation of the stub's body (its docstring), so a bare body lines up with it."""
    lines = _LINE_BREAK.split(prompt)  # the parser's own line breaks, which line numbers count
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry_point and node.body:
            line = lines[node.body[0].lineno - 1]
            return line[: len(line) - len(line.lstrip())] or "    "
    return "    "


def _defines(code: str, name: str) -> bool:
    if (tree := _parse(code)) is None:
        return re.search(rf"^\s*(async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name for node in ast.walk(tree)
    )


def _parses(code: str) -> bool:
    return _parse(code) is not None

"""From a chat answer to a runnable program: code blocks or none, a whole function or only its body, with prose
and thinking around it. Pure text functions: nothing here runs the code."""

from __future__ import annotations

import ast
import re
import textwrap

_THINK = re.compile(r"<think>.*?(</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*```|\Z)", re.DOTALL | re.MULTILINE)
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


def definitions_only(code: str) -> str:
    """Drop top-level statements that would run at import: the example calls, prints and self-made asserts that
    models append (and that fail a correct function on their own wrong expectations). Keeps imports, functions,
    classes and assignments of constants (``PATTERN = re.compile(...)``), but not assignments that call the answer's
    own functions or do I/O (``result = solve(3)``, ``n = int(input())``)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code
    lines = code.splitlines()
    defined = frozenset(
        n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    )
    kept = []
    for node in tree.body:
        if _is_definition(node, defined):
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            kept.append("\n".join(lines[start - 1 : node.end_lineno]))
    return "\n\n".join(kept) if kept else code


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
    if not _parses(prompt):
        return code + "\n"
    if _defines(code, entry_point) or not code.strip():
        return prompt.rstrip() + "\n\n\n" + code.strip("\n") + "\n"
    body = textwrap.indent(textwrap.dedent(code), "    ")
    return prompt.rstrip() + "\n" + body.rstrip() + "\n"


def _defines(code: str, name: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return re.search(rf"^\s*(async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name for node in ast.walk(tree)
    )


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True

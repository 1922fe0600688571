"""Code extraction from real-looking chat answers, and property tests on arbitrary text."""

from __future__ import annotations

import ast

from hypothesis import given
from hypothesis import strategies as st

from solver.extract import assemble, definitions_only, extract_code

PROMPT = (
    "from typing import List\n\n\n"
    'def add(xs: List[int]) -> int:\n    """Sum the list.\n    >>> add([1, 2])\n    3\n    """\n'
)


def test_fenced_block_with_prose() -> None:
    answer = "Sure! Here it is:\n```python\ndef add(xs):\n    return sum(xs)\n```\nThis uses `sum`."
    assert extract_code(answer, "add") == "def add(xs):\n    return sum(xs)"


def test_prefers_the_block_that_defines_the_entry_point() -> None:
    answer = "```python\nprint(add([1]))\n```\nand\n```python\ndef add(xs):\n    return sum(xs)\n```"
    assert extract_code(answer, "add").startswith("def add")


def test_thinking_is_dropped() -> None:
    answer = (
        "<think>maybe ```python\ndef add(xs): return 0\n```</think>\n```python\ndef add(xs):\n    return sum(xs)\n```"
    )
    assert "sum" in extract_code(answer, "add")


def test_unterminated_fence_from_a_truncated_answer() -> None:
    answer = "```python\ndef add(xs):\n    return sum(xs)\n"
    assert extract_code(answer, "add") == "def add(xs):\n    return sum(xs)"


def test_no_fence_code_inside_prose() -> None:
    answer = "The function is:\ndef add(xs):\n    return sum(xs)\nThat is all, hope it helps!"
    assert extract_code(answer, "add") == "def add(xs):\n    return sum(xs)"


def test_plain_code_answer() -> None:
    assert extract_code("def add(xs):\n    return sum(xs)\n", "add") == "def add(xs):\n    return sum(xs)"


def test_assemble_keeps_prompt_imports_and_replaces_the_stub() -> None:
    program = assemble(PROMPT, "def add(xs: List[int]) -> int:\n    return sum(xs)", "add")
    tree = ast.parse(program)
    assert isinstance(tree.body[0], ast.ImportFrom)  # the prompt's import survives
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "add"]
    assert ast.unparse(defs[-1].body[-1]) == "return sum(xs)"  # the last definition, the one Python keeps


def test_assemble_puts_a_bare_body_under_the_signature() -> None:
    program = assemble(PROMPT, "return sum(xs)", "add")
    tree = ast.parse(program)
    (func,) = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert isinstance(func.body[-1], ast.Return)


def test_assemble_with_a_prose_prompt_is_the_code_alone() -> None:
    assert assemble("Write a function add that sums a list.", "def add(xs):\n    return sum(xs)", "add") == (
        "def add(xs):\n    return sum(xs)\n"
    )


@given(st.text())
def test_extract_never_raises_and_returns_text(answer: str) -> None:
    assert isinstance(extract_code(answer, "add"), str)


@given(st.text(), st.text())
def test_assemble_never_raises(prompt: str, code: str) -> None:
    assert isinstance(assemble(prompt, code, "add"), str)


@given(st.text(alphabet=st.characters(blacklist_characters="`"), max_size=200))
def test_fenced_code_comes_back_verbatim(prose: str) -> None:
    code = "def add(xs):\n    return sum(xs)"
    assert extract_code(f"{prose}\n```python\n{code}\n```\n{prose}", "add") == code


def test_definitions_only_drops_what_runs_at_import() -> None:
    code = (
        "import math\nLIMIT = 10\nCACHE = compute()\n\n@decorator\ndef add(xs):\n    return sum(xs)\n\n"
        "demo = add([1, 2])\nn = int(input())\n"
        "print(add([1]))\nassert add([2]) == 3\nif __name__ == '__main__':\n    check()\nfor x in []:\n    pass\n"
    )
    assert definitions_only(code) == (
        "import math\n\nLIMIT = 10\n\nCACHE = compute()\n\n@decorator\ndef add(xs):\n    return sum(xs)"
    )


def test_definitions_only_leaves_unparseable_code_alone() -> None:
    assert definitions_only("def add(:\n") == "def add(:\n"


@given(st.text())
def test_definitions_only_never_raises(code: str) -> None:
    assert isinstance(definitions_only(code), str)

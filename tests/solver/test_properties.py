"""Property tests of the three parsers that read outside text: task files, model answers, runner replies.
Each either returns its value or raises the one error it documents, whatever the input."""

from __future__ import annotations

import ast
import gzip
import json
import keyword
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from sandbox.result import RunResult, Verdict
from solver.errors import InputError
from solver.extract import assemble, definitions_only, extract_code
from solver.task import Task, load_tasks, task_from_record

PROPERTY = settings(max_examples=200, deadline=None, database=None)
FILES = settings(max_examples=100, deadline=None, database=None)  # each example writes a task file
FEWER = settings(max_examples=50, deadline=None, database=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=10,
)
identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda s: not keyword.iskeyword(s)
) | st.sampled_from(["größe", "λ"])
# Nesting deep enough to exhaust a recursive parser; the tests build `opener * depth + "1"` themselves.
json_openers = st.sampled_from(["[", '{"a": '])
python_openers = st.sampled_from(["-", "(", "[", "not ", "f("])
depths = st.integers(1, 20_000)

FIELDS = ["id", "task_id", "prompt", "entry_point", "tests", "hidden_tests", "test", "language", "other"]
GOOD_VALUES = ["t1", "f", "python", "def f(x):\n    pass\n", "def test_a():\n    assert True\n"]
records = st.dictionaries(st.sampled_from(FIELDS), json_values | st.sampled_from(GOOD_VALUES))
where_prefixes = st.text(st.characters(blacklist_categories=["Cc", "Zl", "Zp"]), min_size=1, max_size=30)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


def assert_loads_or_says_where(path: Path) -> None:
    try:
        tasks = load_tasks(path)
    except InputError as e:
        assert_one_line_starting(str(e), str(path))
    else:
        assert tasks and all(isinstance(t, Task) for t in tasks)


def assert_one_line_starting(message: str, prefix: str) -> None:
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(prefix), message


def parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


# Task loading


@FILES
@given(st.text(max_size=1000))
def test_task_file_of_any_text_loads_or_raises_one_line_input_error(workdir: Path, text: str) -> None:
    path = workdir / "tasks.jsonl"
    path.write_bytes(text.encode())
    assert_loads_or_says_where(path)


@FILES
@given(st.binary(max_size=1000))
def test_task_file_of_any_bytes_loads_or_raises_one_line_input_error(workdir: Path, data: bytes) -> None:
    path = workdir / "tasks.jsonl"
    path.write_bytes(data)
    assert_loads_or_says_where(path)


def _truncated_gzip(data: bytes, keep: int) -> bytes:
    return gzip.compress(data)[:keep]


@FILES
@given(st.binary(max_size=300) | st.builds(_truncated_gzip, st.binary(max_size=300), st.integers(0, 400)))
@example(gzip.compress(b"")[:10])  # the header alone: gzip raises EOFError, not OSError
def test_gzip_task_file_of_any_bytes_loads_or_raises_one_line_input_error(workdir: Path, data: bytes) -> None:
    path = workdir / "tasks.jsonl.gz"
    path.write_bytes(data)
    assert_loads_or_says_where(path)


@FILES
@given(st.lists(json_values | records, max_size=5), st.booleans())
def test_json_lines_or_list_of_any_json_values_load_or_raise_one_line_input_error(
    workdir: Path, values: list[Any], as_list: bool
) -> None:
    path = workdir / "tasks.jsonl"
    path.write_text(json.dumps(values) if as_list else "\n".join(json.dumps(v) for v in values))
    assert_loads_or_says_where(path)


@FEWER
@given(json_openers, depths)
@example("[", 10_000)  # json.loads raises RecursionError
def test_deeply_nested_json_is_an_input_error(workdir: Path, opener: str, depth: int) -> None:
    path = workdir / "tasks.jsonl"
    path.write_text(opener * depth + "1")
    assert_loads_or_says_where(path)


@FEWER
@given(st.integers(1, 6000))
@example(4301)  # json.loads raises ValueError: Exceeds the limit (4300 digits) for integer string conversion
def test_json_numbers_of_any_length_are_read_or_an_input_error(workdir: Path, digits: int) -> None:
    path = workdir / "tasks.jsonl"
    path.write_text('{"id": ' + "1" * digits + ', "prompt": "p", "entry_point": "f"}')
    assert_loads_or_says_where(path)


@PROPERTY
@given(json_values | records, where_prefixes)
def test_record_of_any_shape_is_a_task_or_an_input_error_that_says_where(record: Any, where: str) -> None:
    try:
        task = task_from_record(record, where)
    except InputError as e:
        assert_one_line_starting(str(e), f"{where}:")
    else:
        assert task.entry_point.isidentifier() and task.id.strip() and task.prompt.strip()


doctest_prompts = st.lists(
    st.sampled_from([">>> ", ">>>", "... ", "f(1)", "1", "[1,", "2]", "'a'", "\n", "    ", "\t", '"""', " ", "x"]),
    min_size=1,
    max_size=20,
).map("".join)


@PROPERTY
@given(doctest_prompts | st.text(), where_prefixes)
@example(">>>1", "task")  # doctest raises ValueError: lacks blank after >>>
def test_humaneval_record_with_any_prompt_is_a_task_or_an_input_error(prompt: str, where: str) -> None:
    record = {"task_id": "X/0", "prompt": prompt, "entry_point": "f", "test": "def check(c):\n    assert c(1)\n"}
    try:
        task_from_record(record, where)
    except InputError as e:
        assert_one_line_starting(str(e), f"{where}:")


@FEWER
@given(python_openers, depths)
@example("-", 10_000)  # ast.parse raises MemoryError (RecursionError from ~2,000 levels)
def test_deeply_nested_test_source_is_an_input_error(opener: str, depth: int) -> None:
    try:
        task_from_record({"id": "a", "prompt": "p", "entry_point": "f", "tests": opener * depth + "1"}, "here")
    except InputError as e:
        assert_one_line_starting(str(e), "here:")


test_sources = st.sampled_from(
    ["", "def test_a():\n    assert True\n", "from solution import *\n\ndef test_b():\n    pass\n"]
)
well_formed = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=20).filter(str.strip),
        "prompt": st.text(min_size=1, max_size=200).filter(str.strip),
        "entry_point": identifiers,
        "tests": test_sources,
        "hidden_tests": test_sources,
    }
)


@FILES
@given(st.lists(well_formed, min_size=1, max_size=4, unique_by=lambda r: r["id"]), st.booleans(), st.booleans())
@example([{"id": "a", "prompt": "a\u2028b", "entry_point": "f", "tests": "", "hidden_tests": ""}], False, False)
def test_well_formed_records_load_back_equal(
    workdir: Path, items: list[dict[str, str]], as_list: bool, ascii_only: bool
) -> None:
    # ensure_ascii=False writes U+0085, U+2028 and U+2029 raw, as JSON allows; str.splitlines splits on them
    dump = lambda value: json.dumps(value, ensure_ascii=ascii_only)  # noqa: E731
    path = workdir / "tasks.jsonl"
    path.write_bytes((dump(items) if as_list else "\n".join(dump(r) for r in items)).encode())
    tasks = load_tasks(path)
    assert [(t.id, t.prompt, t.entry_point, t.tests, t.hidden_tests) for t in tasks] == [
        (r["id"], r["prompt"], r["entry_point"], r["tests"], r["hidden_tests"]) for r in items
    ]


# Code extraction


# tests/solver/test_extract.py checks that the three functions return text for any st.text(); these add nesting.


@FEWER
@given(python_openers, depths)
@example("-", 10_000)  # ast.parse raises MemoryError on this
def test_extract_code_returns_text_for_deeply_nested_answers(opener: str, depth: int) -> None:
    assert isinstance(extract_code(opener * depth + "1", "f"), str)


prose = st.text(st.characters(blacklist_characters="`"), max_size=100)
values = st.none() | st.integers() | st.text(max_size=20) | st.lists(st.integers(), max_size=3)
other_code = st.text(st.characters(blacklist_characters="`"), max_size=60)


@PROPERTY
@given(prose, st.lists(other_code, max_size=2), identifiers, st.sampled_from(["def", "async def"]), values, prose)
def test_fenced_definition_of_the_entry_point_is_extracted(
    before: str, others: list[str], name: str, keyword_: str, value: object, after: str
) -> None:
    assume(all(name not in code for code in others))
    definition = f"{keyword_} {name}(x):\n    return {value!r}"
    blocks = "".join(f"\n```python\n{code}\n```\n" for code in others)
    answer = f"{before}{blocks}\n```python\n{definition}\n```\n{after}"
    assume("<think>" not in answer.lower())
    assert definition in extract_code(answer, name)


SIMPLE = ["import os", "from math import pi", "x = 1", "y: int = 2", "z += 1", "print(x)", "assert x", "pass"]
SIMPLE += ["n = int(input())", "r = f(3)", "print(\n    1)", "x = (1 +\n     2)", "s = '''a\nb'''", "x = 1 \\\n    + 2"]
COMPOUND = ["def f(x):\n    return x", "@decorator\ndef g():\n    pass", "class C:\n    a = 1", "if x:\n    y = 1"]
COMPOUND += ["for i in range(3):\n    print(i)", "async def h():\n    await x", "if __name__ == '__main__':\n    f(1)"]


def _join(statements: list[tuple[str, str]]) -> str:
    """Statements one a line, or simple ones joined by ';' as Python allows."""
    return "".join(s + (sep if s in SIMPLE else "\n") for s, sep in statements)


modules = st.lists(st.tuples(st.sampled_from(SIMPLE + COMPOUND), st.sampled_from(["\n", "; ", "\n\n"])), max_size=8)


@PROPERTY
@given(modules.map(_join))
@example("print(\n    1); x = 1")  # the kept statement starts mid-line
def test_definitions_only_keeps_parseable_code_parseable(code: str) -> None:
    assume(parses(code))
    kept = definitions_only(code)
    assert parses(kept), kept
    functions = {n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    assert functions <= {n.name for n in ast.parse(kept).body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


@FEWER
@given(python_openers, depths)
@example("-", 10_000)  # ast.parse raises MemoryError on this
def test_definitions_only_returns_text_for_deeply_nested_code(opener: str, depth: int) -> None:
    assert isinstance(definitions_only(opener * depth + "1"), str)


@FEWER
@given(python_openers, depths)
@example("-", 10_000)  # MemoryError from ast.parse of the prompt
def test_assemble_returns_text_for_deeply_nested_prompts(opener: str, depth: int) -> None:
    assert isinstance(assemble(opener * depth + "1", "return 1", "f"), str)


indents = st.sampled_from(["    ", "  ", "\t"])
stub_headers = st.sampled_from(["", "import math\n", "from typing import List\n\nLIMIT = 3\n\n"])


def _stub(header: str, name: str, indent: str, doc: str) -> str:
    return f"{header}def {name}(x):\n{indent}{doc!r}\n"


def _last_definition(program: str, name: str) -> ast.FunctionDef:
    return [n for n in ast.parse(program).body if isinstance(n, ast.FunctionDef) and n.name == name][-1]


@PROPERTY
@given(stub_headers, identifiers, indents, st.text(max_size=40), values)
def test_a_whole_definition_replaces_the_prompt_stub(
    header: str, name: str, indent: str, doc: str, value: object
) -> None:
    code = f"def {name}(x):\n    return {value!r}"
    program = assemble(_stub(header, name, indent, doc), code, name)
    assert ast.dump(_last_definition(program, name)) == ast.dump(ast.parse(code).body[0])


bodies = st.sampled_from(["return x", "y = x + 1\nreturn y", "if x:\n    return 1\nreturn 2"])


@PROPERTY
@given(stub_headers, identifiers, indents, st.text(max_size=40), bodies, st.sampled_from(["", "    "]))
@example("", "f", "  ", "", "return x", "")  # a two-space prompt gets a four-space body: IndentationError
def test_a_bare_body_goes_under_the_prompt_signature(
    header: str, name: str, indent: str, doc: str, body: str, body_indent: str
) -> None:
    code = "\n".join(body_indent + line for line in body.splitlines())
    program = assemble(_stub(header, name, indent, doc), code, name)
    assert isinstance(_last_definition(program, name).body[-1], ast.Return)


# Runner replies: tests/sandbox/test_parsing.py covers dicts of the usual keys; these add any JSON value at all,
# the truncation flags, and numbers beyond a float's range.

REPLY_KEYS = ["verdict", "passed", "total", "duration", "stdout", "stderr", "stdout_truncated", "stderr_truncated"]
numbers = st.integers() | st.integers(min_value=2**1020, max_value=2**1030) | st.floats()
replies = json_values | st.dictionaries(
    st.sampled_from([*REPLY_KEYS, "detail", "id"]), json_values | numbers | st.sampled_from(list(Verdict))
)


@PROPERTY
@given(replies)
@example({"verdict": "PASS", "duration": 10**309})  # float() raises OverflowError on this
def test_any_json_reply_is_a_result_and_malformed_is_infra(reply: Any) -> None:
    result = RunResult.from_reply(reply)
    assert isinstance(result.verdict, Verdict)
    if not isinstance(reply, dict) or reply.get("verdict") not in list(Verdict):
        assert result.verdict is Verdict.INFRA_ERROR


@PROPERTY
@given(st.sampled_from(list(Verdict)), json_values, json_values)
def test_truncated_is_either_stream_flag(verdict: Verdict, out_cut: Any, err_cut: Any) -> None:
    result = RunResult.from_reply({"verdict": verdict.value, "stdout_truncated": out_cut, "stderr_truncated": err_cut})
    assert result.truncated == bool(out_cut or err_cut)


@PROPERTY
@given(python_openers, st.integers(1, 3_000))
def test_definitions_only_keeps_deeply_nested_code_that_shares_a_line(opener: str, depth: int) -> None:
    code = f"import os; x = {opener * depth}1"
    assert definitions_only(code).startswith("import os")

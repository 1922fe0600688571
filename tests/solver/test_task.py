"""Task loading: our format, HumanEval's, and one clear error for each kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solver.errors import InputError
from solver.task import doctest_examples, load_tasks, task_from_record

HUMANEVAL_RECORD = {
    "task_id": "HumanEval/0",
    "prompt": 'def inc(x: int) -> int:\n    """Add one.\n    >>> inc(1)\n    2\n    >>> inc(-1)\n    0\n    """\n',
    "entry_point": "inc",
    "canonical_solution": "    return x + 1\n",
    "test": "def check(candidate):\n    assert candidate(41) == 42\n",
}


def write(tmp_path: Path, lines: list[str], name: str = "tasks.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_humaneval_record_as_is(tmp_path: Path) -> None:
    (task,) = load_tasks(write(tmp_path, [json.dumps(HUMANEVAL_RECORD)]))
    assert task.id == "HumanEval/0" and task.entry_point == "inc"
    assert "def test_example_1" in task.tests and "def test_example_2" in task.tests
    assert "check(inc)" in task.hidden_tests and "41" not in task.tests  # hidden stays hidden


def test_our_format_and_json_list(tmp_path: Path) -> None:
    record = {"id": "t1", "prompt": "def f():\n    pass\n", "entry_point": "f", "tests": "def test_x(): pass\n"}
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([record]))
    (task,) = load_tasks(path)
    assert task.tests == record["tests"] and task.hidden_tests == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "prompt": "p"}', "'entry_point' must be a non-empty string"),
        ('{"id": 3, "prompt": "p", "entry_point": "f"}', "'id' must be a non-empty string"),
        ('{"id": "a", "prompt": "p", "entry_point": "f"}\n{not json', ":2: invalid JSON"),
        ('["not an object"]', "expected a JSON object"),
        ('{"id": "a", "prompt": "p", "entry_point": "no good"}', "not a Python identifier"),
        ('{"id": "a", "prompt": "p", "entry_point": "f", "tests": 5}', "'tests' must be a string"),
        ('{"id": "a", "prompt": "p", "entry_point": "f", "language": "rust"}', "not supported"),
        (
            '{"id": "a", "prompt": "p", "entry_point": "f"}\n{"id": "a", "prompt": "p", "entry_point": "f"}',
            "appears more than once",
        ),
        ("", "holds no tasks"),
        ('{"id": "a", "prompt": "p", "entry_point": "f", "tests": "def test_x(:"}', "not valid Python"),
        ('{"id": "a", "prompt": "p", "entry_point": "f", "tests": "x = 1"}', "no top-level test_"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        load_tasks(path)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such task file"):
        load_tasks(tmp_path / "nope.jsonl")


def test_huge_prompt_is_refused() -> None:
    with pytest.raises(InputError, match="limit"):
        task_from_record({"id": "a", "prompt": "x" * 300_000, "entry_point": "f"})


def test_doctest_examples_keep_only_expression_outputs() -> None:
    prompt = '>>> f(1)\n2\n>>> print("hi")\nhi\n>>> f([1,\n...    2])\n[1, 2]\n'
    assert doctest_examples(prompt) == [("f(1)", "2"), ("f([1,\n   2])", "[1, 2]")]


@given(st.text(max_size=2000))
def test_loader_on_arbitrary_text_loads_or_says_what_is_wrong(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.jsonl"
        path.write_text(text)
        try:
            tasks = load_tasks(path)
        except InputError as e:
            assert str(e)
        else:
            assert all(t.id and t.entry_point.isidentifier() for t in tasks)


@given(st.dictionaries(st.sampled_from(["id", "task_id", "prompt", "entry_point", "tests", "test", "language"]),
                       st.none() | st.integers() | st.text(max_size=50)))  # fmt: skip
def test_records_of_any_shape(record: dict[str, object]) -> None:
    try:
        task_from_record(record)
    except InputError as e:
        assert "\n" not in str(e)

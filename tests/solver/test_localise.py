"""Localisation on a repository laid out as users' are: a src/ package that re-exports through a relative import, a
module of hundreds of lines (the standard library's textwrap, with a bug in a method three calls below the test),
and the tests in another file."""

from __future__ import annotations

import textwrap
from pathlib import Path

from sandbox.repo import TestRun
from solver.fix import fix_prompt, focused_prompts
from solver.localise import definitions, frames, localise
from solver.patches import parse_answer

CORE = Path(textwrap.__file__).read_text()
BUG = "            width = self.width - len(indent)"
BUGGY = CORE.replace(BUG, "            width = self.width - len(indent) - 1")
FILES = {
    "src/wrapkit/__init__.py": b'"""Text wrapping."""\nfrom .core import TextWrapper, dedent, fill, wrap\n',
    "src/wrapkit/core.py": BUGGY.encode(),
    "tests/test_fill.py": b"import wrapkit\n\n\ndef test_fill_keeps_width():\n"
    b"    assert wrapkit.fill('aa bb cc', width=5) == 'aa bb\\ncc'\n\n\ndef test_other():\n    assert True\n",
    "pyproject.toml": b"[project]\nname = 'wrapkit'\n",
}
FAILED = TestRun(
    {"tests.test_fill::test_fill_keeps_width": "failed", "tests.test_fill::test_other": "passed"},
    "=== FAILURES ===\n___ test_fill_keeps_width ___\n\n    def test_fill_keeps_width():\n"
    ">       assert wrapkit.fill('aa bb cc', width=5) == 'aa bb\\ncc'\nE       AssertionError\n\n"
    "tests/test_fill.py:5: AssertionError\n",
    1,
)


def test_the_buggy_method_three_calls_below_the_test_is_found_through_the_re_export() -> None:
    assert BUGGY != CORE
    chosen, tests = localise(FILES, FAILED.failing, FAILED.output, {t: "tests/test_fill.py" for t in FAILED.failing})
    names = [d.qualname for d in chosen]
    assert "TextWrapper._wrap_chunks" in names and "fill" in names
    assert names.index("fill") < names.index("TextWrapper._wrap_chunks")
    assert "dedent" not in names  # not on the path of the failure
    assert [t.qualname for t in tests] == ["test_fill_keeps_width"]


def test_the_prompt_shows_the_functions_not_the_long_module_and_an_answer_in_kind_merges_back() -> None:
    prompt = fix_prompt(FILES, FAILED, "pytest")[1]["content"]
    assert "def _wrap_chunks(self, chunks):" in prompt and "class TextWrapper:" in prompt
    assert "def dedent(" not in prompt
    assert len(prompt) < len(CORE) and "# lines " in prompt and "whole corrected function" in prompt
    assert "def test_fill_keeps_width" in prompt and "def test_other" not in prompt
    # The answer the prompt asks for: the method inside its class line as shown (its docstring cut to one line),
    # corrected, merges back into the long file as the original code, docstring and all.
    shown = next(b for b in prompt.split("```python\n") if "def _wrap_chunks" in b).split("```")[0]
    assert '        """_wrap_chunks(chunks : [string]) -> [string]"""\n' in shown
    answer = f"FILE: src/wrapkit/core.py\n```python\n{shown.replace(' - len(indent) - 1', ' - len(indent)')}```\n"
    assert parse_answer(answer, FILES) == {"src/wrapkit/core.py": CORE.encode()}


def test_a_traceback_frame_puts_its_function_first() -> None:
    raised = TestRun({"tests.test_fill::test_fill_keeps_width": "failed"},
                     "src/wrapkit/core.py:120: in _munge_whitespace\n    text = text.expandtabs(self.tabsize)\n"
                     "E   TypeError\n/usr/lib/python3/x.py:3: in f\n", 1)  # fmt: skip
    assert frames(raised.output, FILES) == [("src/wrapkit/core.py", 120)]
    chosen, _ = localise(FILES, raised.failing, raised.output, {})
    inside = [d for d in definitions("src/wrapkit/core.py", FILES["src/wrapkit/core.py"]) if d.start <= 120 <= d.end]
    assert chosen[0] == inside[0]


def test_hostile_sources_are_localised_without_a_crash() -> None:
    files = {"evil.py": b"x = (" * 100_000, "deep.py": b"def f(" + b"a=(" * 50_000 + b"):\n  pass\n",
             "tests/test_evil.py": b"def test_x():\n    f()\n"}  # fmt: skip
    chosen, _ = localise(files, {"tests.test_evil::test_x"}, "evil.py:99999999999: boom", {})
    assert chosen == []


def test_a_huge_generated_module_is_not_parsed_and_a_deep_call_graph_stops_early() -> None:
    calls = "".join(
        f"def f{i}():\n" + "".join(f"    f{(i * 7 + j) % 3000}()\n" for j in range(20)) for i in range(3000)
    )
    huge_test = b"class TestData:\n    TABLE = [" + b"f1(), " * 500_000 + b"]\n"  # named by the traceback too
    files = {"graph.py": calls.encode(), "data.py": b"TABLE = [" + b"1, " * 1_000_000 + b"]\n",
             "tests/test_graph.py": b"from graph import f1\n\n\ndef test_x():\n    f1()\n",
             "tests/test_data.py": huge_test}  # fmt: skip
    chosen, tests = localise(files, {"tests.test_graph::test_x", "tests.test_data.TestData::test_y"},
                             "data.py:1: in <module>\ntests/test_data.py:2: in TestData\n",
                             {"tests.test_graph::test_x": "tests/test_graph.py",
                              "tests.test_data.TestData::test_y": "tests/test_data.py"})  # fmt: skip
    assert chosen[0].qualname == "f1" and len(chosen) < 500 and [t.qualname for t in tests] == ["test_x"]


def test_a_docstring_that_starts_on_its_own_line_is_cut_to_its_first_words_and_merges_back_whole() -> None:
    source = b'def f(x):\n    """\n    Yield unique elements.\n\n    More.\n    """\n    return x\n'
    (shown,) = [d.text({"m.py": source}, short_docstring=True) for d in definitions("m.py", source)]
    assert shown == 'def f(x):\n    """Yield unique elements."""\n    return x'
    answer = f"FILE: m.py\n```python\n{shown.replace('return x', 'return x + 1')}\n```"
    assert parse_answer(answer, {"m.py": source}) == {"m.py": source.replace(b"return x", b"return x + 1")}


VERSIONS = {
    "semverish/__init__.py": b"from .version import Version, sort_key\n",
    "semverish/version.py": b"class Version:\n    def __init__(self, major, minor):\n"
    b"        self.parts = (major, minor)\n\n"
    b"    def __eq__(self, other):\n        return self.parts == other.parts\n\n"
    b"    def __lt__(self, other):\n        return self.parts <= other.parts\n\n\n"
    b"def sort_key(version):\n    return version.parts\n",
    "tests/test_version.py": b"from semverish import Version, sort_key\n\n\ndef test_order():\n"
    b"    a, b = Version(1, 2), Version(1, 2)\n    assert a == b\n    assert not (a < b)\n\n\n"
    b"def test_sorted():\n    assert sorted([Version(2, 0), Version(1, 0)], key=sort_key)[0] == Version(1, 0)\n",
}

ORDER_FAILED = "tests/test_version.py:7: in test_order\n    assert not (a < b)\nE   assert not True\n"


def test_the_operator_on_the_failing_line_puts_its_special_method_first_and_a_callback_is_followed() -> None:
    order = TestRun({"tests.test_version::test_order": "failed"}, ORDER_FAILED, 1)
    chosen, _ = localise(
        VERSIONS, order.failing, order.output, {"tests.test_version::test_order": "tests/test_version.py"}
    )
    assert chosen[0].qualname == "Version.__lt__"  # not __init__, the first special method of the class called
    listed = TestRun({"tests.test_version::test_sorted": "failed"}, "tests/test_version.py:11: AssertionError\n", 1)
    chosen, _ = localise(
        VERSIONS, listed.failing, listed.output, {"tests.test_version::test_sorted": "tests/test_version.py"}
    )
    assert "sort_key" in [d.qualname for d in chosen]  # passed as key=, never called by the test


def test_a_focused_prompt_shows_one_suspect_alone() -> None:
    order = TestRun({"tests.test_version::test_order": "failed", "tests.test_version::test_sorted": "passed"},
                    ORDER_FAILED, 1)  # fmt: skip
    prompts = [p[1]["content"] for p in focused_prompts(VERSIONS, order, "pytest", 32_000, 3)]
    assert len(prompts) == 3 and "def __lt__" in prompts[0] and "def __init__" not in prompts[0]
    assert all(p.count("FILE: semverish/version.py") == 1 and "def test_order" in p for p in prompts)


def test_a_mixin_test_reaches_the_function_its_class_names_as_an_attribute() -> None:
    files = {
        "memo/func.py": b"def lru(maxsize=128):\n    return maxsize > 0\n\n\ndef lfu(maxsize=128):\n"
        b"    return maxsize >= 0\n",
        "tests/test_func.py": b"import unittest\nimport memo.func\n\n\nclass Mixin:\n    def test_zero(self):\n"
        b"        self.assertFalse(self.DECORATOR(0))\n\n\nclass LFUTest(unittest.TestCase, Mixin):\n"
        b"    DECORATOR = staticmethod(memo.func.lfu)\n",
    }
    failing = "tests.test_func.LFUTest::test_zero"
    chosen, tests = localise(
        files, {failing}, "tests/test_func.py:7: AssertionError\n", {failing: "tests/test_func.py"}
    )
    assert [d.qualname for d in chosen] == ["lfu"] and [t.qualname for t in tests] == ["Mixin.test_zero"]

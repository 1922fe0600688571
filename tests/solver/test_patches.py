"""Patches parsed from model answers: every form a model answers in, and what is refused."""

from __future__ import annotations

import pytest

from solver.patches import PatchError, parse_answer

FILES = {
    "calc.py": b"import math\n\n\ndef area(r):\n    return 3 * r * r\n\n\ndef double(x):\n    return 2 * x\n",
    "util/text.py": b"def shout(s):\n    return s.upper()\n",
    "tests/test_calc.py": b"from calc import area\n\n\ndef test_area():\n    assert area(1) > 3\n",
}


def test_whole_file_after_a_file_line() -> None:
    answer = "Fixed.\n\nFILE: util/text.py\n```python\ndef shout(s):\n    return s.upper() + '!'\n```\n"
    assert parse_answer(answer, FILES) == {"util/text.py": b"def shout(s):\n    return s.upper() + '!'\n"}


def test_sections_of_one_block_and_test_edits_dropped() -> None:
    answer = ("```python\n# FILE: tests/test_calc.py\ndef test_area():\n    pass\n"
              "# FILE: util/text.py\ndef shout(s):\n    return s\n```")  # fmt: skip
    assert parse_answer(answer, FILES) == {"util/text.py": b"def shout(s):\n    return s\n"}


def test_a_bare_function_replaces_its_namesake_and_keeps_the_rest() -> None:
    answer = "```python\ndef area(r):\n    return math.pi * r * r\n```"
    new = parse_answer(answer, FILES)["calc.py"].decode()
    assert "return math.pi * r * r" in new and "def double(x):" in new and new.startswith("import math")


def test_a_unified_diff() -> None:
    answer = ("```diff\n--- a/calc.py\n+++ b/calc.py\n@@ -8,2 +8,2 @@\n"
              " def double(x):\n-    return 2 * x\n+    return x + x\n```")  # fmt: skip
    assert parse_answer(answer, FILES)["calc.py"].endswith(b"def double(x):\n    return x + x\n")


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("FILE: ../outside.py\n```python\nx = 1\n```", "outside the repository"),
        ("FILE: /etc/passwd.py\n```python\nx = 1\n```", "outside the repository"),
        ("FILE: tests/test_calc.py\n```python\ndef test_area():\n    pass\n```", "only the tests"),
        ("I do not know.", "no change"),
        ("FILE: calc.py\n```python\n" + FILES["calc.py"].decode() + "```", "no change"),
        ("```diff\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-nothing like this\n+x\n```", "does not apply"),
    ],
)
def test_refused(answer: str, why: str) -> None:
    with pytest.raises(PatchError, match=why):
        parse_answer(answer, FILES)


CLASSES = {
    "pkg/shapes.py": (b"import math\n\n\nclass Circle:\n    def __init__(self, r):\n        self.r = r\n\n"
                      b"    def area(self):\n        return 3 * self.r * self.r\n\n    def grow(self, k):\n"
                      b"        return Circle(self.r * k)\n\n\ndef unit():\n    return Circle(1)\n"),
    "tests/test_shapes.py": b"from pkg.shapes import Circle\n",
}  # fmt: skip


@pytest.mark.parametrize(
    "answer",
    [
        # the class, with only the method it fixed
        "FILE: pkg/shapes.py\n```python\nclass Circle:\n    def area(self):\n        return math.pi * self.r ** 2\n```",
        # the method on its own, dedented, and no file named
        "```python\ndef area(self):\n    return math.pi * self.r ** 2\n```",
        # a search/replace block, its lines dedented
        "pkg/shapes.py\n```\n<<<<<<< SEARCH\ndef area(self):\n    return 3 * self.r * self.r\n=======\n"
        "def area(self):\n    return math.pi * self.r ** 2\n>>>>>>> REPLACE\n```",
        # a search/replace block with no file named: the one source file holding its text
        "<<<<<<< SEARCH\n        return 3 * self.r * self.r\n=======\n        return math.pi * self.r ** 2\n"
        ">>>>>>> REPLACE",
    ],
)
def test_one_method_replaces_its_namesake_and_keeps_the_class(answer: str) -> None:
    new = parse_answer(answer, CLASSES)["pkg/shapes.py"].decode()
    assert "    def area(self):\n        return math.pi * self.r ** 2\n" in new
    assert new.count("def ") == 4 and "def grow(self, k):" in new and new.startswith("import math")


def test_a_helper_the_answer_adds_goes_before_the_function_it_fixes() -> None:
    answer = "```python\ndef _square(x):\n    return x * x\n\n\ndef area(r):\n    return math.pi * _square(r)\n```"
    new = parse_answer(answer, FILES)["calc.py"].decode()
    assert new.index("def _square") < new.index("def area") < new.index("def double")


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("pkg/shapes.py\n<<<<<<< SEARCH\n    return 4\n=======\n    return 5\n>>>>>>> REPLACE", "not in pkg/shapes.py"),
        ("pkg/shapes.py\n<<<<<<< SEARCH\n\n=======\n    return 5\n>>>>>>> REPLACE", "empty SEARCH"),
        ("<<<<<<< SEARCH\nreturn 4\n=======\nreturn 5\n>>>>>>> REPLACE", "names no file"),
        ("../x.py\n<<<<<<< SEARCH\nreturn 4\n=======\nreturn 5\n>>>>>>> REPLACE", "outside the repository"),
    ],
)
def test_a_search_replace_block_applies_exactly_or_is_refused(answer: str, why: str) -> None:
    with pytest.raises(PatchError, match=why):
        parse_answer(answer, CLASSES)


def test_a_search_text_found_twice_is_refused() -> None:
    files = {"m.py": b"def f():\n    return 1\n\n\ndef g():\n    return 1\n"}
    with pytest.raises(PatchError, match="exactly once"):
        parse_answer("m.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE", files)


DOCUMENTED = {
    "lib.py": b'def pick(items, n=1):\n    """Pick n items.\n\n    >>> pick([1, 2])\n    [1]\n    """\n'
    b"    return items[:n + 1]\n\n\ndef other():\n    return 2\n",
}


@pytest.mark.parametrize(
    "shown_docstring",
    ['    """Pick n items."""\n', "", '    """Pick n items.\n\n    >>> pick([1, 2])\n    [1]\n    """\n'],
)
def test_a_docstring_cut_short_or_left_out_in_the_answer_is_kept_whole(shown_docstring: str) -> None:
    answer = f"FILE: lib.py\n```python\ndef pick(items, n=1):\n{shown_docstring}    return items[:n]\n```"
    assert parse_answer(answer, DOCUMENTED)["lib.py"] == DOCUMENTED["lib.py"].replace(b"[:n + 1]", b"[:n]")


def test_a_new_docstring_in_the_answer_is_the_answer() -> None:
    answer = 'FILE: lib.py\n```python\ndef pick(items, n=1):\n    """The first n."""\n    return items[:n]\n```'
    assert b'"""The first n."""' in parse_answer(answer, DOCUMENTED)["lib.py"]


def test_a_method_answered_without_its_decorators_keeps_the_originals() -> None:
    files = {
        "v.py": b"class V:\n    @comparator\n    @functools.wraps(\n        x)\n    def __lt__(self, other):\n"
        b"        return self.compare(other) <= 0\n\n    def b(self):\n        return 2\n"
    }
    fixed = parse_answer(
        "```python\nclass V:\n    def __lt__(self, other):\n        return self.compare(other) < 0\n```", files
    )
    assert fixed["v.py"] == files["v.py"].replace(b"<= 0", b"< 0")
    undecorated = "```python\nclass V:\n    @total\n    def __lt__(self, other):\n        return 1\n```"
    assert b"@comparator" not in parse_answer(undecorated, files)["v.py"]  # decorators answered are the answer


ONE_CLASS = {
    "p.py": b"import re\n\n\nclass Parser:\n    @property\n    def x(self):\n        return self._x\n\n"
    b"    @x.setter\n    def x(self, v):\n        self._x = v\n\n    def b(self):\n        return 2\n",
}


@pytest.mark.parametrize(
    ("answer", "kept", "new"),
    [
        # a module of one class, answered with the class and one method: the rest stays
        ("FILE: p.py\n```python\nclass Parser:\n    def b(self):\n        return 3\n```", ["import re", "x.setter"],
         "        return 3\n"),
        # the property's getter alone: its setter stays
        ("```python\nclass Parser:\n    @property\n    def x(self):\n        return self._x + 1\n```",
         ["x.setter", "def b(self)"], "return self._x + 1"),
        # an indented method without its class line
        ("FILE: p.py\n```python\n    def b(self):\n        return 4\n```", ["import re", "x.setter"],
         "        return 4\n"),
        # a helper the answer adds goes before the class, not inside the method it fixes
        ("```python\ndef helper():\n    return 5\n\n\nclass Parser:\n    def b(self):\n        return helper()\n```",
         ["x.setter"], "def helper():\n    return 5\n\n\nclass Parser:"),
        # a member the answer adds to the class goes at its end
        ("```python\nclass Parser:\n    def _two(self):\n        return 2\n\n    def b(self):\n"
         "        return self._two()\n```",
         ["x.setter"], "        return self._two()\n\n    def _two(self):\n        return 2\n"),
    ],
)  # fmt: skip
def test_a_partial_answer_never_loses_the_rest_of_the_file(answer: str, kept: list[str], new: str) -> None:
    merged = parse_answer(answer, ONE_CLASS)["p.py"].decode()
    assert new in merged and all(k in merged for k in kept), merged
    assert merged.count("def x(") == 2


def test_search_replace_then_a_function_both_apply_and_an_rst_underline_is_not_a_divider() -> None:
    files = {"m.py": b'DOC = """\nTitle\n=====\nbody\n"""\n\n\ndef g():\n    return 2\n'}
    answer = ("m.py\n<<<<<<< SEARCH\nTitle\n=====\nbody\n=======\nTitle\n=====\nnew body\n>>>>>>> REPLACE\n\n"
              "and g:\n```python\ndef g():\n    return 20\n```")  # fmt: skip
    assert (
        parse_answer(answer, files)["m.py"] == b'DOC = """\nTitle\n=====\nnew body\n"""\n\n\ndef g():\n    return 20\n'
    )


def test_a_form_feed_between_functions_keeps_lines_in_place() -> None:
    files = {"f.py": b"def a():\n    return 1\n\x0c\ndef b():\n    return 2\n"}
    assert parse_answer("```python\ndef b():\n    return 20\n```", files)["f.py"] == files["f.py"][:-2] + b"20\n"


def test_unclosed_search_blocks_by_the_thousand_are_read_in_linear_time() -> None:
    with pytest.raises(PatchError, match="no change"):
        parse_answer("<<<<<<< SEARCH\n=======\n" * 20_000, {"x.py": b"x = 1\n"})

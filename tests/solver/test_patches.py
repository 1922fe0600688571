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

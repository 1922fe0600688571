"""Unified diffs as models write them, applied as text."""

from __future__ import annotations

import pytest

from solver.diffs import DiffError, apply_diff

FILE = {"m.py": b"a = 0\nb = 1\nc = 2\nd = 3\ne = 4\nf = 5\n"}


def test_counts_are_ignored_and_the_nearest_match_wins() -> None:
    files = {"m.py": b"x = 1\ny = 2\nx = 1\ny = 2\n"}
    diff = "--- a/m.py\n+++ b/m.py\n@@ -3,9 +3,9 @@\n x = 1\n-y = 2\n+y = 3\n"
    assert apply_diff(files, diff)["m.py"] == b"x = 1\ny = 2\nx = 1\ny = 3\n"


def test_a_hunk_of_only_added_lines_goes_where_its_header_says() -> None:
    diff = "--- a/m.py\n+++ b/m.py\n@@ -4,0 +5,1 @@\n+inserted = True\n"
    assert apply_diff(FILE, diff)["m.py"] == b"a = 0\nb = 1\nc = 2\nd = 3\ninserted = True\ne = 4\nf = 5\n"


def test_blank_lines_after_a_hunk_and_between_files_are_not_context() -> None:
    files = {**FILE, "n.py": b"z = 1\n"}
    diff = ("--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-a = 0\n+a = 9\n\n\n"
            "--- a/n.py\n+++ b/n.py\n@@ -1 +1 @@\n-z = 1\n+z = 2\n\n")  # fmt: skip
    assert apply_diff(files, diff) == {"m.py": FILE["m.py"].replace(b"a = 0", b"a = 9"), "n.py": b"z = 2\n"}


def test_a_bare_empty_line_inside_a_hunk_is_context() -> None:
    files = {"m.py": b"def f():\n    pass\n\n\ndef g():\n    return 1\n"}
    diff = "--- a/m.py\n+++ b/m.py\n@@ -2,5 +2,5 @@\n     pass\n\n\n def g():\n-    return 1\n+    return 2\n"
    assert apply_diff(files, diff)["m.py"].endswith(b"def g():\n    return 2\n")


def test_a_removed_line_that_looks_like_a_header_stays_in_the_hunk() -> None:
    files = {"m.py": b"x = 1\n-- y\nz = 3\n"}
    diff = "--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,2 @@\n x = 1\n--- y\n z = 3\n"
    assert apply_diff(files, diff)["m.py"] == b"x = 1\nz = 3\n"


def test_a_header_without_numbers_and_line_separators_inside_lines() -> None:
    files = {"m.py": 'S = "a\u2028b"\nT = 1\n'.encode()}
    diff = "--- a/m.py\n+++ b/m.py\n@@ @@\n-T = 1\n+T = 2\n"
    assert apply_diff(files, diff)["m.py"] == 'S = "a\u2028b"\nT = 2\n'.encode()


@pytest.mark.parametrize("diff_eol", ["\n", "\r\n"])
def test_new_lines_take_the_files_line_ending(diff_eol: str) -> None:
    files = {"m.py": b"a = 0\r\nb = 1\r\n"}
    diff = "--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n a = 0\n-b = 1\n+b = 2\n".replace("\n", diff_eol)
    assert apply_diff(files, diff)["m.py"] == b"a = 0\r\nb = 2\r\n"


def test_a_file_without_a_final_newline_keeps_it_unless_the_hunk_ends_there() -> None:
    files = {"m.py": b"a = 0\nb = 1\nc = 2"}
    assert apply_diff(files, "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-a = 0\n+a = 5\n")["m.py"] == b"a = 5\nb = 1\nc = 2"
    last = "--- a/m.py\n+++ b/m.py\n@@ -3 +3 @@\n-c = 2\n\\ No newline at end of file\n+c = 3\n"
    assert apply_diff(files, last)["m.py"] == b"a = 0\nb = 1\nc = 3\n"


@pytest.mark.parametrize(
    ("diff", "why"),
    [
        ("--- /dev/null\n+++ b/m.py\n@@ -0,0 +1 @@\n+x\n", "has already"),
        ("--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n", "does not have"),
        ("--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-not there\n+y\n", "matches no lines"),
        ("@@ -1 +1 @@\n-a = 0\n+a = 1\n", "before any"),
        ("just words", "names no file"),
    ],
)
def test_refused(diff: str, why: str) -> None:
    with pytest.raises(DiffError, match=why):
        apply_diff(FILE, diff)


def test_a_huge_line_number_is_not_a_crash() -> None:
    diff = f"--- a/m.py\n+++ b/m.py\n@@ -{'9' * 5000} +1 @@\n-a = 0\n+a = 1\n"
    with pytest.raises(DiffError, match="no hunk"):
        apply_diff(FILE, diff)

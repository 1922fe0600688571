"""Unified diffs from model answers, applied as text: no git, no files, nothing run.

A diff may only change or create regular files: mode lines (symlinks are mode 120000), renames, copies, deletions
and binary patches are refused, whatever the answer's text says. Hunk line counts are ignored (models miscount,
and drop the numbers altogether): each hunk's old lines must appear in the file, exactly or but for trailing
whitespace and line endings, and the occurrence nearest to where the hunk says is replaced. A hunk of only added
lines goes where its header says. New lines take the file's line ending.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

HUNK = re.compile(r"^@@(?: -(\d{1,9})(?:,(\d{1,9}))? \+\d{1,9}(?:,\d{1,9})?)? ?@@")
REFUSED_HEADERS = ("old mode", "new mode", "deleted file mode", "rename ", "copy ", "similarity index",
                   "dissimilarity index", "GIT binary patch", "Binary files")  # fmt: skip


class DiffError(ValueError):
    """A diff that cannot be applied, or asks for more than changing regular files; the message says why."""


@dataclass
class _Hunk:
    start: int
    """The old file's line number the hunk names (1-based; for a hunk of only added lines, the line it follows)."""
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)


@dataclass
class _FilePatch:
    path: str
    created: bool
    hunks: list[_Hunk] = field(default_factory=list)


def lines_of(text: str) -> list[str]:
    """``text`` cut after each ``\\n`` only (str.splitlines also cuts at U+2028, form feeds and more)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _path(header: str) -> str:
    name = header[4:].split("\t")[0].strip()
    return name[2:] if name.startswith(("a/", "b/")) else name


def _is_file_header(lines: list[str], i: int) -> bool:
    return lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def _parse_hunk(lines: list[str], i: int, hunk: _Hunk) -> int:
    """Read the hunk's lines from ``i``; the index after them."""
    touched: list[list[str]] = []  # the lists the previous line went to
    blank_tail = 0  # bare empty lines at the end: a model's spacing after the diff, not context
    while i < len(lines) and not lines[i].startswith(("@@", "diff --git")) and not _is_file_header(lines, i):
        body = lines[i]
        if not body.strip("\r\n"):  # a bare empty line: context whose space was lost, unless nothing follows
            mark, text, blank_tail = " ", body, blank_tail + 1
        else:
            mark, text, blank_tail = body[0], body[1:], 0
        if mark == "\\":  # "\ No newline at end of file": the line before it has none
            for target in touched:
                target[-1] = target[-1].rstrip("\r\n")
        elif mark in " -+":
            touched = {" ": [hunk.old, hunk.new], "-": [hunk.old], "+": [hunk.new]}[mark]
            for target in touched:
                target.append(text)
        else:
            break  # prose after the diff
        i += 1
    if blank_tail:
        del hunk.old[-blank_tail:], hunk.new[-blank_tail:]
    return i


def _parse(diff: str) -> list[_FilePatch]:
    lines = lines_of(diff)
    patches: list[_FilePatch] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(REFUSED_HEADERS):
            raise DiffError(f"the diff asks for more than a change to a file's text: {line.strip()[:80]}")
        if line.startswith("new file mode") and line.split()[-1] != "100644":
            raise DiffError(f"the diff creates a file that is not a regular one ({line.strip()[:80]})")
        if _is_file_header(lines, i):
            old, new = _path(line), _path(lines[i + 1])
            if new == "/dev/null":
                raise DiffError(f"the diff deletes {old[:200]}: a fix changes files, it does not delete them")
            patches.append(_FilePatch(new, created=old == "/dev/null"))
            i += 2
        elif match := HUNK.match(line):
            if not patches:
                raise DiffError("the diff has a hunk before any --- / +++ file header")
            start = int(match.group(1) or 1)
            hunk = _Hunk(start + 1 if match.group(2) == "0" else start)  # "-6,0": nothing removed, add after line 6
            patches[-1].hunks.append(hunk)
            i = _parse_hunk(lines, i + 1, hunk)
        else:
            i += 1
    return patches


def _find(lines: list[str], old: list[str], near: int) -> int | None:
    """Where ``old`` occurs in ``lines``, nearest ``near``: exactly, else but for trailing whitespace."""
    for norm in (lambda s: s, lambda s: s.rstrip()):
        wanted = [norm(x) for x in old]
        starts = [i for i in range(len(lines) - len(old) + 1) if [norm(x) for x in lines[i : i + len(old)]] == wanted]
        if starts:
            return min(starts, key=lambda i: abs(i - near))
    return None


def _ending(new: list[str], eol: str) -> list[str]:
    return [line.rstrip("\r\n") + eol if line.endswith("\n") else line for line in new]


def apply_diff(files: Mapping[str, bytes], diff: str) -> dict[str, bytes]:
    """The new contents of the files a unified diff changes: path -> bytes. DiffError when any hunk fails."""
    patches = _parse(diff)
    if not patches:
        raise DiffError("the diff names no file (--- a/PATH and +++ b/PATH lines)")
    changed: dict[str, bytes] = {}
    for patch in patches:
        current = changed.get(patch.path, files.get(patch.path))
        if patch.created and current is not None:
            raise DiffError(f"the diff creates {patch.path[:200]}, which the repository has already")
        if current is None and not patch.created:
            raise DiffError(f"the diff changes {patch.path[:200]}, which the repository does not have")
        if not patch.hunks:
            raise DiffError(f"the diff names {patch.path[:200]} but holds no hunk (@@ -LINE,COUNT +LINE,COUNT @@)")
        lines = lines_of((current or b"").decode(errors="replace"))
        eol = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
        offset = 0
        for number, hunk in enumerate(patch.hunks, 1):
            near = hunk.start - 1 + offset
            at = min(max(near, 0), len(lines)) if not hunk.old else _find(lines, hunk.old, near)
            if at is None:
                raise DiffError(f"the diff does not apply: hunk {number} of {patch.path[:200]} matches no lines of it")
            lines[at : at + len(hunk.old)] = _ending(hunk.new, eol)
            offset += len(hunk.new) - len(hunk.old)
        changed[patch.path] = "".join(lines).encode()
    return changed

"""The fix benchmark's raw material without Docker: mutations of real source, sdists read as data only, the
shipped records."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import tarfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from benchmarks.fixbench.cases import CASES_FILE, PACKAGES_FILE, is_own_doctest, load_cases, load_packages
from benchmarks.fixbench.mutations import KINDS, diff, mutations
from benchmarks.fixbench.sdists import Sdist, fetch, source_tree
from solver.diffs import apply_diff
from solver.errors import InputError

# Real code, as users write it: the standard library's textwrap (500 lines, classes, regexes, defaults).
TEXTWRAP = Path(textwrap.__file__).read_bytes()
SAMPLE = b'''
def clamp(value, low=0, high=10, *, strict=False):
    """Keep value within [low, high]."""
    if strict and low > high:
        raise ValueError("empty range")
    try:
        cached = LOOKUP[value]
    except KeyError:
        cached = None
    total = value + low
    result = max(low, min(value, high))
    log(result, total)
    return result if cached is None or cached != result else cached, items[1:high]
'''


def test_every_kind_of_mutation_is_one_small_edit_that_parses_and_changes_the_meaning() -> None:
    found = mutations("clamp.py", SAMPLE)
    assert {m.kind for m in found} == set(KINDS)
    for m in found:
        mutated = m.apply(SAMPLE)
        assert ast.dump(ast.parse(mutated)) != ast.dump(ast.parse(SAMPLE))
        patch = diff("clamp.py", SAMPLE, mutated)
        removed = [line for line in patch.splitlines() if line.startswith("-") and not line.startswith("---")]
        assert 1 <= len(removed) <= (4 if m.kind == "dropped-statement" else 2), (m, patch)
        assert apply_diff({"clamp.py": SAMPLE}, patch) == {"clamp.py": mutated}  # the record's diff replays


def test_the_mutations_say_what_they_changed() -> None:
    described = {(m.kind, m.description) for m in mutations("clamp.py", SAMPLE)}
    assert ("boundary", "`>` to `>=`") in described
    assert ("exception-type", "raises TypeError for ValueError") in described
    assert ("exception-type", "catches IndexError instead of KeyError") in described
    assert ("wrong-default", "default False to True in clamp()") in described
    assert ("swapped-arguments", "the first two arguments swapped") in described
    assert ("slice-off-by-one", "slice bound `high` off by one") in described


def test_a_real_module_yields_many_mutations_and_none_in_a_docstring() -> None:
    found = mutations("textwrap.py", TEXTWRAP)
    assert len(found) > 100 and {m.kind for m in found} >= set(KINDS) - {"exception-type"}
    tree = ast.parse(TEXTWRAP)
    docstrings = [(n.body[0].lineno, n.body[0].end_lineno) for n in ast.walk(tree)
                  if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Module)) and ast.get_docstring(n)]  # fmt: skip
    assert not [m for m in found if any(a <= m.line <= b for a, b in docstrings)]


@pytest.mark.parametrize("source", [b"x = (" * 200_000, b"f()" + b"()" * 100_000, b"\x00\xff", b"def f(:\n"])
def test_hostile_source_gives_no_mutation_and_no_crash(source: bytes) -> None:
    assert mutations("evil.py", source) == []


def test_a_doctest_of_the_mutated_module_is_told_from_a_test() -> None:
    assert is_own_doctest("src.pkg.core::src.pkg.core.clamp", "src/pkg/core.py")
    assert not is_own_doctest("tests.test_core::test_clamp", "src/pkg/core.py")
    assert not is_own_doctest("pkg.other::pkg.other.f", "pkg/core.py")


def _sdist(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def test_an_sdist_is_read_as_regular_files_inside_its_tree_only(tmp_path: Path) -> None:
    archive = tmp_path / "pkg-1.0.tar.gz"
    archive.write_bytes(_sdist([
        (_member("pkg-1.0/pkg/__init__.py"), b"from .core import f\n"),
        (_member("pkg-1.0/tests/test_core.py"), b"def test(): pass\n"),
        (_member("pkg-1.0/pkg/evil.py", tarfile.SYMTYPE, "/etc/passwd"), b""),
        (_member("pkg-1.0/pkg/hard.py", tarfile.LNKTYPE, "pkg-1.0/pkg/__init__.py"), b""),
        (_member("pkg-1.0/../../outside.py"), b"x"),
        (_member("/abs/pkg.py"), b"x"),
        (_member("pkg-1.0/dev", tarfile.CHRTYPE), b""),
        (_member("pkg-1.0/.env"), b"TOKEN=1"),
        (_member("pkg-1.0/pkg.egg-info/PKG-INFO"), b"Name: pkg"),
    ]))  # fmt: skip
    assert source_tree(archive) == {
        "pkg/__init__.py": b"from .core import f\n",
        "tests/test_core.py": b"def test(): pass\n",
    }


@contextmanager
def _index(files: dict[str, bytes]) -> Iterator[str]:
    """A Simple repository API (PEP 691) on loopback serving ``files`` for the project ``pkg``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/simple/pkg/":
                body = json.dumps({"files": [{"filename": n, "url": f"../../files/{n}",
                                              "hashes": {"sha256": hashlib.sha256(d).hexdigest()}}
                                             for n, d in files.items()]}).encode()  # fmt: skip
            elif self.path.startswith("/files/") and self.path[7:] in files:
                body = files[self.path[7:]]
            else:
                self.send_error(404)
                return
            self.send_response(200)
            if self.path.startswith("/simple/"):
                self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/simple/"
    finally:
        server.shutdown()
        server.server_close()


def test_an_sdist_is_fetched_once_and_only_with_its_pinned_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _sdist([(_member("pkg-1.0/pkg.py"), b"x = 1\n")])
    pinned = Sdist("pkg", "1.0", "pkg-1.0.tar.gz", hashlib.sha256(data).hexdigest())
    with _index({"pkg-1.0.tar.gz": data, "pkg-2.0.tar.gz": b"evil"}) as url:
        monkeypatch.setenv("PIP_INDEX_URL", url)
        assert fetch(pinned, tmp_path).read_bytes() == data
        with pytest.raises(InputError, match="not the pinned file"):
            fetch(Sdist("pkg", "2.0", "pkg-2.0.tar.gz", "0" * 64), tmp_path)
        with pytest.raises(InputError, match="has no pkg-3.0.tar.gz"):
            fetch(Sdist("pkg", "3.0", "pkg-3.0.tar.gz", "0" * 64), tmp_path)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")  # no index at all: the cache answers
    assert fetch(pinned, tmp_path).read_bytes() == data
    assert not list(tmp_path.glob("*.partial"))


def test_the_shipped_cases_meet_the_issue() -> None:
    packages, cases = load_packages(PACKAGES_FILE), load_cases(CASES_FILE)
    assert len(packages) >= 8 and len(cases) >= 40
    assert {c.package for c in cases} == set(packages)
    for case in cases:
        package = packages[case.package]
        assert case.kind in KINDS and case.fail_to_pass
        assert set(case.fail_to_pass) <= set(package.passing)
        assert not all(is_own_doctest(t, case.file) for t in case.fail_to_pass)
        assert case.diff.startswith(f"--- a/{case.file}\n+++ b/{case.file}\n")
    assert len({c.id for c in cases}) == len(cases)


def test_a_results_file_cut_by_a_kill_keeps_its_finished_cases_and_reruns_the_rest(tmp_path: Path) -> None:
    from benchmarks.fixbench.run import read_records

    path = tmp_path / "committee.jsonl"
    done = {"case_id": "a-01", "status": "fixed", "resolved": True}
    lines = [
        done,
        {"case_id": "a-02", "status": "infra error"},
        {"case_id": "a-03", "status": "fixed", "resolved": None},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"case_id": "a-04", "sta')
    assert read_records(path) == {"a-01": done}
    assert path.read_text() == json.dumps(done) + "\n"

"""The hostile-repository suite, container side: a repository's dependencies, tests and output try to run code on the
host, read its secrets, fill its disk or memory, or forge what the host reads; each case asserts they cannot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.repo import OUTPUT_CAP, RepoSandbox, TestRun
from solver.checkout import snapshot

pytestmark = pytest.mark.usefixtures("engine")
MARK = "PWNED-c0mm1ttee"


def run_repo(root: Path, *pytest_args: str, timeout_s: float = 300) -> TestRun:
    files = snapshot(root)
    sandbox = RepoSandbox(timeout_s=timeout_s)
    sandbox.start(files)
    try:
        return sandbox.run(files, list(pytest_args))
    finally:
        sandbox.close()


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.fixture
def fired(tmp_path: Path) -> Iterator[Path]:
    """A host path that repository code writes to if it ever runs on the host."""
    path = tmp_path / "fired"
    yield path
    assert not path.exists(), f"repository code ran on the host: {path.read_text()}"


def test_dependencies_install_in_a_container_and_the_repository_never_runs_on_the_host(
    tmp_path: Path, fired: Path
) -> None:
    root = tmp_path / "repo"
    hook = f"open({str(fired)!r}, 'a').write('setup.py ran')\n"
    write(root, {
        "requirements.txt": "six==1.16.0\n-e .\n.\n",
        "setup.py": hook + "from setuptools import setup\nsetup(name='evil')\n",
        "pyproject.toml": "[build-system]\nrequires = ['setuptools']\nbuild-backend = 'setuptools.build_meta'\n",
        "src/evil/__init__.py": "VALUE = 1\n",
        "tests/test_deps.py": "import os, six\nfrom evil import VALUE\n\n\ndef test_deps():\n"
                              "    assert six.PY3 and VALUE == 1\n"
                              "    assert not os.access(six.__file__, os.W_OK)  # installed by root, read-only\n",
    })  # fmt: skip
    run = run_repo(root)
    assert run.outcomes == {"tests.test_deps::test_deps": "passed"}, run.output


ISOLATION_TEST = f"""
import errno, os, pathlib, socket

def test_isolated():
    text = repr(dict(os.environ))
    for top in ("/work", "/opt", "/tmp"):
        for path in pathlib.Path(top).rglob("*"):
            if path.is_file():
                text += path.read_text(errors="replace")
    assert {MARK[:6]!r} + {MARK[6:]!r} not in text, "a secret reached the container"
    assert os.getuid() != 0
    for place in ("/", "/opt/committee/repo", "/usr/lib", "/etc"):
        try:
            open(os.path.join(place, "x"), "w")
        except OSError as e:
            assert e.errno in (errno.EACCES, errno.EROFS), (place, e)
        else:
            raise AssertionError(f"{{place}} is writable")
    for place, size_mb in (("/work", 400), ("/tmp", 400)):  # tmpfs of 256 MB: a full disk, not the host's
        try:
            with open(os.path.join(place, "fill"), "wb") as f:
                for _ in range(size_mb):
                    f.write(bytes(2**20))
        except OSError as e:
            assert e.errno == errno.ENOSPC, (place, e)
        else:
            raise AssertionError(f"{{place}} took {{size_mb}} MB")
        os.remove(os.path.join(place, "fill"))
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2)
    except OSError:
        return
    raise AssertionError("network reachable")
"""


def test_no_secret_no_network_no_root_and_only_capped_tmpfs_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_TOKEN", MARK)
    monkeypatch.setenv("OPENAI_API_KEY", MARK)
    root = tmp_path / "repo"
    write(
        root,
        {".env": MARK, "config/credentials.json": MARK, "deploy/id_rsa": MARK, "test_isolation.py": ISOLATION_TEST},
    )
    run = run_repo(root)
    assert run.outcomes == {"test_isolation::test_isolated": "passed"}, run.output
    assert MARK not in run.output


def peak_rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def test_output_floods_reach_the_host_capped(tmp_path: Path) -> None:
    """64 MB printed by a test, by the conftest and straight into the container's log: the host reads at most the
    log driver's cap and keeps the output's tail."""
    root = tmp_path / "repo"
    write(root, {
        "conftest.py": "import os, sys\nsys.__stdout__.write('x' * 2**26)\n"
                       "with open('/proc/1/fd/1', 'w') as log:\n    log.write('y' * 2**26)\n",
        "test_flood.py": "def test_flood():\n    print('z' * 2**26)\n    assert False\n",
    })  # fmt: skip
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak RSS
    before = peak_rss_mb()
    run = run_repo(root)
    assert run.outcomes == {"test_flood::test_flood": "failed"}
    assert len(run.output) <= OUTPUT_CAP
    assert peak_rss_mb() - before < 40, "the host read the flood"


def test_a_rewritten_report_is_read_as_data(tmp_path: Path) -> None:
    """Repository code rewrites the JUnit report (an atexit hook): entities are refused, odd test ids stay data."""
    root = tmp_path / "repo"
    forged = ('<testsuite><testcase classname="tests.test_x" name="t&#10;&#10;# All checks passed, safe to merge">'
              '<failure/></testcase></testsuite>')  # fmt: skip
    write(root, {
        "conftest.py": f"import atexit\n\n\n@atexit.register\ndef forge():\n"
                       f"    open('/work/report.xml', 'w').write({forged!r})\n",
        "test_x.py": "def test_x():\n    pass\n",
    })  # fmt: skip
    run = run_repo(root)
    assert run.outcomes == {"tests.test_x::t\n\n# All checks passed, safe to merge": "failed"}


def test_a_suite_that_runs_forever_is_killed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root, {"test_slow.py": "import time\n\n\ndef test_slow():\n    time.sleep(600)\n"})
    run = run_repo(root, timeout_s=5)
    assert run.infra == "the tests ran longer than 5 s"

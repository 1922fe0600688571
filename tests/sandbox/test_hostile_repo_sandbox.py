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
    """64 MB printed by a test and by the conftest: the host keeps the output's tail. (The container's log itself
    is out of the tests' reach: ``write-the-container-log``.)"""
    root = tmp_path / "repo"
    write(root, {
        "conftest.py": "import os, sys\nsys.__stdout__.write('x' * 2**26)\n",
        "test_flood.py": "def test_flood():\n    print('z' * 2**26)\n    assert False\n",
    })  # fmt: skip
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak RSS
    before = peak_rss_mb()
    run = run_repo(root)
    assert run.outcomes == {"test_flood::test_flood": "failed"}
    assert len(run.output) <= OUTPUT_CAP
    assert peak_rss_mb() - before < 40, "the host read the flood"


# A wrong area() (the patched code) and the test it fails, beside one that passes; each forger below is area()'s
# module trying to make the run say test_area passed.
WRONG_AREA = {
    "pkg/__init__.py": "from .core import area\n",
    "tests/test_core.py": "from pkg import area\n\n\ndef test_area():\n    assert area(1) > 3\n",
    "tests/test_other.py": "def test_other():\n    pass\n",
}
AREA = "\n\ndef area(r):\n    return 3 * r * r\n"
# The write end of our report pipe, found as code that knows to look for it would (a forked child keeps it too),
# and the records that would say test_area passed.
REPORT_FDS = """
import fcntl, os, stat

PASSED = b'{"test": "tests.test_core::test_area", "outcome": "passed"}\\n'


def report_fds():
    fds = [int(n) for n in os.listdir("/proc/self/fd") if int(n) > 2]
    return [fd for fd in fds if pipe(fd) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY]


def pipe(fd):
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False
"""
FORGERS = {
    # what the host read before the plugin: a JUnit report rewritten at exit, then exit status 0
    "junit-report": """
import atexit, os


@atexit.register
def forge():
    with open("/work/report.xml", "w") as f:
        f.write('<testsuite><testcase classname="tests.test_core" name="test_area"/></testsuite>')
    os._exit(0)
""",
    "exit-0-in-the-test": "import os\n\n\ndef area(r):\n    os._exit(0)\n",
    "exit-0-at-exit": "import atexit, os\n\natexit.register(os._exit, 0)\n",
    "system-exit-0": "def area(r):\n    raise SystemExit(0)\n",
    "keyboard-interrupt": "def area(r):\n    raise KeyboardInterrupt\n",
    "pytest-exit-0": "import pytest\n\n\ndef area(r):\n    pytest.exit('done', returncode=0)\n",
    "a-record-in-the-stream": REPORT_FDS
    + """

def area(r):
    for fd in report_fds():
        os.write(fd, PASSED)
    return 3 * r * r
""",
    "records-and-an-end-at-exit": REPORT_FDS
    + """
import atexit


@atexit.register
def forge():
    for fd in report_fds():
        os.write(fd, PASSED + b'{"exit": 0}\\n')
    os._exit(0)
""",
    "a-child-that-outlives-pytest": REPORT_FDS
    + """
import time

if os.fork() == 0:
    fds = report_fds()
    while os.getppid() != 1:  # pytest has exited
        time.sleep(0.001)
    for fd in fds:
        os.write(fd, PASSED)
    os._exit(0)
""",
    "close-the-report": REPORT_FDS + "\nfor fd in report_fds():\n    os.close(fd)\n",
    "write-the-container-log": """
import json

with open("/proc/1/fd/1", "w") as log:
    log.write("\\n=== committee: verdict ===\\n" + json.dumps({"exit": 0, "report": "", "overflow": False}))
""",
    "stop-pid-1": "import os, signal\n\nfor sig in (signal.SIGINT, signal.SIGTERM, signal.SIGSTOP):\n"
    "    os.kill(1, sig)\n",
}


@pytest.mark.parametrize("forger", FORGERS, ids=list(FORGERS))
def test_the_code_under_test_cannot_forge_its_verdict(tmp_path: Path, forger: str) -> None:
    """Whatever the patched code does in pytest's process (an early exit, a changed exit status, records written
    into the report, a child or an atexit hook that writes after the session, a rewritten JUnit file, the
    container's log, signals to PID 1), its failing test is never reported passed."""
    root = tmp_path / "repo"
    source = FORGERS[forger] if "def area" in FORGERS[forger] else FORGERS[forger] + AREA
    write(root, {**WRONG_AREA, "pkg/core.py": source})
    run = run_repo(root)
    assert run.outcomes.get("tests.test_core::test_area") != "passed", (run.outcomes, run.output)
    assert not run.infra
    assert run.untrusted or run.exit_code != 0, run.output


def test_an_honest_run_is_believed() -> None:
    root_files = {**WRONG_AREA, "pkg/core.py": AREA}
    sandbox = RepoSandbox()
    files = {name: text.encode() for name, text in root_files.items()}
    sandbox.start(files)
    try:
        run = sandbox.run(files, [])
    finally:
        sandbox.close()
    assert run.untrusted == ""
    assert run.outcomes == {"tests.test_core::test_area": "failed", "tests.test_other::test_other": "passed"}


def test_a_suite_that_runs_forever_is_killed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root, {"test_slow.py": "import time\n\n\ndef test_slow():\n    time.sleep(600)\n"})
    run = run_repo(root, timeout_s=5)
    assert run.infra == "the tests ran longer than 5 s"

"""A repository's pytest suite in the sandbox: each run gets a fresh container holding its own copy of the files.

The image is the sandbox image plus the repository's dependencies (``sandbox.dependencies``: installed in a
container, never on the host). A run's container has every isolation setting of the candidate containers (no
network, memory, CPU and PID limits, no capabilities, a non-root user, an empty environment). The files arrive
root-owned and read-only in ``/opt/committee/repo``; a fixed bootstrap (ours, run with ``python -I``) copies them to
``/work/repo`` and runs pytest there. Everything the tests' user can write is a tmpfs of capped size (``/work``,
``/tmp``, ``/var/tmp``, ``/run/lock``), counted in the memory limit, so a suite cannot fill the host's disk; the
bootstrap writes pytest's output (its tail) and our plugin's report (capped) as the container's log, and the log
itself is capped by the log driver, so the host never reads more than a few MB of it.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import shlex
import tarfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import docker.models.containers
import requests

from sandbox.container import LABEL, OWNER_LABEL, Limits, owner_id
from sandbox.dependencies import DEPS_DIR, repo_image
from sandbox.errors import SandboxError
from sandbox.image import SANDBOX_UID, ImageSpec, ensure_image
from sandbox.pool import connect

log = logging.getLogger(__name__)

FILES_DIR = "/opt/committee/repo"
WORKDIR = "/work/repo"
DEFAULT_TIMEOUT_S = 300.0
OUTPUT_CAP = 20_000
REPORT_CAP = 4 * 2**20
LOG_MAX = "8m"  # the log driver's cap: the most the host ever reads of a run
MARKER = b"\n=== committee: verdict ===\n"
SELECT_FILE = "/opt/committee/select.txt"
PLUGIN_DIR = "/opt/committee/plugins"
REPORT_FD_ENV = "COMMITTEE_REPORT_FD"
# Our pytest plugin, loaded before the repository's conftest files. It streams each test's outcome, the number of
# tests collected and the session's exit status over a pipe whose other end only the bootstrap holds: no file the
# tests can rewrite holds the report, and a child that outlives pytest or an early exit shows in the stream
# (``read_verdict``). With SELECT_FILE it also keeps only the tests named there (ids as ``junit_id`` gives them, or
# test files): a first, short run of a patch, which can reject a patch but never accept one. pytest runs with -P
# (no working directory first on sys.path), so a module of the repository's named like ours does not shadow it.
PLUGIN = f"""
import json, os, re

import pytest

_fd = os.environ.pop({REPORT_FD_ENV!r}, None)  # None in a process pytest starts (an xdist worker): it reports nothing
if _fd is not None:
    _fd = int(_fd)
    os.set_inheritable(_fd, False)  # not for the subprocesses the tests start
_worst = {{}}
RANK = {{"passed": 0, "skipped": 1, "failed": 2, "error": 3}}


def junit_id(nodeid):
    # The key pytest's JUnit report (xunit1) gives a test: dotted module path and classes, then '::' and the name.
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return names[0] if len(names) == 1 else ".".join(names[:-1]) + "::" + names[-1]


def _send(record):
    if _fd is not None:
        os.write(_fd, (json.dumps(record) + "\\n").encode())


def pytest_collection_modifyitems(config, items):
    if not os.path.exists({SELECT_FILE!r}):
        return
    with open({SELECT_FILE!r}) as f:
        wanted = set(f.read().splitlines())
    keep = [i for i in items if junit_id(i.nodeid) in wanted or i.nodeid.split("::")[0] in wanted]
    kept = set(map(id, keep))
    config.hook.pytest_deselected(items=[i for i in items if id(i) not in kept])
    items[:] = keep


def pytest_collection_finish(session):
    _send({{"collected": len(session.items)}})


def pytest_collectreport(report):
    if not report.passed:
        outcome = "error" if report.failed else "skipped"
        _send({{"test": junit_id(report.nodeid), "outcome": outcome, "when": "collect"}})


def pytest_runtest_logreport(report):
    outcome = "passed" if report.passed else "skipped" if report.skipped else (
        "failed" if report.when == "call" else "error")
    if RANK[outcome] >= RANK[_worst.get(report.nodeid, "passed")]:
        _worst[report.nodeid] = outcome


def pytest_runtest_logfinish(nodeid):
    _send({{"test": junit_id(nodeid), "outcome": _worst.pop(nodeid, "passed")}})


@pytest.hookimpl(trylast=True)  # after any plugin that changes the exit status
def pytest_sessionfinish(session):
    _send({{"exit": int(session.exitstatus)}})
"""
# The container's PID 1: ours, isolated from the repository's files (-I). It is not dumpable and ignores SIGINT, so
# the tests (the same user) can neither trace it, open its /proc files (its stdout is the container's log) nor stop
# it. pytest runs as its child, the report pipe's write end passed to our plugin; once pytest has exited, every
# other process is killed, so the pipe's reader sees the end of all that was written, and nothing can write later.
BOOTSTRAP = f"""
import base64, ctypes, json, os, signal, subprocess, sys, threading
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE: 0
signal.signal(signal.SIGINT, lambda *_: None)  # a handler, not SIG_IGN: pytest gets the default back at exec
def drain(fd, cap, keep_tail, into):
    data, more = bytearray(), False
    with open(fd, "rb", buffering=0) as f:
        while chunk := f.read(65536):
            data += chunk
            if len(data) > 2 * cap:
                more = True
                if keep_tail:
                    del data[:cap]
                else:
                    del data[cap:]
    into.append((bytes(data[-cap:] if keep_tail else data[:cap]), more or len(data) > cap))
output_r, output_w = os.pipe()
report_r, report_w = os.pipe()
outputs, reports = [], []
readers = [threading.Thread(target=drain, args=(output_r, {OUTPUT_CAP}, True, outputs)),
           threading.Thread(target=drain, args=(report_r, {REPORT_CAP}, False, reports))]
for reader in readers:
    reader.start()
# --tb=short: a line a frame (the prompt shows the code itself); a --tb of the test command comes later and wins.
env = {{"PYTHONPATH": "{PLUGIN_DIR}:{WORKDIR}:{WORKDIR}/src:{DEPS_DIR}", "PYTHONDONTWRITEBYTECODE": "1",
       "HOME": "/work/home", "LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin",
       {REPORT_FD_ENV!r}: str(report_w)}}
pytest = [sys.executable, "-P", "-m", "pytest", "-p", "no:cacheprovider", "-p", "committee_plugin", "--tb=short",
          *sys.argv[1:]]
setup = ("import os, shutil, sys; shutil.copytree({FILES_DIR!r}, {WORKDIR!r}); os.makedirs('/work/home'); "
         "os.chdir({WORKDIR!r}); os.execv(sys.argv[1], sys.argv[1:])")
code = subprocess.call([sys.executable, "-I", "-c", setup, *pytest], env=env, stdin=subprocess.DEVNULL,
                       stdout=output_w, stderr=subprocess.STDOUT, pass_fds=(report_w,))
os.close(output_w)
os.close(report_w)
try:
    os.kill(-1, signal.SIGKILL)  # every process but this one
except ProcessLookupError:
    pass
for reader in readers:
    reader.join()
(output, _), (report, overflow) = outputs[0], reports[0]
verdict = {{"exit": code, "report": base64.b64encode(report).decode(), "overflow": overflow}}
sys.stdout.buffer.write(output + {MARKER!r} + json.dumps(verdict).encode())
"""


@dataclass(frozen=True)
class TestRun:
    """One run of a repository's tests."""

    __test__ = False  # not a pytest test class, whatever its name

    outcomes: dict[str, str]
    """Test id (file::name) -> passed, failed, error or skipped."""
    output: str
    """pytest's output (its tail, when long)."""
    exit_code: int
    infra: str = ""
    """Why the run says nothing about the code: the engine failed, or the run timed out."""
    untrusted: str = ""
    """Why the run's outcomes cannot be believed (then there are none): the tests' process ended or reported in a
    way an honest pytest session does not (``read_verdict``)."""

    @property
    def failing(self) -> set[str]:
        return {t for t, o in self.outcomes.items() if o in ("failed", "error")}

    @property
    def passing(self) -> set[str]:
        return {t for t, o in self.outcomes.items() if o == "passed"}


def _tar(files: Mapping[str, bytes], select: Sequence[str] | None = None) -> bytes:
    """The files under repo/, owned by root and read-only to the tests' user (the bootstrap copies them), and our
    plugin beside them; with ``select``, the tests it keeps."""
    subdirectories = sorted({str(p) for name in files for p in Path(name).parents if str(p) != "."})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ["repo", *(f"repo/{d}" for d in subdirectories), "plugins"]:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        ours = {"plugins/committee_plugin.py": PLUGIN.encode()}
        if select is not None:
            ours["select.txt"] = "\n".join(select).encode()
        for name, data in [*sorted((f"repo/{n}", d) for n, d in files.items()), *ours.items()]:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _log_tail(container: docker.models.containers.Container) -> bytes:
    """The end of the container's log, read as a stream: the bootstrap writes it once, at the end, and the host
    keeps no more than that could be, however the log was filled."""
    keep = 4 * OUTPUT_CAP + len(MARKER) + 2 * REPORT_CAP
    tail = bytearray()
    for chunk in container.logs(stdout=True, stderr=True, stream=True, follow=False):
        tail += chunk
        if len(tail) > 2 * keep:
            del tail[:-keep]
    return bytes(tail[-keep:])


def read_log(log_bytes: bytes, status: int) -> TestRun:
    """The run the bootstrap's log describes: pytest's output and, after the marker, the verdict. A log without
    one (the bootstrap died: the container ran out of memory) has outcomes no one can vouch for."""
    output, marker, verdict = log_bytes.rpartition(MARKER)
    text = (output if marker else log_bytes)[-4 * OUTPUT_CAP :].decode(errors="replace")[-OUTPUT_CAP:]
    if not marker:
        return TestRun({}, text, status, untrusted=f"the sandbox gave no verdict (its bootstrap exited {status})")
    try:
        fields = json.loads(verdict)
        exit_code, report = int(fields["exit"]), base64.b64decode(fields["report"], validate=True)
    except (ValueError, KeyError, TypeError) as e:
        return TestRun({}, text, -1, infra=f"the sandbox's verdict is unreadable: {e}")
    if fields.get("overflow"):
        return TestRun({}, text, exit_code, untrusted=f"its report was over {REPORT_CAP // 2**20} MB")
    outcomes, doubt = read_verdict(report, exit_code)
    return TestRun(outcomes, text, exit_code, untrusted=doubt)


OUTCOMES = ("passed", "failed", "error", "skipped")
# the rest of a test's record, or of a collector's (a module that failed to import)
NOTES: tuple[dict[str, str], ...] = ({}, {"when": "collect"})


def read_verdict(report: bytes, exit_code: int) -> tuple[dict[str, str], str]:
    """Each test's outcome from our plugin's report, and "" if the report and pytest's exit status agree; else no
    outcomes and why not. What the tests' process could do that shows here: exit before its session ends
    (``os._exit``, a crash), change the exit status after it, write records from a child or a hook that outlives
    the session, report a test twice, or end a session in which not every collected test ran with status 0."""
    outcomes: dict[str, str] = {}
    collected, ran, finished = None, 0, None
    for line in report.splitlines():
        if finished is not None:
            return {}, "something wrote to the report after pytest's session had ended"
        try:
            record = json.loads(line)
        except ValueError:
            return {}, "its report has a line that is not one of our plugin's records"
        match record:
            case {"exit": int(status)} if len(record) == 1:
                finished = status
            case {"collected": int(count)} if len(record) == 1 and collected is None:
                collected = count
            case {"test": str(test), "outcome": str(outcome), **rest} if outcome in OUTCOMES and rest in NOTES:
                if test in outcomes:
                    return {}, f"{test!r} was reported twice"
                outcomes[test] = outcome
                ran += not rest
            case _:
                return {}, "its report has a line that is not one of our plugin's records"
    if finished is None:
        return {}, "pytest's session never ended (the process was killed, crashed or exited from inside a test)"
    if finished != exit_code:
        return {}, f"pytest's session ended with status {finished}, but the process exited {exit_code}"
    if exit_code == 0 and any(o in ("failed", "error") for o in outcomes.values()):
        return {}, "pytest exited 0 with failing tests"
    if exit_code == 0 and collected is not None and ran != collected:
        return {}, f"pytest exited 0, but only {ran} of the {collected} tests it collected ran"
    return outcomes, ""


@dataclass
class RepoSandbox:
    """Runs a repository's tests on copies of its files, several at once."""

    limits: Limits = field(default_factory=lambda: Limits(memory_mb=1024, pids=256, tmpfs_mb=256))
    image_spec: ImageSpec = field(default_factory=ImageSpec)
    parallel: int = 2
    timeout_s: float = DEFAULT_TIMEOUT_S
    _client: docker.DockerClient | None = field(default=None, init=False, repr=False)
    _image: str = field(default="", init=False, repr=False)

    def start(self, files: Mapping[str, bytes]) -> None:
        """Connect and make sure the image for these files' dependencies exists."""
        self._client = connect()
        self._image = repo_image(self._client, ensure_image(self._client, self.image_spec), files)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def run_many(self, variants: Sequence[Mapping[str, bytes]], pytest_args: Sequence[str],
                 selections: Sequence[Sequence[str] | None] | None = None) -> list[TestRun]:  # fmt: skip
        chosen = selections or [None] * len(variants)
        with ThreadPoolExecutor(self.parallel) as pool:
            return list(pool.map(lambda job: self.run(job[0], pytest_args, job[1]), zip(variants, chosen, strict=True)))

    def run(
        self, files: Mapping[str, bytes], pytest_args: Sequence[str], select: Sequence[str] | None = None
    ) -> TestRun:
        """The suite on ``files``; with ``select``, only those tests (JUnit ids, or test files) of it."""
        assert self._client is not None, "start() first"
        tmpfs = f"rw,nosuid,nodev,size={self.limits.tmpfs_mb}m"
        try:
            container = self._client.containers.create(
                self._image, ["python3", "-I", "-c", BOOTSTRAP, *pytest_args], working_dir="/",
                user=f"{SANDBOX_UID}:{SANDBOX_UID}", environment={}, network_mode="none", network_disabled=True,
                mem_limit=f"{self.limits.memory_mb}m", memswap_limit=f"{self.limits.memory_mb}m",
                nano_cpus=int(self.limits.cpus * 1e9), pids_limit=self.limits.pids, cap_drop=["ALL"],
                security_opt=["no-new-privileges"], shm_size="1m", ipc_mode="private",
                tmpfs={"/work": f"{tmpfs},uid={SANDBOX_UID},gid={SANDBOX_UID},mode=0700", "/tmp": f"{tmpfs},mode=1777",
                       "/var/tmp": "rw,nosuid,nodev,size=16m,mode=1777", "/run/lock": "rw,nosuid,nodev,size=1m"},
                log_config={"type": "json-file", "config": {"max-size": LOG_MAX, "max-file": "1"}},
                labels={LABEL: "1", OWNER_LABEL: owner_id()},
            )  # fmt: skip
        except (docker.errors.DockerException, requests.RequestException) as e:
            return TestRun({}, "", -1, infra=f"could not create a sandbox container: {e}")
        try:
            container.put_archive(str(Path(FILES_DIR).parent), _tar(files, select))
            container.start()
            try:
                exit_code = int(container.wait(timeout=self.timeout_s)["StatusCode"])
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):  # the wait timed out
                container.kill()
                return TestRun({}, "", -1, infra=f"the tests ran longer than {self.timeout_s:g} s")
            return read_log(_log_tail(container), exit_code)
        except (docker.errors.DockerException, requests.RequestException) as e:
            return TestRun({}, "", -1, infra=f"the sandbox failed: {e}")
        finally:
            try:
                container.remove(force=True)
            except (docker.errors.DockerException, requests.RequestException):
                log.warning("could not remove container %s", container.short_id)


def check_pytest(command: str) -> list[str]:
    """The pytest arguments of a test command such as ``pytest -x tests/unit``; SandboxError for anything else
    (only pytest runs in the sandbox)."""
    words = shlex.split(command)
    for head in (["pytest"], ["python", "-m", "pytest"], ["python3", "-m", "pytest"]):
        if words[: len(head)] == head:
            return words[len(head) :]
    raise SandboxError(f"the test command must start with `pytest` or `python -m pytest`, not {command!r}")

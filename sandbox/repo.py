"""A repository's pytest suite in the sandbox: each run gets a fresh container holding its own copy of the files.

The image is the sandbox image plus the repository's dependencies (``sandbox.dependencies``: installed in a
container, never on the host). A run's container has every isolation setting of the candidate containers (no
network, memory, CPU and PID limits, no capabilities, a non-root user, an empty environment). The files arrive
root-owned and read-only in ``/opt/committee/repo``; a fixed bootstrap (ours, run with ``python -I``) copies them to
``/work/repo`` and runs pytest there. Everything the tests' user can write is a tmpfs of capped size (``/work``,
``/tmp``, ``/var/tmp``, ``/run/lock``), counted in the memory limit, so a suite cannot fill the host's disk; the
bootstrap prints pytest's output (its tail) and the JUnit report (capped) as the container's log, and the log
itself is capped by the log driver, so the host never reads more than a few MB of it.
"""

from __future__ import annotations

import io
import logging
import shlex
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import docker.models.containers
import requests
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

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
MARKER = b"\n=== committee: junit report ===\n"
SELECT_FILE = "/opt/committee/select.txt"
PLUGIN_DIR = "/opt/committee/plugins"
# A pytest plugin of ours that keeps only the tests named in SELECT_FILE: JUnit ids (as parse_report keys them) or
# test files. A first, short run of a patch; the repository's code could change what it keeps, but only in a run
# that can reject a patch, never accept one (acceptance is always a run of the whole suite). pytest runs with -P
# (no working directory first on sys.path), so a module of the repository's named like it does not shadow it.
SELECT_PLUGIN = f"""
import re


def _junit_id(nodeid):
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]) + "::" + names[-1]


def pytest_collection_modifyitems(config, items):
    with open({SELECT_FILE!r}) as f:
        wanted = set(f.read().splitlines())
    keep = [i for i in items if _junit_id(i.nodeid) in wanted or i.nodeid.split("::")[0] in wanted]
    kept = set(map(id, keep))
    config.hook.pytest_deselected(items=[i for i in items if id(i) not in kept])
    items[:] = keep
"""
# The container's PID 1: ours, isolated from the repository's files (-I) until pytest starts.
BOOTSTRAP = f"""
import os, shutil, subprocess, sys
shutil.copytree({FILES_DIR!r}, {WORKDIR!r})
os.makedirs("/work/home")
# --tb=short: a line a frame (the prompt shows the code itself); a --tb of the test command comes later and wins.
selected = os.path.exists({SELECT_FILE!r})
env = {{"PYTHONPATH": ("{PLUGIN_DIR}:" if selected else "") + "{WORKDIR}:{WORKDIR}/src:{DEPS_DIR}",
       "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/work/home", "LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin"}}
command = [sys.executable, "-P", "-m", "pytest", "-p", "no:cacheprovider", "--junitxml=/work/report.xml",
           "-o", "junit_family=xunit1", "--tb=short", *(["-p", "committee_select"] if selected else []), *sys.argv[1:]]
with open("/work/output", "wb") as out:
    code = subprocess.call(command, cwd={WORKDIR!r}, env=env, stdin=subprocess.DEVNULL, stdout=out,
                           stderr=subprocess.STDOUT)
def tail(path, cap):
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - cap))
            return f.read(cap), size
    except OSError:
        return b"", 0
output, _ = tail("/work/output", {OUTPUT_CAP})
report, size = tail("/work/report.xml", {REPORT_CAP})
sys.stdout.buffer.write(output + {MARKER!r} + (report if size <= {REPORT_CAP} else b""))
sys.exit(code)
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

    @property
    def failing(self) -> set[str]:
        return {t for t, o in self.outcomes.items() if o in ("failed", "error")}

    @property
    def passing(self) -> set[str]:
        return {t for t, o in self.outcomes.items() if o == "passed"}


def _tar(files: Mapping[str, bytes], select: Sequence[str] | None = None) -> bytes:
    """The files under repo/, owned by root and read-only to the tests' user (the bootstrap copies them); with
    ``select``, the selection plugin and the tests it keeps beside them."""
    subdirectories = sorted({str(p) for name in files for p in Path(name).parents if str(p) != "."})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ["repo", *(f"repo/{d}" for d in subdirectories)]:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        ours = {} if select is None else {"select.txt": "\n".join(select).encode(),
                                          "plugins/committee_select.py": SELECT_PLUGIN.encode()}  # fmt: skip
        if ours:
            info = tarfile.TarInfo("plugins")
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data in [*sorted((f"repo/{n}", d) for n, d in files.items()), *ours.items()]:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _log_tail(container: docker.models.containers.Container) -> bytes:
    """The end of the container's log, read as a stream: what the bootstrap prints last (output tail, marker,
    report) is all the host keeps, whatever else the repository managed to write there."""
    keep = REPORT_CAP + 4 * OUTPUT_CAP + len(MARKER)
    tail = bytearray()
    for chunk in container.logs(stdout=True, stderr=True, stream=True, follow=False):
        tail += chunk
        if len(tail) > 2 * keep:
            del tail[:-keep]
    return bytes(tail[-keep:])


def split_log(log_bytes: bytes) -> tuple[str, dict[str, str]]:
    """pytest's output and the outcomes of the report that follow the bootstrap's marker; no outcomes when the
    bootstrap never got that far (a crash, a usage error) or the report is unreadable or too large."""
    output, marker, report = log_bytes.rpartition(MARKER)
    if not marker:
        return log_bytes[-4 * OUTPUT_CAP :].decode(errors="replace")[-OUTPUT_CAP:], {}
    return output[-4 * OUTPUT_CAP :].decode(errors="replace")[-OUTPUT_CAP:], parse_report(report)


def parse_report(xml: bytes) -> dict[str, str]:
    """Outcomes from pytest's JUnit XML: ``file::name`` (the class path when there is one) -> outcome. Nothing for
    a report that does not parse or has a DTD, in any encoding (repository code can rewrite the report: entity
    expansion would turn a few MB into GBs)."""
    try:
        cases = list(defused_fromstring(xml, forbid_dtd=True).iter("testcase"))
    except (ET.ParseError, DefusedXmlException, ValueError, RecursionError, MemoryError):
        return {}
    outcomes = {}
    for case in cases:
        where = case.get("classname", "")
        key = f"{where}::{case.get('name', '')}" if where else case.get("name", "")
        kinds = {child.tag for child in case}
        outcomes[key] = (
            "error" if "error" in kinds else "failed" if "failure" in kinds else "skipped" if "skipped" in kinds
            else "passed"
        )  # fmt: skip
    return outcomes


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
            output, outcomes = split_log(_log_tail(container))
            return TestRun(outcomes, output, exit_code)
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

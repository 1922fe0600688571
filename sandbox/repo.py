"""A repository's pytest suite in the sandbox: each run gets a fresh container holding its own copy of the files.

The image is the sandbox image plus the repository's dependencies, tagged by a hash of both, so it is built once
per change of the dependency files. Dependencies are installed from wheels only (``pip --only-binary``): unpacking
a wheel runs no code, so nothing of the repository or its dependencies runs on the host, and a package that is
only an sdist is refused with a message. A run's container has every isolation setting of the candidate
containers (no network, memory, CPU and PID limits, no capabilities, a non-root user, an empty environment but
for the Python path); its root is writable, so the tests may write where they like, and it is removed after.
"""

from __future__ import annotations

import hashlib
import io
import logging
import shlex
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import requests

from sandbox.container import LABEL, OWNER_LABEL, Limits, owner_id
from sandbox.errors import ImageBuildError, SandboxError
from sandbox.image import SANDBOX_UID, ImageSpec, ensure_image
from sandbox.pool import connect

log = logging.getLogger(__name__)

REPO_REPOSITORY = "committee-repo"
WORKDIR = "/work/repo"
OUT = "out"  # beside the repository in /work, writable by the tests' user; /tmp is a tmpfs, gone at exit
REPORT = f"/work/{OUT}/report.xml"
DEPS_DIR = "/opt/committee/deps"
DEPENDENCY_FILES = ("requirements.txt", "requirements-dev.txt", "requirements-test.txt", "requirements_test.txt")
DEFAULT_TIMEOUT_S = 300.0
OUTPUT_CAP = 20_000
SANDBOX_PYTHON = "3.11"  # the image's Python (Debian bookworm's, or python:3.11-slim): wheels are chosen for it


@dataclass(frozen=True)
class TestRun:
    """One run of a repository's tests."""

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


def dependency_files(files: Mapping[str, bytes]) -> dict[str, bytes]:
    return {name: files[name] for name in DEPENDENCY_FILES if name in files}


def repo_image(client: docker.DockerClient, sandbox_image: str, deps: Mapping[str, bytes]) -> str:
    """The sandbox image with these requirements files installed (wheels only); the sandbox image itself when
    there are none."""
    if not deps:
        return sandbox_image
    digest = hashlib.sha256(sandbox_image.encode())
    for name in sorted(deps):
        digest.update(name.encode() + b"\0" + deps[name] + b"\0")
    tag = f"{REPO_REPOSITORY}:{digest.hexdigest()[:16]}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    with tempfile.TemporaryDirectory(prefix="committee-deps-") as tmp:
        context = Path(tmp)
        for name, data in deps.items():
            (context / name).write_bytes(data)
        target = context / "deps"
        requirements = [arg for name in sorted(deps) for arg in ("-r", str(context / name))]
        log.info("installing the repository's dependencies (wheels only) for %s", tag)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
             f"--python-version={SANDBOX_PYTHON}", "--no-compile", "--target", str(target), *requirements],
            capture_output=True, text=True, cwd=context,
        )  # fmt: skip
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise ImageBuildError(f"cannot install the repository's dependencies from wheels: {last}")
        target.mkdir(exist_ok=True)
        (context / "Dockerfile").write_text(f"FROM {sandbox_image}\nCOPY deps {DEPS_DIR}\n")
        try:
            client.images.build(path=str(context), tag=tag, rm=True)
        except (docker.errors.BuildError, docker.errors.APIError) as e:
            raise ImageBuildError(f"building {tag} failed: {e}") from e
    return tag


def _tar(files: Mapping[str, bytes]) -> bytes:
    """The files under repo/, and an empty out/ for the report, all owned by the tests' user."""
    subdirectories = sorted({str(p) for name in files for p in Path(name).parents if str(p) != "."})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ["repo", OUT, *(f"repo/{d}" for d in subdirectories)]:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, SANDBOX_UID, SANDBOX_UID
            tar.addfile(info)
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(f"repo/{name}")
            info.size, info.mode, info.uid, info.gid = len(data), 0o644, SANDBOX_UID, SANDBOX_UID
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def parse_report(xml: bytes) -> dict[str, str]:
    """Outcomes from pytest's JUnit XML: ``file::name`` (the class path when there is one) -> outcome."""
    outcomes = {}
    for case in ET.fromstring(xml).iter("testcase"):
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

    limits: Limits = field(default_factory=lambda: Limits(memory_mb=1024, pids=256))
    image_spec: ImageSpec = field(default_factory=ImageSpec)
    parallel: int = 2
    timeout_s: float = DEFAULT_TIMEOUT_S
    _client: docker.DockerClient | None = field(default=None, init=False, repr=False)
    _image: str = field(default="", init=False, repr=False)

    def start(self, files: Mapping[str, bytes]) -> None:
        """Connect and make sure the image for these files' dependencies exists."""
        self._client = connect()
        self._image = repo_image(self._client, ensure_image(self._client, self.image_spec), dependency_files(files))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def run_many(self, variants: Sequence[Mapping[str, bytes]], pytest_args: Sequence[str]) -> list[TestRun]:
        with ThreadPoolExecutor(self.parallel) as pool:
            return list(pool.map(lambda files: self.run(files, pytest_args), variants))

    def run(self, files: Mapping[str, bytes], pytest_args: Sequence[str]) -> TestRun:
        assert self._client is not None, "start() first"
        command = ["python3", "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={REPORT}",
                   "-o", "junit_family=xunit1", *pytest_args]  # fmt: skip
        try:
            container = self._client.containers.create(
                self._image, command, working_dir=WORKDIR, user=f"{SANDBOX_UID}:{SANDBOX_UID}",
                environment={"PYTHONPATH": f"{WORKDIR}:{WORKDIR}/src:{DEPS_DIR}", "PYTHONDONTWRITEBYTECODE": "1"},
                network_mode="none", network_disabled=True, mem_limit=f"{self.limits.memory_mb}m",
                memswap_limit=f"{self.limits.memory_mb}m", nano_cpus=int(self.limits.cpus * 1e9),
                pids_limit=self.limits.pids, cap_drop=["ALL"], security_opt=["no-new-privileges"],
                tmpfs={"/tmp": f"rw,nosuid,nodev,size={self.limits.tmpfs_mb}m,mode=1777"}, shm_size="1m",
                ipc_mode="private", labels={LABEL: "1", OWNER_LABEL: owner_id()},
            )  # fmt: skip
        except (docker.errors.DockerException, requests.RequestException) as e:
            return TestRun({}, "", -1, infra=f"could not create a sandbox container: {e}")
        try:
            container.put_archive("/work", _tar(files))
            container.start()
            try:
                exit_code = int(container.wait(timeout=self.timeout_s)["StatusCode"])
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):  # the wait timed out
                container.kill()
                return TestRun({}, "", -1, infra=f"the tests ran longer than {self.timeout_s:g} s")
            output = container.logs(stdout=True, stderr=True).decode(errors="replace")[-OUTPUT_CAP:]
            try:
                stream, _ = container.get_archive(REPORT)
                with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                    member = tar.extractfile(tar.getmembers()[0])
                    outcomes = parse_report(member.read()) if member else {}
            except (docker.errors.NotFound, ET.ParseError):
                outcomes = {}  # pytest did not get as far as a report (usage error, crash)
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

"""A repository's dependencies, installed into an image derived from the sandbox image, never on the host.

A requirements file is hostile: pip honours what it says (a local directory, ``-e DIR``, ``file://`` and direct
URLs, ``--no-binary :all:``, ``--index-url``, ``${VAR}`` expansion of the environment). So the host reads only
lines it can parse as ``name[extras] specifier ; marker`` (PEP 508, no URL) and writes them anew; ``-r``/``-c``
include other requirement files of the repository; ``-e .`` and ``.`` are skipped (the repository is on the
tests' path); any other line stops with one message. pip on the host then only downloads wheels for those lines
(``--only-binary=:all:``: no sdist is built, nothing runs) with an environment holding no secret. The wheels are
unpacked inside a container (no network, no mount) of the image build, as root of that throwaway build only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import docker
from packaging.requirements import InvalidRequirement, Requirement

from sandbox.errors import ImageBuildError, SandboxError
from sandbox.image import SANDBOX_UID, build_image, has_image

log = logging.getLogger(__name__)

REPO_REPOSITORY = "committee-repo"
DEPS_DIR = "/opt/committee/deps"
DEPENDENCY_FILES = ("requirements.txt", "requirements-dev.txt", "requirements-test.txt", "requirements_test.txt")
SANDBOX_PYTHON = "3.11"  # the image's Python (Debian bookworm's, or python:3.11-slim): wheels are chosen for it
MAX_FILES = 20
COMMENT = re.compile(r"(^|\s)#.*")
HASH_OPTION = re.compile(r"\s--hash[= ]\S+")
SELF = {".", "-e .", "-e ./", "./", "--editable ."}
# What pip on the host may see of the environment: its own configuration (the host's), proxies and certificates.
# Not a token, not an API key: a requirement line cannot expand a variable, and neither can anything else here.
PIP_ENV = ("PATH", "HOME", "LANG", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY",
           "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")  # fmt: skip
# Runs in the build container: a wheel is a zip whose purelib/platlib data goes to the top; nothing else is kept.
UNPACK = """
import pathlib, sys, zipfile
target = pathlib.Path(sys.argv[1])
for wheel in sorted(pathlib.Path(sys.argv[2]).glob("*.whl")):
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            parts = pathlib.PurePosixPath(name).parts
            if len(parts) > 2 and parts[0].endswith(".data") and parts[1] in ("purelib", "platlib"):
                parts = parts[2:]
            elif parts and parts[0].endswith(".data"):
                continue
            if not parts or name.endswith("/") or parts[0].startswith("/") or ".." in parts:
                continue
            out = target.joinpath(*parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(z.read(name))
"""


class RequirementError(SandboxError):
    """A requirements line committee will not hand to pip; the message names the file and line."""


def requirement_lines(files: Mapping[str, bytes]) -> list[str]:
    """The repository's requirements, each re-written from its parsed form."""
    lines: list[str] = []
    seen: set[str] = set()

    def read(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        if len(seen) > MAX_FILES:
            raise RequirementError(f"the requirements files include more than {MAX_FILES} others: {name} is too many")
        if name not in files:
            raise RequirementError(f"{name} is included by another requirements file but the repository lacks it")
        joined, start = "", 1
        for number, raw in enumerate(files[name].decode(errors="replace").splitlines(), 1):
            if raw.endswith("\\"):  # a continuation line, joined as pip joins it
                start, joined = (start if joined else number), joined + raw[:-1] + " "
                continue
            raw, number, joined = joined + raw, (start if joined else number), ""
            line = COMMENT.sub("", raw).strip()
            line = HASH_OPTION.sub("", line).strip()  # pip-compile's --hash=...: the index is trusted, not the file
            if not line or line in SELF or line.startswith(("-e .[", ".[")):
                continue
            option, _, argument = line.partition(" ")
            if option in ("-c", "--constraint"):  # constraints only narrow versions: the index decides anyway
                continue
            if option in ("-r", "--requirement") and argument.strip():
                included = posixpath.normpath(posixpath.join(posixpath.dirname(name), argument.strip()))
                if included.startswith(("../", "/")) or included == "..":
                    raise RequirementError(f"{name}:{number}: includes a file outside the repository")
                read(included)
                continue
            lines.append(_parsed(name, number, line))

    for name in DEPENDENCY_FILES:
        if name in files:
            read(name)
    return list(dict.fromkeys(lines))


def _parsed(name: str, number: int, line: str) -> str:
    why = "committee installs only `name[extras] specifier ; marker` lines from the package index"
    if line.startswith("-") or "$" in line or not (line.isascii() and line.isprintable()):
        raise RequirementError(f"{name}:{number}: {line[:80]!r} is not supported: {why}")
    try:
        requirement = Requirement(line)
    except InvalidRequirement as e:
        first = (str(e).splitlines() or ["?"])[0]
        raise RequirementError(f"{name}:{number}: {line[:80]!r} is not a requirement ({first}): {why}") from None
    if requirement.url:
        raise RequirementError(f"{name}:{number}: {line[:80]!r} names a URL or path: {why}")
    if re.search(r"(^|\s)-", written := str(requirement)):  # pip reads " --option" anywhere on a line
        raise RequirementError(f"{name}:{number}: {line[:80]!r} holds an option: {why}")
    return written


def _download(lines: list[str], into: Path) -> None:
    """Wheels for ``lines`` and their dependencies, fetched by pip on the host: it unpacks and runs nothing."""
    (into / "requirements.txt").write_text("".join(f"{line}\n" for line in lines))
    env = {key: os.environ[key] for key in PIP_ENV if key in os.environ}
    env |= {key: value for key, value in os.environ.items() if key.startswith("PIP_")}
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
         f"--python-version={SANDBOX_PYTHON}", "--dest", str(into / "wheels"), "-r", str(into / "requirements.txt")],
        capture_output=True, text=True, cwd=into, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise ImageBuildError(f"cannot fetch the repository's dependencies as wheels: {last[:300]}")


def repo_image(client: docker.DockerClient, sandbox_image: str, files: Mapping[str, bytes]) -> str:
    """The sandbox image with the repository's requirements installed (wheels only); the sandbox image itself when
    it has none. Tagged by a hash of the image and the parsed requirements: built once per change."""
    lines = requirement_lines(files)
    if not lines:
        return sandbox_image
    digest = hashlib.sha256("\0".join([sandbox_image, SANDBOX_PYTHON, *lines]).encode()).hexdigest()[:16]
    tag = f"{REPO_REPOSITORY}:{digest}"
    if has_image(client, tag):
        return tag
    log.info("installing the repository's dependencies (wheels only) for %s: %s", tag, ", ".join(lines))
    with tempfile.TemporaryDirectory(prefix="committee-deps-") as tmp:
        _download(lines, Path(tmp))
        wheels = {f"wheels/{w.name}": w.read_bytes() for w in sorted((Path(tmp) / "wheels").glob("*.whl"))}
    dockerfile = (f"FROM {sandbox_image}\nUSER 0:0\nCOPY wheels /tmp/wheels\nCOPY unpack.py /tmp/unpack.py\n"
                  f"RUN python3 -I /tmp/unpack.py {DEPS_DIR} /tmp/wheels && rm -rf /tmp/wheels /tmp/unpack.py\n"
                  f"USER {SANDBOX_UID}:{SANDBOX_UID}\n")  # fmt: skip
    build_image(client, tag, {"Dockerfile": dockerfile, "unpack.py": UNPACK, **wheels}, network_mode="none")
    return tag

"""The sandbox image: python3, pytest and hypothesis, plus our in-container runner.

Two layers, each tagged by a content hash of what builds it, so an unchanged spec is never rebuilt and a changed
one always is:

- the base: an official Python slim image plus pip-installed pytest and hypothesis where a registry answers, or,
  with no registry, a Debian root made with ``debootstrap`` (from Debian's mirror) and brought in with
  ``docker import``;
- the sandbox: the base plus ``runner.py`` and a non-root user.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import docker
import docker.errors
import requests

from sandbox.errors import ImageBuildError

log = logging.getLogger(__name__)

RUNNER_PATH = Path(__file__).with_name("runner.py")
SPLIT_PATH = Path(__file__).with_name("split.py")
"""The runner's half of split verdicts, copied beside it."""
SANDBOX_REPOSITORY = "committee-sandbox"
BASE_REPOSITORY = "committee-base"
SANDBOX_UID = 65534  # nobody
AUTO = "auto"
DEFAULT_REGISTRY_BASE = "python:3.11-slim"


@dataclass(frozen=True)
class ImageSpec:
    """What goes into the base image; its hash is the tag."""

    registry_base: str | None = AUTO
    """An image such as ``python:3.11-slim`` to build from; None builds from debootstrap (no registry needed);
    ``auto`` takes python:3.11-slim where a registry answers, and debootstrap where none does."""
    suite: str = "bookworm"
    """Debian release debootstrap installs."""
    mirror: str = "http://deb.debian.org/debian"
    """Debian mirror debootstrap reads from."""
    packages: tuple[str, ...] = ("python3", "python3-pytest", "python3-hypothesis")
    """Debian packages of the debootstrap base."""
    pip_packages: tuple[str, ...] = ("pytest", "hypothesis")
    """What the registry base installs with pip."""

    def base_tag(self) -> str:
        return f"{BASE_REPOSITORY}:{_digest(json.dumps(asdict(self), sort_keys=True))}"

    def sandbox_tag(self) -> str:
        files = _runner_files()
        return f"{SANDBOX_REPOSITORY}:{_digest(self.base_tag(), _dockerfile(self.base_tag()), *files.values())}"


def _runner_files() -> dict[str, str]:
    return {path.name: path.read_text() for path in (RUNNER_PATH, SPLIT_PATH)}


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _dockerfile(base_tag: str) -> str:
    return (
        f"FROM {base_tag}\n"
        "COPY runner.py split.py /opt/committee/\n"
        f"USER {SANDBOX_UID}:{SANDBOX_UID}\n"
        "WORKDIR /work\n"
        'CMD ["python3", "-u", "-I", "/opt/committee/runner.py"]\n'
    )


def has_image(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def resolve(client: docker.DockerClient, spec: ImageSpec) -> ImageSpec:
    """Settle ``auto``: an image already built wins; else the registry base if it can be pulled; else debootstrap."""
    if spec.registry_base != AUTO:
        return spec
    registry, offline = replace(spec, registry_base=DEFAULT_REGISTRY_BASE), replace(spec, registry_base=None)
    for choice in (registry, offline):  # an image or base built before wins: no pull, no debootstrap
        if has_image(client, choice.sandbox_tag()) or has_image(client, choice.base_tag()):
            return choice
    if has_image(client, DEFAULT_REGISTRY_BASE):
        return registry
    try:
        client.images.pull(DEFAULT_REGISTRY_BASE)
    except (docker.errors.DockerException, requests.RequestException) as e:
        log.info("no registry answers (%s): building the base with debootstrap", str(e).splitlines()[0][:200])
        return offline
    return registry


def ensure_image(client: docker.DockerClient, spec: ImageSpec | None = None, *, rebuild: bool = False) -> str:
    """Return the sandbox image tag, building whatever layer is missing (or everything when ``rebuild``)."""
    spec = resolve(client, spec or ImageSpec())
    tag = spec.sandbox_tag()
    if not rebuild and has_image(client, tag):
        return tag
    base = spec.base_tag()
    if rebuild or not has_image(client, base):
        if spec.registry_base:
            _build_registry_base(client, spec, base)
        else:
            _build_debootstrap_base(client, spec, base)
    log.info("building %s from %s", tag, base)
    build_image(
        client,
        tag,
        {"Dockerfile": _dockerfile(base), **_runner_files()},
    )
    return tag


def _build_registry_base(client: docker.DockerClient, spec: ImageSpec, tag: str) -> None:
    pip = " ".join(spec.pip_packages)
    dockerfile = f"FROM {spec.registry_base}\nRUN pip install --no-cache-dir {pip}\n"
    log.info("building %s from %s (pip install %s)", tag, spec.registry_base, pip)
    build_image(client, tag, {"Dockerfile": dockerfile})


def build_image(client: docker.DockerClient, tag: str, files: dict[str, str | bytes], *, pull: bool = False,
                network_mode: str | None = None) -> None:  # fmt: skip
    """Build ``tag`` from a context of these files (a Dockerfile among them); ImageBuildError with the builder's
    message."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    try:
        for chunk in client.api.build(fileobj=context, custom_context=True, tag=tag, rm=True, pull=pull, decode=True,
                                      network_mode=network_mode):  # fmt: skip
            if "error" in chunk:
                raise ImageBuildError(f"building {tag} failed: {chunk['error'].strip()}")
            if line := chunk.get("stream", "").strip():
                log.info("%s", line)
    except docker.errors.APIError as e:
        raise ImageBuildError(f"building {tag} failed: {e.explanation or e}") from e


def _build_debootstrap_base(client: docker.DockerClient, spec: ImageSpec, tag: str) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            "debootstrap is needed to build the sandbox image without a registry: "
            "run `apt-get install -y debootstrap`, or where a registry is reachable build from a registry image "
            "(committee sandbox build --registry-base python:3.11-slim)"
        )
    with tempfile.TemporaryDirectory(prefix="committee-rootfs-") as tmp:
        root = Path(tmp) / "root"
        cmd = [
            "debootstrap", "--variant=minbase", f"--include={','.join(spec.packages)}",
            spec.suite, str(root), spec.mirror,
        ]  # fmt: skip
        log.info("debootstrap %s with %s (about a minute)", spec.suite, ", ".join(spec.packages))
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            tail: list[str] = []
            for line in proc.stdout:
                tail = (tail + [line.rstrip()])[-20:]
                if line.startswith("I: "):
                    log.info("%s", line[3:].rstrip())
        if proc.returncode != 0:
            raise ImageBuildError("debootstrap failed:\n" + "\n".join(tail))
        # What a sandbox never needs: package caches, docs, locales.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
                     "usr/share/locale"):  # fmt: skip
            shutil.rmtree(root / junk, ignore_errors=True)
        archive = Path(tmp) / "root.tar"
        subprocess.run(["tar", "-C", str(root), "-cf", str(archive), "."], check=True)
        log.info("docker import %s (%d MiB)", tag, archive.stat().st_size >> 20)
        repository, _, version = tag.partition(":")
        try:
            client.api.import_image_from_file(
                str(archive), repository=repository, tag=version, changes=["ENV LANG=C.UTF-8"]
            )
        except docker.errors.APIError as e:
            raise ImageBuildError(f"docker import of {tag} failed: {e.explanation or e}") from e

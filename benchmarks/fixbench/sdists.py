"""Source distributions of real packages, fetched once into a local cache and read without running any of them.

``pip download`` of an sdist prepares its metadata, which runs the package's build backend (its setup.py) on the
host; so the sdist is fetched the way pip finds it (the Simple repository API of the index the host's pip is
configured for), checked against the pinned SHA-256, and unpacked as data only: regular files inside the tree,
no links, no devices, nothing executed. After the first fetch, nothing touches the network.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin

import requests

from solver.checkout import NOT_COPIED, is_secret
from solver.errors import InputError

SDIST_CACHE = Path(os.environ.get("COMMITTEE_SDISTS", Path.home() / ".cache" / "committee" / "sdists"))
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
MAX_SDIST_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Sdist:
    """A pinned source distribution."""

    name: str
    version: str
    filename: str
    sha256: str


def index_url() -> str:
    """The index the host's pip reads: PIP_INDEX_URL, pip's configuration, else pip's own default."""
    if url := os.environ.get("PIP_INDEX_URL"):
        return url
    for key in ("global.index-url", "install.index-url", "download.index-url"):
        found = subprocess.run([sys.executable, "-m", "pip", "config", "get", key], capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    from pip._internal.models.index import PyPI  # pip's default index, not spelled out a second time here

    return str(PyPI.simple_url)


def _project_url(index: str, name: str) -> str:
    return f"{index.rstrip('/')}/{re.sub(r'[-_.]+', '-', name).lower()}/"


def sdist_files(name: str, index: str | None = None) -> list[dict[str, object]]:
    """The index's file entries for ``name`` (PEP 691 JSON): filename, url, hashes, ..."""
    url = _project_url(index or index_url(), name)
    response = requests.get(url, headers={"Accept": SIMPLE_JSON}, timeout=60)
    response.raise_for_status()
    if not response.headers.get("Content-Type", "").startswith(SIMPLE_JSON):
        raise InputError(f"the package index does not answer the JSON Simple API (PEP 691) for {name}")
    files: list[dict[str, object]] = response.json()["files"]
    for entry in files:
        entry["url"] = urljoin(url, str(entry["url"]))
    return files


def fetch(sdist: Sdist, cache: Path = SDIST_CACHE) -> Path:
    """The sdist's archive in the cache, fetched on first use; InputError when the index lacks it or its bytes
    are not the pinned ones."""
    path = cache / sdist.filename
    if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == sdist.sha256:
        return path
    try:
        entry = next((f for f in sdist_files(sdist.name) if f["filename"] == sdist.filename), None)
        if entry is None:
            raise InputError(f"the package index has no {sdist.filename}: is pip configured for another index?")
        data = _download(str(entry["url"]))
    except requests.RequestException as e:  # its message may hold the index URL, and a token in it: not shown
        raise InputError(
            f"could not fetch {sdist.filename} from the package index ({type(e).__name__}); check "
            "pip's index settings and try again online"
        ) from e
    if len(data) > MAX_SDIST_BYTES or hashlib.sha256(data).hexdigest() != sdist.sha256:
        raise InputError(f"{sdist.filename} from the index is not the pinned file (SHA-256 {sdist.sha256[:12]}...)")
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)
    return path


def _download(url: str) -> bytes:
    """The file at ``url``, read in chunks and stopped past MAX_SDIST_BYTES."""
    data = bytearray()
    with requests.get(url, timeout=120, stream=True) as response:
        response.raise_for_status()
        for chunk in response.iter_content(2**16):
            data += chunk
            if len(data) > MAX_SDIST_BYTES:
                break
    return bytes(data)


def _members(archive: Path) -> list[tuple[str, bytes]]:
    """(path, bytes) of the archive's regular files; links, devices and anything else are left out."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            return [(i.filename, z.read(i)) for i in z.infolist() if not i.is_dir() and (i.external_attr >> 28) != 0xA]
    with tarfile.open(archive) as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers() if m.isreg()]  # type: ignore[union-attr]


def source_tree(archive: Path) -> dict[str, bytes]:
    """The sdist's files relative to its top folder (``name-version/``), as a repository snapshot: only plain
    relative paths, no caches or secret-looking names."""
    tree: dict[str, bytes] = {}
    for name, data in _members(archive):
        parts = PurePosixPath(name).parts[1:]  # below name-version/
        if not parts or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
            continue
        path = "/".join(parts)
        if any(p in NOT_COPIED or p.endswith(".egg-info") for p in parts) or is_secret(path):
            continue
        tree[path] = data
    return tree


def read_sdist(sdist: Sdist, cache: Path = SDIST_CACHE) -> dict[str, bytes]:
    return source_tree(fetch(sdist, cache))

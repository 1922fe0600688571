"""A repository checkout on the host, for `committee fix`: its files read, and a fix written back, never through a
link.

Every path is opened one component at a time relative to the checkout (``openat`` with ``O_NOFOLLOW``), so a
symlink anywhere in the tree (``vendor -> /etc``, ``notes.py -> ~/.ssh/id_rsa``) is neither read nor written
through, and only regular files count. Files that look like secrets never leave the host: they are not in the
snapshot, so they reach neither a container nor a prompt.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from solver.errors import InputError
from solver.vcs import listed_files

MAX_REPO_BYTES = 50 * 2**20
NOT_COPIED = {".git", "__pycache__", ".venv", "venv", "node_modules", ".pytest_cache", ".mypy_cache", ".tox"}
SECRET_NAME = re.compile(
    r"^(\.env.*|.*\.(pem|key|p12|pfx|ppk|keystore|jks|tfvars|tfstate)|id_(rsa|dsa|ecdsa|ed25519).*|.*credential.*"
    r"|.*secret.*|.*creds.*|.*token\.(txt|json)|.*service[-_]?account.*|.*kubeconfig.*|\.netrc|\.pypirc|\.npmrc|\.pgpass"
    r"|\.git-credentials|\.htpasswd|\.vault-token|\.dockercfg|\.boto|\.s3cfg|\.aws|\.ssh|\.gnupg|\.docker|\.kube"
    r"|\.azure|\.config|\.git)$",
    re.IGNORECASE,
)


class UnsafePath(InputError):
    """A path that leaves the checkout, goes through a link, or is not a regular file."""


def is_secret(path: str) -> bool:
    """Whether any component of ``path`` looks like a secret (or is ``.git``)."""
    return any(SECRET_NAME.match(part) for part in PurePosixPath(path).parts)


def check_relative(path: str) -> tuple[str, ...]:
    """The components of a relative path that stays inside the checkout; UnsafePath otherwise."""
    parts = PurePosixPath(path).parts
    if (not parts or path.startswith("/") or "\0" in path or "\\" in path
            or any(p in ("", ".", "..") or p.lower() == ".git" for p in parts)):  # fmt: skip
        raise UnsafePath(f"refusing the path {path!r}: not a plain relative path inside the repository")
    return parts


@contextlib.contextmanager
def _directory(root: Path, parts: tuple[str, ...], *, create: bool, path: str) -> Iterator[int]:
    """A descriptor of root/parts..., opened component by component without following a link (``path`` is what
    the caller wants there, for the message)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(root, flags & ~os.O_NOFOLLOW)  # the checkout itself is the user's choice, link or not
    try:
        for part in parts:
            try:
                child = os.open(part, flags, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                child = os.open(part, flags, dir_fd=fd)
            except OSError as e:  # ELOOP or ENOTDIR: a link or a file
                why = f"{part} is a link or not a directory ({e.strerror})"
                raise UnsafePath(f"refusing {path}: {why}") from None
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def read_regular(root: Path, path: str, limit: int = MAX_REPO_BYTES) -> bytes | None:
    """The content of a regular file inside the checkout; None for a path that leaves it, a link, a FIFO, a device
    or a missing file."""
    try:
        parts = check_relative(path)
        with _directory(root, parts[:-1], create=False, path=path) as parent:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent)
    except (OSError, UnsafePath):
        return None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return None
        return file.read(limit + 1)


def write_regular(root: Path, changes: dict[str, bytes]) -> None:
    """Write each file inside the checkout: every path is checked first (nothing is written if one would go
    through a link, onto something but a regular file, or onto a file with other hard links), then written."""
    checked = {path: check_relative(path) for path in changes}
    for path, parts in checked.items():
        if any(other.startswith(f"{path}/") for other in changes):
            raise UnsafePath(f"refusing {path}: the patch writes it both as a file and as a directory")
        with contextlib.suppress(FileNotFoundError), _directory(root, parts[:-1], create=False, path=path) as parent:
            _check_target(parent, path, parts[-1])
    for path, data in changes.items():
        parts = checked[path]
        with _directory(root, parts[:-1], create=True, path=path) as parent:
            fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644,
                         dir_fd=parent)  # fmt: skip
            with os.fdopen(fd, "wb") as file:
                _check_target(parent, path, parts[-1], file.fileno())
                file.truncate(0)
                file.write(data)


def _check_target(parent: int, path: str, name: str, fd: int | None = None) -> None:
    try:
        info = os.fstat(fd) if fd is not None else os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        raise UnsafePath(f"refusing to write {path}: it is a link, a special file or a file with other hard links")


def _walked(root: Path) -> list[str]:
    """Every file under ``root`` (for a directory that is not a git checkout), never entering a linked directory."""
    names = []
    for directory, subdirectories, in_directory in os.walk(root):  # os.walk does not follow links by default
        subdirectories[:] = [d for d in subdirectories if d not in NOT_COPIED]
        names += [Path(directory, f).relative_to(root).as_posix() for f in in_directory]
    return names


def listing(root: Path) -> list[str]:
    """The repository's file names: what git tracks, or every file outside git."""
    names = listed_files(root)
    return _walked(root) if names is None else names


def snapshot(root: Path, names: list[str] | None = None) -> dict[str, bytes]:
    """The repository's regular files (``names``, or its ``listing``), without links, secret-looking files or
    ``.git``."""
    files, size = {}, 0
    for name in sorted(listing(root) if names is None else names):
        if is_secret(name) or (data := read_regular(root, name)) is None:
            continue
        files[name] = data
        size += len(data)
        if size > MAX_REPO_BYTES:
            raise InputError(f"{root} holds more than {MAX_REPO_BYTES >> 20} MiB of files: too big to copy")
    return files


def withheld(names: list[str]) -> list[str]:
    """The secret-looking names of a listing, which the snapshot leaves out (to name them to the user)."""
    return sorted(n for n in names if is_secret(n))

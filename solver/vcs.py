"""The git steps of `committee fix`: commit a fix on a new branch, push it, open a pull request with ``gh``.

git runs with hooks and fsmonitor off, so nothing of the repository's runs on the host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from solver.errors import CommitteeError

SAFE = ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"]
IDENTITY = {"GIT_AUTHOR_NAME": "committee", "GIT_AUTHOR_EMAIL": "committee@localhost"}


def git(root: Path, *args: str) -> str:
    env = dict(os.environ)
    if not _configured(root, "user.email"):  # a CI checkout often has no identity: commit as committee
        env |= IDENTITY | {"GIT_COMMITTER_NAME": "committee", "GIT_COMMITTER_EMAIL": "committee@localhost"}
    done = subprocess.run(["git", *SAFE, *args], cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise CommitteeError(f"git {args[0]} failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return done.stdout.strip()


def _configured(root: Path, key: str) -> bool:
    return subprocess.run(["git", *SAFE, "config", key], cwd=root, capture_output=True).returncode == 0


def write(root: Path, changes: Mapping[str, bytes]) -> None:
    for path, data in changes.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)


def commit_on_branch(root: Path, changes: Mapping[str, bytes], branch: str, message: str) -> str:
    """Write the changes, commit them on a new branch from HEAD, and return the commit."""
    git(root, "switch", "-c", branch)
    write(root, changes)
    git(root, "add", "--", *changes)
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def push_and_open_pr(root: Path, remote: str, branch: str, base: str, title: str, body: Path) -> str:
    """Push the branch and open a pull request against ``base`` with ``gh`` (which reads GH_TOKEN); its URL."""
    git(root, "push", "-q", remote, f"{branch}:refs/heads/{branch}")
    if shutil.which("gh") is None:
        raise CommitteeError(f"pushed {branch} to {remote}, but `gh` is not installed to open the pull request")
    done = subprocess.run(
        ["gh", "pr", "create", "--head", branch, "--base", base, "--title", title, "--body-file", str(body)],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise CommitteeError(f"pushed {branch}, but gh could not open the pull request: {done.stderr.strip()}")
    return done.stdout.strip()

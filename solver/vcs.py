"""git on the host, for `committee fix`: list a checkout's files, commit a fix on a new branch, push it, open a
pull request with ``gh``.

The checkout's files are hostile (a pull request from a fork), so git never runs a program the repository could
configure: hooks, fsmonitor and the ssh command are overridden on every call; the commit is built with plumbing
(``hash-object --no-filters``, a scratch index, ``commit-tree --no-gpg-sign``) that reaches no clean/smudge
filter, diff driver, textconv or signing program; and a ``.git`` that is a file or a link (which could point git
at a configuration the repository wrote) is refused. The working tree and HEAD are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from solver.errors import CommitteeError, InputError

SAFE_CONFIG = {
    "core.hooksPath": "/dev/null",
    "core.fsmonitor": "false",
    "core.sshCommand": "ssh",
    "commit.gpgSign": "false",
    "protocol.ext.allow": "never",
}
IDENTITY = {"GIT_AUTHOR_NAME": "committee", "GIT_AUTHOR_EMAIL": "committee@localhost",
            "GIT_COMMITTER_NAME": "committee", "GIT_COMMITTER_EMAIL": "committee@localhost"}  # fmt: skip


def _command(*args: str) -> list[str]:
    return ["git", *(a for key, value in SAFE_CONFIG.items() for a in ("-c", f"{key}={value}")), *args]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    # GIT_TERMINAL_PROMPT=0: a CI bot must fail, not wait for a password.
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(extra or {})}


def git(root: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(_command(*args), cwd=root, env=_env(env), input=stdin or b"", capture_output=True)
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1]
        raise CommitteeError(f"git {args[0]} failed: {last}")
    return done.stdout.decode(errors="replace").strip()


def check_git_dir(root: Path) -> bool:
    """Whether ``root`` is the top of a git checkout with a plain ``.git`` directory; InputError for a ``.git``
    that is a file or a link. (A repository nested in another is listed without git.)"""
    dot_git = root / ".git"
    if not os.path.lexists(dot_git):
        return False
    if dot_git.is_symlink() or not dot_git.is_dir():
        raise InputError(
            f"{dot_git} is a file or a link, not a directory: committee fix works only on a plain checkout (a .git "
            "file can point git at a configuration the repository wrote); clone the repository normally"
        )
    return True


def listed_files(root: Path) -> list[str] | None:
    """The files git tracks; None outside a checkout. Untracked files are left out, ignored or not: a pull request
    writes .gitignore, and CI steps leave credentials in the workspace (google-github-actions/auth: gha-creds-*.json).
    """
    if not check_git_dir(root):
        return None
    done = subprocess.run(_command("ls-files", "-z", "--cached"), cwd=root, env=_env(), stdin=subprocess.DEVNULL,
                          capture_output=True)  # fmt: skip
    if done.returncode != 0:
        return None
    return [name for name in done.stdout.decode(errors="surrogateescape").split("\0") if name]


def commit_on_branch(root: Path, changes: dict[str, bytes], branch: str, message: str) -> str:
    """Commit the changes on a new branch from HEAD, leaving the working tree, the index and HEAD as they were;
    return the commit."""
    if not check_git_dir(root):
        raise InputError(f"{root} is not the top of a git checkout: --commit needs one")
    git(root, "check-ref-format", "--branch", branch)
    head = git(root, "rev-parse", "--verify", "HEAD^{commit}")
    with tempfile.TemporaryDirectory(prefix="committee-index-") as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(root, "read-tree", head, env=index)
        for path, data in sorted(changes.items()):
            blob = git(root, "hash-object", "-w", "--no-filters", "--stdin", stdin=data)
            git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
        tree = git(root, "write-tree", env=index)
    identity = {} if _configured(root, "user.email") else IDENTITY  # a CI checkout often has none
    commit = git(root, "commit-tree", tree, "-p", head, "--no-gpg-sign", stdin=message.encode(), env=identity)
    git(root, "update-ref", f"refs/heads/{branch}", commit, "0" * 40)  # only a new branch: never moves one
    return commit


def _configured(root: Path, key: str) -> bool:
    done = subprocess.run(_command("config", key), cwd=root, env=_env(), stdin=subprocess.DEVNULL, capture_output=True)
    return done.returncode == 0


def push_and_open_pr(root: Path, remote: str, branch: str, base: str, title: str, body: Path) -> str:
    """Push the branch and open a pull request against ``base`` with ``gh`` (which reads GH_TOKEN); its URL."""
    # --receive-pack: for a local or ssh remote that program runs (here or there), and the option beats the config
    git(root, "push", "-q", "--receive-pack=git-receive-pack", remote, f"refs/heads/{branch}:refs/heads/{branch}")
    if shutil.which("gh") is None:
        raise CommitteeError(f"pushed {branch} to {remote}, but `gh` is not installed to open the pull request")
    done = subprocess.run(
        ["gh", "pr", "create", "--head", branch, "--base", base, "--title", title, "--body-file", str(body)],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise CommitteeError(f"pushed {branch}, but gh could not open the pull request: {done.stderr.strip()}")
    return done.stdout.strip()

"""Read a project's committed tree with git, and say which files differ from it.

The student edition is built from what is committed, never from the working
folder: an instructor who solved exercise 07 in place must not ship the
solution as its starter. `uncommitted()` lists the files under the given
paths whose content differs from HEAD (modified, staged, deleted); `export()`
writes HEAD's version of those paths into a folder (`git archive`).

Read next: `release.py`.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path


class GitError(Exception):
    """git is missing, or the folder is not inside a git repository."""


def _git(repo: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise GitError("minireactor release reads the committed tree with git: install git") \
            from exc
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args)} in {repo}: "
                       f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def repository_of(folder: Path) -> Path:
    """The top folder of the git repository holding `folder`.

    Raises:
        GitError: `folder` is not in a git repository (the message says what to do).
    """
    try:
        return Path(_git(folder, "rev-parse", "--show-toplevel").decode().strip())
    except GitError as exc:
        raise GitError(f"{folder} is not in a git repository; the student edition is built "
                       "from the committed tree, so commit the course first "
                       f"(git init && git add -A && git commit). ({exc})") from exc


def uncommitted(repo: Path, paths: list[str]) -> list[str]:
    """Tracked files under `paths` whose content differs from HEAD (repository-relative)."""
    output = _git(repo, "status", "--porcelain=v1", "-z", "--untracked-files=no", "--", *paths)
    changed = []
    for entry in output.split(b"\0"):
        if len(entry) > 3:
            changed.append(entry[3:].decode(errors="replace"))
    return sorted(set(changed))


def export(repo: Path, paths: list[str], target: Path) -> str:
    """Write HEAD's version of `paths` into `target`; return the commit's hash."""
    commit = _git(repo, "rev-parse", "HEAD").decode().strip()
    archive = _git(repo, "archive", "--format=tar", "HEAD", "--", *paths)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return commit

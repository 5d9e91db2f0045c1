"""`minireactor release --out DIR`: build the student edition from the committed tree.

The edition is built from what git has committed, never from the working
folder, and the build *refuses* (listing them) when any file it would ship -
the exercises, the notebooks, the package - differs from its committed
version: a starter solved in place, a notebook with unsaved experiments.
Commit or restore them (`git stash`) and run it again. Untracked files are
not committed, so they are never shipped either.

The files come from `git archive HEAD` (`committed.py`), the layout from
`edition.py`, and the edition is checked before the command returns: no
solution or hidden test inside, every link of the notebooks resolves inside
it, every starter scores zero there.

Read next: `edition.py`, then `gradescope.py`, the other thing the grader packages.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .committed import GitError, export, repository_of, uncommitted
from .edition import EditionError, verify_edition, write_edition
from .wheel import WheelError

PROJECT_FILES = ("minireactor", "docs", "pyproject.toml", "README.md", "LICENSE")


class ReleaseError(Exception):
    """The student edition could not be built (or would leak teacher files)."""


def build_release(
    exercises_root: Path, out: Path, *, notebooks: Path | None = None, force: bool = False,
    check_starters: bool = True, jobs: int = 2,
) -> int:
    """Write the student edition to `out`; return how many files it holds.

    Args:
        exercises_root: the teacher's exercises folder, inside a git repository.
        out: the folder to create.
        notebooks: the notebooks to include; by default `exercises_root/../notebooks`.
        force: replace `out` if it already exists.
        check_starters: grade every starter in the edition (must score zero).
        jobs: tests run at once for that check.

    Raises:
        ReleaseError: `out` is in the way, files differ from their committed
            version, or the edition failed a check (the message lists why).
    """
    out = out.resolve()
    root = exercises_root.resolve()
    if out == root or root in out.parents or out in root.parents:
        raise ReleaseError(f"--out {out} must be outside the exercises folder {root}")
    if out.exists() and any(out.iterdir()) and not force:
        raise ReleaseError(f"{out} exists and is not empty; use --force to replace it")
    notebooks = (notebooks if notebooks is not None else root.parent / "notebooks").resolve()
    try:
        repo = repository_of(root)
        paths = _shipped_paths(repo, root, notebooks)
        changed = uncommitted(repo, paths)
        if changed:
            raise ReleaseError(
                "these files differ from their committed version, and the student edition is "
                "built from the committed tree only; commit them or restore them "
                "(git stash), then run release again:\n  " + "\n  ".join(changed))
        if out.exists():
            shutil.rmtree(out)
        with tempfile.TemporaryDirectory(prefix="minireactor-release-") as temp:
            tree = Path(temp) / "tree"
            commit = export(repo, paths, tree)
            committed_notebooks = tree / notebooks.relative_to(repo) \
                if notebooks.is_relative_to(repo) and notebooks.is_dir() else None
            committed_exercises = tree / root.relative_to(repo)
            write_edition(tree, committed_exercises, committed_notebooks, out, commit)
            verify_edition(out, committed_exercises, starters=check_starters, jobs=jobs)
    except (GitError, WheelError) as exc:
        raise ReleaseError(str(exc)) from exc
    except EditionError as exc:
        shutil.rmtree(out, ignore_errors=True)  # never leave a failed edition lying around
        raise ReleaseError(str(exc)) from exc
    return sum(1 for p in out.rglob("*") if p.is_file())


def _shipped_paths(repo: Path, exercises: Path, notebooks: Path) -> list[str]:
    """The repository-relative paths the edition is made from (those that exist)."""
    candidates = [exercises.relative_to(repo).as_posix(), *PROJECT_FILES]
    if notebooks.is_relative_to(repo) and notebooks.is_dir():
        candidates.append(notebooks.relative_to(repo).as_posix())
    if not (repo / "minireactor").is_dir() or not (repo / "pyproject.toml").is_file():
        raise ReleaseError(f"{repo} does not hold minireactor's pyproject.toml and package; "
                           "run release from the minireactor course repository")
    return [p for p in candidates if (repo / p).exists()]

"""`minireactor release --out DIR`: build the student edition of the exercises.

The student edition holds, per exercise, the README, `exercise.toml`, the
starter and the visible tests; the exercises index; and the notebooks when
there are any. It never holds `solution/`, `hidden/` or other teacher-only
folders: files are copied from an allow-list (top-level files + `tests/`), and
the result is checked once more before returning.

Read next: `gradescope.py`, the other thing the grader packages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .exercises import find_exercises

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache")
_TEACHER_ONLY = ("solution", "hidden")

STUDENT_README = """\
# minireactor exercises (student edition)

Each folder in `exercises/` is one exercise: read its README.md, write your
code in the starter file next to it, and check your work:

    minireactor grade timers            # or: python -m minireactor.grader grade timers
    pytest exercises/03-timers/tests    # the same tests, with pytest's output

In a notebook: `from minireactor.grader import check; check("timers")`.
Your grade may also include hidden tests, so test more than the visible tests do.
"""


class ReleaseError(Exception):
    """The student edition could not be built (or would leak teacher files)."""


def build_release(
    exercises_root: Path, out: Path, *, notebooks: Path | None = None, force: bool = False
) -> int:
    """Write the student edition to `out`; return how many files it holds.

    Args:
        exercises_root: the teacher's exercises folder.
        out: the folder to create.
        notebooks: notebooks to include; by default `exercises_root/../notebooks`
            if it exists.
        force: replace `out` if it already exists.

    Raises:
        ReleaseError: `out` exists (without `force`) or overlaps the sources.
    """
    out = out.resolve()
    root = exercises_root.resolve()
    if out == root or root in out.parents or out in root.parents:
        raise ReleaseError(f"--out {out} must be outside the exercises folder {root}")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ReleaseError(f"{out} exists and is not empty; use --force to replace it")
        shutil.rmtree(out)
    target = out / "exercises"
    target.mkdir(parents=True)
    for exercise in find_exercises(root):
        dest = target / exercise.slug
        dest.mkdir()
        for item in sorted(exercise.path.iterdir()):
            if item.is_file() and not item.name.endswith(".pyc"):
                shutil.copy2(item, dest / item.name)
        if (exercise.path / "tests").is_dir():
            shutil.copytree(exercise.path / "tests", dest / "tests", ignore=_SKIP)
    if (root / "README.md").is_file():
        shutil.copy2(root / "README.md", target / "README.md")
    notebooks = notebooks if notebooks is not None else root.parent / "notebooks"
    if notebooks.is_dir() and any(notebooks.iterdir()):
        shutil.copytree(notebooks, out / "notebooks", ignore=_SKIP)
    (out / "README.md").write_text(STUDENT_README, encoding="utf-8")
    _verify(out)
    return sum(1 for p in out.rglob("*") if p.is_file())


def _verify(out: Path) -> None:
    """Refuse a release that contains a teacher-only folder, whatever put it there."""
    for path in out.rglob("*"):
        if path.is_dir() and path.name in _TEACHER_ONLY and path.parent.parent.name == "exercises":
            raise ReleaseError(f"teacher-only folder in the release: {path}")

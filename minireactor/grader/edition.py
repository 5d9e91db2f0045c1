"""What goes into the student edition, and the checks it must pass before it ships.

`write_edition()` lays out, from a committed tree (see `committed.py`):

    README.md            two commands: install, open the workbook
    dev.py               those two commands (standard library only)
    wheels/              minireactor's wheel: what `dev.py install` installs
    minireactor/         the package's source, to read (the notebooks point into it)
    docs/                the notes the notebooks point to (architecture, conformance)
    notebooks/           the workbook and `workbook.py`, which it imports
    exercises/           per exercise: README, exercise.toml, starter, visible tests

`verify_edition()` then checks the edition itself: no `solution/` or `hidden/`
folder and no file equal to a solution or a hidden test anywhere in it, every
file a notebook links to or names exists in it, and every starter scores zero
on its visible tests (graded in the sandbox, from the edition's own folder).

Read next: `release.py`, which calls both.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from .exercises import find_exercises
from .runner import Source, grade
from .wheel import build_wheel

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache",
                               "*.so", "*.egg-info")
TEACHER_ONLY = ("solution", "hidden", "tests-broken")
NOTEBOOK_FILES = ("*.ipynb", "workbook.py")
INSTRUCTORS_ONLY = "\n## For instructors"  # exercises/README.md from here on stays home

README = """\
# minireactor: the workbook and its exercises (student edition)

Built from commit {commit}. You need Python 3.11 or newer; then, in this folder:

    python3 dev.py install      # once: .venv with minireactor (wheels/) and JupyterLab
    python3 dev.py workbook     # open the workbook at notebooks/00-start-here.ipynb

Each folder in `exercises/` is one graded exercise: read its README.md, write
your code in the starter file next to it, and check your work, in a notebook
with `from minireactor.grader import check; check("timers")`, or in a terminal
with `.venv/bin/minireactor grade timers`. Your grade may also include hidden
tests, so test more than the visible tests do.

| folder | what it is |
|---|---|
| `notebooks/` | the workbook, in order from `00-start-here.ipynb` |
| `exercises/` | the exercises (`exercises/README.md` lists them) |
| `minireactor/` | the source of the package the notebooks study, to read |
| `wheels/` | the same package, built, for `dev.py install` |
"""

DEV_PY = '''\
#!/usr/bin/env python3
"""Install the student edition and open the workbook, with nothing but Python 3.11+.

    python3 dev.py install     # create .venv, install minireactor from wheels/ with JupyterLab
    python3 dev.py workbook    # open notebooks/00-start-here.ipynb (installs first if needed)

Extra arguments after `workbook` go to `jupyter lab`.
"""

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def install() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"minireactor needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating a virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    (wheel,) = sorted((ROOT / "wheels").glob("minireactor-*.whl"))
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check",
                    f"{wheel}[notebooks,lab]"], check=True)
    (VENV / ".installed").touch()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("install", "workbook"):
        print(__doc__)
        return 2
    if argv[0] == "install" or not (VENV / ".installed").exists():
        install()
    if argv[0] == "install":
        print("installed; now: python3 dev.py workbook")
        return 0
    args = [str(PYTHON), "-m", "jupyter", "lab", str(ROOT / "notebooks" / "00-start-here.ipynb")]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    os.chdir(ROOT)
    return subprocess.call(args + argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


class EditionError(Exception):
    """The edition would leak teacher files, break a link, or ship a scoring starter."""


def write_edition(tree: Path, exercises: Path, notebooks: Path | None, out: Path,
                  commit: str) -> None:
    """Lay the edition out in `out` from the committed `tree` (see the module docstring)."""
    target = out / "exercises"
    target.mkdir(parents=True)
    for exercise in find_exercises(exercises):
        dest = target / exercise.slug
        dest.mkdir()
        for item in sorted(exercise.path.iterdir()):  # top-level files: README, toml, starter
            if item.is_file() and not item.name.endswith(".pyc"):
                shutil.copy2(item, dest / item.name)
        if (exercise.path / "tests").is_dir():
            shutil.copytree(exercise.path / "tests", dest / "tests", ignore=_SKIP)
    if (exercises / "README.md").is_file():  # the index, without its instructors' part
        index = (exercises / "README.md").read_text(encoding="utf-8")
        (target / "README.md").write_text(index.split(INSTRUCTORS_ONLY)[0].rstrip() + "\n",
                                          encoding="utf-8")
    if notebooks is not None and notebooks.is_dir():
        (out / "notebooks").mkdir()
        for pattern in NOTEBOOK_FILES:
            for item in sorted(notebooks.glob(pattern)):
                shutil.copy2(item, out / "notebooks" / item.name)
    shutil.copytree(tree / "minireactor", out / "minireactor", ignore=_SKIP)
    if (tree / "docs").is_dir():  # the notes the notebooks point to (architecture, ...)
        shutil.copytree(tree / "docs", out / "docs", ignore=_SKIP)
    build_wheel(tree, out / "wheels")
    (out / "README.md").write_text(README.format(commit=commit[:12]), encoding="utf-8")
    (out / "dev.py").write_text(DEV_PY, encoding="utf-8")
    (out / "dev.py").chmod(0o755)


def verify_edition(out: Path, teacher_exercises: Path, *, starters: bool = True,
                   jobs: int = 2) -> None:
    """Check the edition in `out` (see the module docstring).

    Raises:
        EditionError: listing every problem found.
    """
    problems = _leaks(out, teacher_exercises) + unresolved_references(out)
    if not problems and starters:
        problems = _scoring_starters(out, jobs)
    if problems:
        raise EditionError("the student edition failed its checks:\n  " + "\n  ".join(problems))


def _leaks(out: Path, teacher_exercises: Path) -> list[str]:
    secret: dict[bytes, str] = {}
    for folder in TEACHER_ONLY:
        for path in teacher_exercises.glob(f"*/{folder}/**/*"):
            # Tiny files (an empty __init__.py) say nothing and may well appear elsewhere.
            if path.is_file() and path.suffix != ".pyc" and path.stat().st_size >= 64:
                secret[path.read_bytes()] = str(path.relative_to(teacher_exercises))
    problems = []
    for path in sorted(out.rglob("*")):
        if path.is_dir() and path.name in TEACHER_ONLY and "exercises" in path.parts:
            problems.append(f"teacher-only folder {path.relative_to(out)}")
        elif path.is_file() and path.read_bytes() in secret:
            problems.append(f"{path.relative_to(out)} is a copy of "
                            f"exercises/{secret[path.read_bytes()]}")
    return problems


_LINK = re.compile(r"\]\(([^)\s]+)\)")
_CODE_PATH = re.compile(r"`([\w./-]+\.(?:py|ipynb|md|toml))`")


def unresolved_references(out: Path) -> list[str]:
    """Links and file names in the notebooks' text that do not exist in `out`."""
    problems = []
    for notebook in sorted((out / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        for link in _LINK.findall(text):
            if re.match(r"^(https?:|mailto:|#)", link):
                continue
            if not (notebook.parent / link.split("#")[0]).exists():
                problems.append(f"{notebook.name} links to {link}, which is not in the edition")
        for name in _CODE_PATH.findall(text):
            if not _exists(out, notebook.parent, name):
                problems.append(f"{notebook.name} names {name}, which is not in the edition")
    return problems


def _exists(out: Path, here: Path, name: str) -> bool:
    if "/" in name:  # relative to the edition, the notebook, or the package
        return any((base / name).exists() for base in (out, here, out / "minireactor"))
    return any(p.name == name for p in out.rglob(name))


def _scoring_starters(out: Path, jobs: int) -> list[str]:
    report = grade(find_exercises(out / "exercises"), Source(), jobs=jobs)
    return [f"the starter of {e.slug} scores {e.score:g}/{e.max_score:g} on its visible tests "
            "(a solution left in it?); every starter must score zero"
            for e in report.exercises if e.score > 0]

"""`minireactor grade --gradescope DIR`: write a ready-to-upload Gradescope autograder.

Gradescope unzips the upload *into* `/autograder/source` (so the zip's top
level is that folder's content), runs `setup.sh` from there once, as root,
when it builds the image, copies `run_autograder` to `/autograder/` and runs
it for every submission, with the student's files flat in
`/autograder/submission/`; the score must end up in
`/autograder/results/results.json`. Both scripts honour `AUTOGRADER_ROOT`
(default `/autograder`) so a test can run them on a fake tree.

The zip holds: `setup.sh`, `run_autograder`, `wheels/` (minireactor's wheel:
setup.sh installs it into `/autograder/venv` without a network or a build),
and `exercises/` with the chosen exercises' visible and hidden tests, never
their solutions. Both scripts make every `hidden/` folder readable by root
only; the grader runs as root and its sandbox runs each test as an
unprivileged user, so graded code cannot read the hidden tests.

DIR gets `autograder.zip` (what you upload) and `autograder/`, the same files
unpacked, to read.

Read next: `runner.py` (what run_autograder ends up calling) and
`report.py` (`to_gradescope`: the visibility of each result).
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from .exercises import Exercise
from .runner import PACKAGE_ROOT
from .wheel import build_wheel

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "solution",
                               "tests-broken", "*.egg-info")

# Only root may read the hidden tests (they are read by the grader, as root,
# and sent to each test's process over a pipe).
_LOCK_HIDDEN = ('find "$SOURCE/exercises" -mindepth 2 -maxdepth 2 -type d -name hidden '
                '-exec chmod -R go-rwx {} +')

SETUP_SH = f"""\
#!/usr/bin/env bash
# Gradescope runs this once, as root, from /autograder/source (the unzipped
# upload) when it builds the autograder image.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
SOURCE="$ROOT/source"
PYTHON="${{MINIREACTOR_SETUP_PYTHON:-python3.11}}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    apt-get update
    apt-get install -y python3.11 python3.11-venv
    PYTHON=python3.11
fi
PIP_OPTIONS=(--quiet --disable-pip-version-check --no-index --find-links "$SOURCE/wheels")
if "$PYTHON" -m pip --python "$PYTHON" --version >/dev/null 2>&1; then
    # The interpreter's own pip installs into a bare venv: faster than ensurepip.
    "$PYTHON" -m venv --without-pip "$ROOT/venv"
    "$PYTHON" -m pip --python "$ROOT/venv/bin/python" install "${{PIP_OPTIONS[@]}}" minireactor
else
    "$PYTHON" -m venv "$ROOT/venv"
    "$ROOT/venv/bin/python" -m pip install "${{PIP_OPTIONS[@]}}" minireactor
fi
{_LOCK_HIDDEN}
"""

RUN_AUTOGRADER = f"""\
#!/usr/bin/env bash
# Gradescope runs this, as root, for each submission. It grades the student's
# files (flat in $ROOT/submission) and writes $ROOT/results/results.json;
# what it prints goes to the instructors only (stdout_visibility: hidden).
set -u
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
SOURCE="$ROOT/source"
PYTHON="${{MINIREACTOR_PYTHON:-$ROOT/venv/bin/python}}"
{_LOCK_HIDDEN}
mkdir -p "$ROOT/results"
cd "$ROOT"
exec "$PYTHON" -m minireactor.grader grade {{exercises}} \\
    --exercises "$SOURCE/exercises" --submission "$ROOT/submission" \\
    --hidden --json "$ROOT/results/results.json"
"""

README = """\
minireactor autograder for Gradescope: upload autograder.zip as is.
setup.sh installs wheels/ into /autograder/venv; run_autograder grades
/autograder/submission against exercises/ (visible and hidden tests).
"""


def write_autograder(out: Path, exercises: list[Exercise]) -> Path:
    """Write the autograder for `exercises` into `out`; return the zip's path.

    Raises:
        WheelError: minireactor's wheel could not be built.
    """
    out.mkdir(parents=True, exist_ok=True)
    tree = out / "autograder"
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir()
    build_wheel(PACKAGE_ROOT, tree / "wheels")
    for exercise in exercises:
        shutil.copytree(exercise.path, tree / "exercises" / exercise.slug, ignore=_SKIP)
    names = " ".join(e.slug for e in exercises)
    _write(tree / "setup.sh", SETUP_SH, 0o755)
    _write(tree / "run_autograder", RUN_AUTOGRADER.replace("{exercises}", names), 0o755)
    _write(tree / "README.txt", README, 0o644)
    archive = out / "autograder.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(tree))  # keeps the mode: scripts stay executable
    return archive


def _write(path: Path, text: str, mode: int) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)

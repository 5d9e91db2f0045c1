"""`minireactor grade --gradescope DIR`: write a ready-to-upload Gradescope autograder.

Gradescope runs `setup.sh` once when it builds the image, then
`run_autograder` for every submission: the student's files lie flat in
`/autograder/submission/` (under the starters' names) and the score must end
up in `/autograder/results/results.json`. `run_autograder` honours
`AUTOGRADER_ROOT` (default `/autograder`) so a test can run it on a fake tree,
and `MINIREACTOR_PYTHON` to pick the interpreter.

DIR gets `setup.sh`, `run_autograder`, `source/` (the minireactor package and
the chosen exercises with their hidden tests, never the solutions) and
`autograder.zip` holding all of it, which is what you upload.

Read next: `runner.py` (what run_autograder ends up calling).
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from .exercises import Exercise
from .runner import PACKAGE_ROOT

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "solution",
                               "tests-broken", "*.egg-info")

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if ! command -v python3.11 >/dev/null 2>&1; then
    apt-get update
    apt-get install -y python3.11 python3.11-venv
fi
python3.11 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install --no-cache-dir "$ROOT/source"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission. It grades the student's files
# (flat in $ROOT/submission) and writes $ROOT/results/results.json.
set -u
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{MINIREACTOR_PYTHON:-$ROOT/venv/bin/python}}"
if [ ! -x "$PYTHON" ]; then PYTHON=python3; fi
mkdir -p "$ROOT/results"
cd "$ROOT/source"
exec "$PYTHON" -m minireactor.grader grade {exercises} \\
    --exercises "$ROOT/source/exercises" --submission "$ROOT/submission" \\
    --hidden --quiet --json "$ROOT/results/results.json"
"""


def write_autograder(out: Path, exercises: list[Exercise]) -> Path:
    """Write the autograder for `exercises` into `out`; return the zip's path."""
    out.mkdir(parents=True, exist_ok=True)
    source = out / "source"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir()
    shutil.copytree(PACKAGE_ROOT / "minireactor", source / "minireactor", ignore=_SKIP)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (PACKAGE_ROOT / name).is_file():
            shutil.copy2(PACKAGE_ROOT / name, source / name)
    if not (source / "README.md").exists():  # pyproject names it as the readme
        (source / "README.md").write_text("minireactor (autograder copy)\n", encoding="utf-8")
    for exercise in exercises:
        shutil.copytree(exercise.path, source / "exercises" / exercise.slug, ignore=_SKIP)
    names = " ".join(e.slug for e in exercises)
    _write_script(out / "setup.sh", SETUP_SH)
    _write_script(out / "run_autograder", RUN_AUTOGRADER.format(exercises=names))
    archive = out / "autograder.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(out.rglob("*")):
            if path.is_file() and path != archive:
                zf.write(path, path.relative_to(out))
    return archive


def _write_script(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)

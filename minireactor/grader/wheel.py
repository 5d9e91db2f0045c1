"""Build minireactor's wheel from a copy of its files, for packages that ship it.

The Gradescope autograder and the student edition both carry the package as a
wheel, so that installing it needs neither a network nor a build step on the
target machine. `pip wheel` builds it from a throw-away copy of the project
files (setuptools writes `build/` and `*.egg-info` next to its input, and the
caller's tree must stay clean).

Read next: `gradescope.py` and `edition.py`, which call this.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE")
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.egg-info", "build", "dist")


_built: dict[str, tuple[str, bytes]] = {}  # this process's wheels, by the digest of their input


class WheelError(Exception):
    """pip could not build the wheel; the message holds pip's last lines."""


def build_wheel(project: Path, out: Path) -> Path:
    """Build the wheel of the project at `project` into `out`; return its path.

    Args:
        project: a folder holding `pyproject.toml` and `minireactor/`.
        out: where the `.whl` goes (created if needed).

    Raises:
        WheelError: pip failed (e.g. setuptools cannot be fetched offline).
    """
    out.mkdir(parents=True, exist_ok=True)
    digest = _digest(project)
    if digest in _built:  # the same files again (a release, then an autograder): same wheel
        name, data = _built[digest]
        (out / name).write_bytes(data)
        return out / name
    with tempfile.TemporaryDirectory(prefix="minireactor-wheel-") as temp:
        copy = Path(temp) / "project"
        copy.mkdir()
        shutil.copytree(project / "minireactor", copy / "minireactor", ignore=_SKIP)
        for name in PROJECT_FILES:
            if (project / name).is_file():
                shutil.copy2(project / name, copy / name)
        if not (copy / "README.md").exists():  # pyproject.toml names it as the readme
            (copy / "README.md").write_text("minireactor\n", encoding="utf-8")
        built = Path(temp) / "dist"
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
             "--disable-pip-version-check", "-w", str(built), str(copy)],
            capture_output=True, text=True, check=False,
        )
        wheels = sorted(built.glob("minireactor-*.whl"))
        if done.returncode != 0 or not wheels:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
            raise WheelError(f"pip wheel {project} failed (is pip able to fetch setuptools?):"
                             f"\n{tail}")
        target = out / wheels[0].name
        shutil.copy2(wheels[0], target)
    _built[digest] = (target.name, target.read_bytes())
    return target


def _digest(project: Path) -> str:
    """A hash of every file the wheel is built from."""
    digest = hashlib.sha256()
    files = [project / n for n in PROJECT_FILES if (project / n).is_file()]
    files += sorted(p for p in (project / "minireactor").rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    for path in files:
        digest.update(str(path.relative_to(project)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()

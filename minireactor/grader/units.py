"""One unit of class grading: a student's file for one exercise, graded in the sandbox.

A `Bundle` is an exercise packed as a zip (its tests, visible and hidden,
never its solution), so a worker on any machine can grade it with nothing
but minireactor installed. A `Unit` is one (student, exercise) pair, keyed by
a digest of the student's file and of the exercise's tests. `grade_unit`
grades one unit with `runner.grade()`, the same sandbox as `minireactor
grade`, and never raises: a grader failure is `Graded.error`.

Used by `batch.py` (on this machine) and `cluster.py` (on a dask cluster).

Read next: `batch.py`.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exercises import Exercise, load_exercise
from .gradebook import Row
from .runner import Source, grade

_SKIP_IN_BUNDLE = ("solution", "__pycache__", ".pytest_cache", "tests-broken")


@dataclass(frozen=True)
class Bundle:
    """One exercise folder as a zip, for workers that may not share our disk."""

    slug: str
    archive: bytes
    digest: str


@dataclass(frozen=True)
class Unit:
    """One student's file for one exercise (None: nothing was submitted)."""

    student: str
    exercise: str
    starter: str
    submission: bytes | None
    digest: str


@dataclass
class Graded:
    """What a worker sends back: the scores, or `error` if grading itself failed."""

    student: str
    exercise: str
    digest: str
    score: float = 0.0
    max_score: float = 0.0
    note: str = ""
    tests: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    def row(self, run: int) -> Row:
        return Row(self.student, self.exercise, self.digest, self.score, self.max_score,
                   self.note, self.tests, run)


Task = tuple[Unit, Bundle, bool, "float | None"]
Sink = Callable[[Graded], None]


def pack_exercise(exercise: Exercise, hidden: bool) -> Bundle:
    """Zip `exercise`'s folder (hidden tests only if `hidden`; never the solution)."""
    buffer = io.BytesIO()
    skip = _SKIP_IN_BUNDLE if hidden else (*_SKIP_IN_BUNDLE, "hidden")
    digest = hashlib.sha256(f"{exercise.slug} hidden={hidden}".encode())
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(exercise.path.rglob("*")):
            relative = path.relative_to(exercise.path)
            if not path.is_file() or any(part in skip for part in relative.parts):
                continue
            if path.suffix == ".pyc":
                continue
            data = path.read_bytes()
            digest.update(str(relative).encode() + b"\0" + data)
            zf.writestr(str(relative), data)
    return Bundle(exercise.slug, buffer.getvalue(), digest.hexdigest())


def unit_digest(bundle: Bundle, submission: bytes | None) -> str:
    """The gradebook key's hash: the student's file and the exercise's tests."""
    digest = hashlib.sha256(bundle.digest.encode())
    digest.update(b"missing" if submission is None else b"file\0" + submission)
    return digest.hexdigest()


_one_at_a_time = threading.Lock()


def grade_unit(unit: Unit, bundle: Bundle, hidden: bool, wall: float | None) -> Graded:
    """Grade one unit in the sandbox; never raises (a failure is `Graded.error`)."""
    with _one_at_a_time, tempfile.TemporaryDirectory(prefix="minireactor-unit-") as temp:
        try:
            folder = Path(temp) / "exercise" / bundle.slug
            with zipfile.ZipFile(io.BytesIO(bundle.archive)) as zf:
                zf.extractall(folder)
            Path(temp).chmod(0o755)  # the sandbox user reads the visible tests' helpers...
            _root_only(folder / "hidden")  # ...but not the hidden tests (read by us alone)
            exercise = load_exercise(folder)
            submission = None
            if unit.submission is not None:
                submission = Path(temp) / "submitted" / unit.starter
                submission.parent.mkdir()
                submission.write_bytes(unit.submission)
            source = Source(submission=submission or Path(temp) / "nothing-submitted")
            report = grade([exercise], source, hidden=hidden, jobs=1, wall=wall)
        except Exception as exc:  # the grader failed, not the student: retried next run
            return Graded(unit.student, unit.exercise, unit.digest,
                          error=f"{type(exc).__name__}: {exc}")
    result = report.exercises[0]
    tests = [{"name": t.name, "points": t.max_score, "passed": t.passed, "hidden": t.hidden,
              "output": t.output, "duration": round(t.duration, 3)} for t in result.tests]
    note = "nothing submitted" if unit.submission is None else result.note
    return Graded(unit.student, unit.exercise, unit.digest, result.score, result.max_score,
                  note, tests)


def _root_only(folder: Path) -> None:
    """Make `folder` and what it holds readable by its owner only."""
    if folder.is_dir():
        for path in folder.rglob("*"):
            path.chmod(0o700 if path.is_dir() else 0o600)
        folder.chmod(0o700)

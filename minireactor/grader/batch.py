"""Grade a whole class: every student times every exercise, in parallel, resumably.

`grade_class()` is what `minireactor grade --class SUBMISSIONS` runs:

1. find the students and their files (`submissions.py`);
2. pack each exercise (its tests, visible and hidden, never its solution) into
   a `Bundle`, so a worker on any machine can grade it with nothing but
   minireactor installed;
3. turn each (student, exercise) pair into a `Unit` keyed by a digest of the
   student's file and of the exercise's tests, and skip those the gradebook
   already holds with the same digest (that is what makes a rerun resume);
4. grade the rest with `grade_unit` in worker processes on this machine
   (`--jobs`) or on a dask cluster (`cluster.py`), recording each result in
   the gradebook as it arrives.

`grade_unit` calls `runner.grade()`, the same sandbox as `minireactor grade`:
a submission that crashes, hangs or is missing scores zero on that
exercise and the batch goes on. One unit runs at a time per process (the
sandbox reaps the orphans of its process, which must all be its own).

Read next: `gradebook.py`, `cluster.py`, `exports.py`.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import signal
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exercises import Exercise, load_exercise
from .gradebook import Gradebook, Row
from .runner import Source, grade
from .submissions import find_students

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


@dataclass
class ClassReport:
    """What one batch did."""

    run: int
    students: int
    units: int
    graded: int = 0
    reused: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    interrupted: bool = False


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


def plan(
    submissions: Path, exercises: list[Exercise], gradebook: Gradebook, hidden: bool,
    regrade: Iterable[str] = (),
) -> tuple[list[Unit], dict[str, Bundle], int, int]:
    """(units to grade, bundles by slug, students, units already in the gradebook)."""
    students = find_students(submissions, exercises)
    known = {s.id for s in students}
    for name in regrade:
        if name not in known:
            raise ValueError(f"--regrade {name}: no such student in {submissions}")
        gradebook.forget(name)
    bundles = {e.slug: pack_exercise(e, hidden) for e in exercises}
    done = gradebook.digests()
    todo: list[Unit] = []
    reused = 0
    for student in students:
        for exercise in exercises:
            data = student.files.get(exercise.starter)
            digest = unit_digest(bundles[exercise.slug], data)
            if done.get((student.id, exercise.slug)) == digest:
                reused += 1
                continue
            todo.append(Unit(student.id, exercise.slug, exercise.starter, data, digest))
    return todo, bundles, len(students), reused


def grade_class(
    submissions: Path, exercises: list[Exercise], gradebook: Gradebook, *,
    hidden: bool = False, jobs: int = 2, wall: float | None = None,
    regrade: Iterable[str] = (), scheduler: str | None = None, progress: bool = True,
    command: str = "",
) -> ClassReport:
    """Grade every student's files for `exercises` into `gradebook`.

    Args:
        submissions: a folder or .zip (see `submissions.py` for the layouts).
        exercises: which exercises to grade.
        gradebook: where results go, and where finished work is looked up.
        hidden: also run the hidden tests.
        jobs: units graded at once on this machine (ignored with `scheduler`).
        wall: override every test's wall-clock limit (seconds).
        regrade: students whose rows are dropped first, so they are regraded.
        scheduler: a dask scheduler address (tcp://host:8786) to grade on.
        progress: show a progress bar on stderr.
        command: recorded with the run, for the record.

    Raises:
        ExerciseError: the submissions cannot be read.
        ValueError: a `regrade` student is unknown.
        KeyboardInterrupt: after recording whatever had finished.
    """
    started = time.monotonic()
    todo, bundles, students, reused = plan(submissions, exercises, gradebook, hidden, regrade)
    run = gradebook.start_run(command)
    report = ClassReport(run, students, len(todo) + reused, reused=reused)
    tasks: list[Task] = [(u, bundles[u.exercise], hidden, wall) for u in todo]
    bar = _progress_bar(len(tasks), progress)

    def sink(graded: Graded) -> None:
        if graded.error:
            report.errors.append(f"{graded.student} {graded.exercise}: {graded.error}")
        else:
            gradebook.record(graded.row(run))
            report.graded += 1
        bar(graded)

    try:
        if not tasks:
            pass
        elif scheduler is not None:
            from .cluster import run_on_cluster

            run_on_cluster(scheduler, tasks, sink)
        else:
            run_locally(tasks, jobs, sink)
    except KeyboardInterrupt:
        report.interrupted = True
        raise
    finally:
        bar(None)
        report.elapsed = time.monotonic() - started
    return report


def run_locally(tasks: list[Task], jobs: int, sink: Sink) -> None:
    """Grade `tasks` in `jobs` worker processes, passing each result to `sink`.

    On Ctrl-C: tasks not started are cancelled, those running finish and are
    recorded, then KeyboardInterrupt propagates.
    """
    context = multiprocessing.get_context("spawn")  # no fork of a threaded process
    pool = ProcessPoolExecutor(max(1, jobs), mp_context=context, initializer=_ignore_sigint)
    futures: dict[Future[Graded], Unit] = {pool.submit(grade_unit, *t): t[0] for t in tasks}
    try:
        for future in as_completed(futures):
            sink(_result(future, futures[future]))
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        for future in futures:
            if not future.cancelled():
                sink(_result(future, futures[future]))  # finished or finishing: keep it
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _result(future: Future[Graded], unit: Unit) -> Graded:
    try:
        return future.result()
    except Exception as exc:  # a worker died (e.g. killed): retried next run
        return Graded(unit.student, unit.exercise, unit.digest,
                      error=f"worker failed: {type(exc).__name__}: {exc}")


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the coordinator, which stops them in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _progress_bar(total: int, enabled: bool) -> Callable[[Graded | None], None]:
    """A tqdm bar (or plain lines without tqdm); call with None to close it."""
    if not enabled:
        return lambda graded: None
    try:
        from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        count = [0]

        def plain(graded: Graded | None) -> None:
            if graded is not None:
                count[0] += 1
                if count[0] % max(1, total // 20) == 0 or count[0] == total:
                    print(f"graded {count[0]}/{total}", file=sys.stderr, flush=True)
        return plain
    bar = tqdm(total=total, unit="submission", file=sys.stderr, smoothing=0.1)

    def update(graded: Graded | None) -> None:
        if graded is None:
            bar.close()
        else:
            bar.set_postfix_str(f"{graded.student} {graded.exercise}", refresh=False)
            bar.update(1)
    return update


__all__ = ["Bundle", "ClassReport", "Graded", "Unit", "grade_class", "grade_unit",
           "pack_exercise", "plan", "run_locally"]

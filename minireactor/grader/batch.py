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

Read next: `units.py`, `gradebook.py`, `cluster.py`, `exports.py`.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .exercises import Exercise
from .gradebook import Gradebook
from .submissions import find_students
from .units import Bundle, Graded, Sink, Task, Unit, grade_unit, pack_exercise, unit_digest


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

"""Grade exercises: choose the files, run every test in the sandbox, collect results.

`grade()` is the one entry point behind `minireactor grade`, `check()` and the
Gradescope script. It reads tests and points from disk up front, decides which
student file each exercise uses (the starter in place, a submission folder or
file, or the reference solution), runs the tests in parallel (each in its own
sandboxed process), and returns a `GradeReport` built only from the sandbox's
verdicts.

Read next: `sandbox.py` (how one test runs) and `report.py` (what comes back).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .bwrap import find_bwrap
from .exercises import Exercise, ExerciseError, TestCase, find_exercises
from .report import ExerciseResult, GradeReport, TestResult
from .sandbox import Job, Limits, Policy, Sandbox, default_policy

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding minireactor/


def locate_exercises(explicit: Path | None = None) -> Path:
    """The exercises folder: `explicit`, else ./exercises or a parent's, else the repo's."""
    if explicit is not None:
        return explicit
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises").is_dir():
            return folder / "exercises"
    return PACKAGE_ROOT / "exercises"


@dataclass(frozen=True)
class Source:
    """Where the graded file of each exercise comes from."""

    submission: Path | None = None  # a folder of student files, or one file
    solution: bool = False  # grade the reference solutions instead

    def file_for(self, exercise: Exercise, only_exercise: bool) -> tuple[Path | None, str]:
        """The file to grade for `exercise`, or None with the reason it is missing."""
        if self.solution:
            path = exercise.solution_path
        elif self.submission is None:
            path = exercise.starter_path
        elif self.submission.is_file():
            if not only_exercise and self.submission.name != exercise.starter:
                return None, f"the submitted file is {self.submission.name}, not {exercise.starter}"
            path = self.submission
        else:
            # A flat folder (Gradescope) first, then the student edition's layout.
            path = self.submission / exercise.starter
            if not path.is_file():
                path = self.submission / exercise.slug / exercise.starter
        if not path.is_file():
            return None, f"no file named {exercise.starter} was found (looked for {path})"
        return path, ""


def grade(
    exercises: list[Exercise],
    source: Source | None = None,
    *,
    hidden: bool = False,
    jobs: int = 2,
    wall: float | None = None,
    policy: Policy | None = None,
    progress: Callable[[str], None] | None = None,
) -> GradeReport:
    """Run the tests of `exercises` against the chosen files and score them.

    Args:
        exercises: what to grade (see `exercises.select`).
        source: which files to grade; the starters in place by default.
        hidden: also run each exercise's hidden tests.
        jobs: how many tests run at once.
        wall: override every test's wall-clock limit (seconds).
        policy: sandbox settings; by default drop to `nobody` when root.
        progress: called with a short line as each test finishes.
    """
    started = time.monotonic()
    source = source or Source()
    policy = policy or default_policy()
    if policy.isolation == "none" or find_bwrap() is None:
        policy = _usable(policy)  # bubblewrap binds the interpreter in; without it, probe
    sandbox = Sandbox(policy, [str(PACKAGE_ROOT)])
    if sandbox.bwrap is not None and not _drop_works(sandbox):
        sandbox = Sandbox(dataclasses.replace(policy, user=None), [str(PACKAGE_ROOT)])
    _announce(sandbox, progress)
    plan: list[tuple[ExerciseResult, TestCase, Job]] = []
    results: list[ExerciseResult] = []
    for exercise in exercises:
        file, note = source.file_for(exercise, only_exercise=len(exercises) == 1)
        result = ExerciseResult(exercise.slug, exercise.title, note=note)
        results.append(result)
        for case in exercise.tests(hidden=hidden):
            limits = exercise.limits.with_wall(case.timeout).with_wall(wall)
            job = Job(case.source, str(case.file), case.file.stem, case.function, file,
                      exercise.starter, limits, (str(exercise.path / "tests"),))
            plan.append((result, case, job))

    def run(item: tuple[ExerciseResult, TestCase, Job]) -> TestResult:
        _, case, job = item
        if job.submission is None:
            return TestResult(case.name, case.points, False, "not graded: the file is missing",
                              case.hidden)
        verdict = sandbox.run(job)
        test = TestResult(case.name, case.points, verdict.passed, verdict.output(),
                          case.hidden, verdict.duration)
        if progress is not None:
            mark = "PASS" if test.passed else "FAIL"
            progress(f"{mark} {case.exercise} {case.name} ({verdict.duration:.1f} s)")
        return test

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for (result, _, _), test in zip(plan, pool.map(run, plan), strict=True):
            result.tests.append(test)
    return GradeReport(results, time.monotonic() - started)


def grade_names(
    names: list[str], exercises_dir: Path | None = None, **options: object
) -> GradeReport:
    """`grade()` by exercise names (all when empty), finding the exercises folder."""
    from .exercises import select

    found = select(find_exercises(locate_exercises(exercises_dir)), names)
    return grade(found, **options)  # type: ignore[arg-type]


def protect_private_files(exercises_dir: Path) -> list[Path]:
    """Make every exercise's hidden/ and solution/ readable by their owner only.

    For a grader running as root (Gradescope's `run_autograder`): the tests
    run as `nobody`, who then cannot read them even without bubblewrap (which
    does not show them at all). The grader reads hidden tests itself, before
    any student code runs, and sends them over the job pipe. Returns the
    folders changed.
    """
    changed = []
    for folder in sorted([*exercises_dir.glob("*/hidden"), *exercises_dir.glob("*/solution")]):
        for path in folder.rglob("*"):
            path.chmod(0o700 if path.is_dir() else 0o600)
        folder.chmod(0o700)
        changed.append(folder)
    return changed


_checked: dict[tuple[tuple[int, int], str, bool], bool] = {}
_announced: set[str] = set()


def _announce(sandbox: Sandbox, progress: Callable[[str], None] | None) -> None:
    """Say what the sandbox isolates: to `progress`, and once on stderr for the fallback."""
    line = sandbox.describe()
    if progress is not None:
        progress(line)
    elif sandbox.bwrap is None and line not in _announced:
        _announced.add(line)
        print(f"minireactor grade: {line}", file=sys.stderr)


def _drop_works(sandbox: Sandbox) -> bool:
    """Whether a trivial test passes in `sandbox` as its unprivileged user (checked once).

    bubblewrap shows the interpreter to that user, but files inside it may
    still be unreadable to them (a private install): then tests run without
    the drop, still in bubblewrap, and the grader says so.
    """
    user = sandbox.policy.user
    if user is None:
        return True
    key = (user, sandbox.policy.python, True)
    if key not in _checked:
        with tempfile.TemporaryDirectory() as folder:
            module = Path(folder) / "probe.py"
            module.write_text("")
            job = Job("def test_probe():\n    pass\n", "test_probe.py", "test_probe",
                      "test_probe", module, "probe.py", Limits(wall=30))
            verdict = sandbox.run(job)
        _checked[key] = verdict.passed
        if not verdict.passed:
            print(f"minireactor grade: user {user[0]} cannot run {sandbox.policy.python} in the "
                  "sandbox; tests run in bubblewrap as the current user, without dropping "
                  f"privileges ({verdict.output()[:300]})", file=sys.stderr)
    return _checked[key]


def _usable(policy: Policy) -> Policy:
    """Keep the user drop only if that user can import the grader (checked once)."""
    if policy.user is None:
        return policy
    key = (policy.user, policy.python, False)
    if key not in _checked:
        try:
            probe = subprocess.run(
                [policy.python, "-I", "-B", "-c",
                 f"import sys; sys.path.insert(0, {str(PACKAGE_ROOT)!r}); "
                 "import minireactor.grader.testing"],
                user=policy.user[0], group=policy.user[1], extra_groups=[], cwd="/",
                capture_output=True, timeout=30, check=False,
            )
            ok = probe.returncode == 0
        except (OSError, subprocess.SubprocessError):  # e.g. the interpreter is under /root
            ok = False
        _checked[key] = ok
        if not ok:
            print(f"minireactor grade: user {policy.user[0]} cannot run {policy.python} or "
                  f"import the grader from {PACKAGE_ROOT}; tests run as the current user "
                  "(still contained, but not privilege-separated)", file=sys.stderr)
    if _checked[key]:
        return policy
    return dataclasses.replace(policy, user=None)


__all__ = ["ExerciseError", "Source", "grade", "grade_names", "locate_exercises",
           "protect_private_files"]

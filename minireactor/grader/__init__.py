"""The exercise grader: runs students' code in a sandbox and scores it.

Commands: `minireactor grade` and `minireactor release` (see `cli.py`); from a
notebook, `check("timers")` (see `notebook.py`). Layout: `exercises.py` reads
exercises and points, `runner.py` plans a run, `sandbox.py` + `_child.py` run
one test in a contained process, `report.py` scores and renders,
`release.py` and `gradescope.py` package things.

Threat model. Graded code is untrusted: it may be wrong, slow, or written to
cheat. The grader must always finish, give each test only the points it
earned, and never let graded code choose the score.

- Accidents (infinite loops, deadlocks, crashes, sys.exit, os._exit, huge
  allocations, a few forks): every test runs in a fresh child process in its
  own session, with RLIMIT_CPU/AS/FSIZE/CORE, a wall-clock limit, and a kill of
  the whole process group at the end; the grader is a child subreaper, so
  descendants that escape with setsid() are found and killed too. Such a test
  scores zero and the others are untouched.
- Forged output: the score is computed in the grader's process from its own
  table of tests and points (read from the test sources with `ast` before any
  student code runs). The child's stdout/stderr are only shown; a fake
  results.json is overwritten (atomically) at the end; fake "PASSED" lines and
  fake JSON mean nothing. A verdict counts only if it arrives on a private pipe,
  carries the run's random token and the child's pid, and the child exits 0.
- Tampering at import (patching pytest, unittest, builtins, sys.exit, our own
  modules): the child does not use a test framework; its runner binds
  everything it needs before the student's module is imported, and the token
  exists only in the closure of an audit hook, which is reachable from no
  Python object. The hook writes PASS only when called from the runner's frame
  at the call site after the test returned normally, so neither a forged
  `sys.audit` call nor a planted C callable can report a pass. Tracing, gc
  walks, extra audit hooks, ctypes and swapping a function's `__code__` end
  the test as a failure; replaced builtins or test helpers fail it too. Test
  sources and the runner are read once by the parent and sent over the pipe.
- As root (Gradescope, CI), tests run as `nobody` and non-dumpable: graded
  code cannot write the grader's files, signal the grader, or read its own
  memory; RLIMIT_NPROC caps fork bombs.

Out of scope: code that walks interpreter frames to rewrite the test's local
variables while it runs can still subvert a test's asserts inside its own
process; only an OS sandbox (containers, seccomp) stops that, which is why
hidden tests and reading the code remain part of grading. Without root the
sandbox contains accidents and casual cheating, not a student who edits the
grader's files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .testing import points

if TYPE_CHECKING:
    from .report import ExerciseResult

__all__ = ["check", "points"]


def check(
    exercise: str, path: str | Path | None = None, *, hidden: bool = False,
    exercises_dir: str | Path | None = None,
) -> ExerciseResult:
    """Grade one exercise's visible tests and return a result that shows itself.

    Kept here as a thin wrapper so that importing `minireactor.grader.testing`
    (which every graded test does, in a fresh process) stays cheap.
    See `notebook.check` for the arguments.
    """
    from .notebook import check as check_exercise

    return check_exercise(exercise, path, hidden=hidden, exercises_dir=exercises_dir)

"""The exercise grader: runs students' code in a sandbox and scores it.

Commands: `minireactor grade` and `minireactor release` (see `cli.py`); from a
notebook, `check("timers")` (see `notebook.py`). Layout: `exercises.py` reads
exercises and points, `runner.py` plans a run, `sandbox.py` + `_child.py` run
one test in a contained process (with `bwrap.py`, `cgroups.py`, `sweep.py`),
`report.py` scores and renders, `release.py` and `gradescope.py` package things.

Threat model. Graded code is untrusted: it may be wrong, slow, or written to
cheat, and the instructor grading a class (as root on Gradescope, or as an
ordinary user) is who must be protected. The grader must always finish, give
each test only the points it earned, and never let graded code choose the
score, see hidden tests or solutions, reach the network, or outlive its test.
Students running `check()` on their own visible tests are not the threat.

1. The score. It is computed in the grader's process from its own table of
   tests and points, read from the sources with `ast` before any student code
   runs. A verdict counts only if it arrives on a private pipe with the run's
   random token, from the one process that armed the guard, and the test
   process exits 0 (and no process of the test passed the memory cap). The
   token lives only in the closure of an audit hook; the test process is
   non-dumpable, so /proc/self/mem cannot be read to find it. Output is shown,
   never parsed for a score; results.json is rewritten at the end.
2. How a test judges. The test and the student's code share one process (a
   test calls the student's functions and compares what they return), so the
   judging must not depend on anything the student's code can change:
   - names bound at definition time: `same`/`expect` take every builtin and
     helper they use as positional defaults, bound when `testing.py` runs,
     before any student code; the runner rewrites each test module's
     functions the same way (`def test_x(expect=expect, len=len)`), so a test
     reads its judges from its own frame, not from a namespace the student
     can reach (any test-module function's `__globals__`). A defaults tuple
     cannot change in place, and assigning `__defaults__` or `__code__` ends
     the test (audit hook). The test module gets a private copy of builtins.
   - a snapshot checked before each verdict: the whole helper namespace,
     builtins, the test's builtins and the test module's names (no name the
     test did not bind itself; every helper the very object imported before
     student code) are compared, and any difference fails the test; the
     bindings are checked right after the test module is executed.
   - facilities that reach past this are blocked: tracing, gc walks, extra
     audit hooks, ctypes calls; test sources and the runner are read once by
     the grader and sent over the pipe.
   We chose this over judging in a separate process because every exercise's
   tests call student code and compare its results in place (threads,
   sockets, Deferreds); serialising all of that would rewrite every test.
3. The operating system (`sandbox.py`). With bubblewrap (Linux), every test
   runs in new PID, network, IPC and UTS namespaces (a user namespace too for
   an ordinary user), on a read-only system with only the grader package,
   the test's own visible folder and the submission bound in (never hidden/,
   solution/, other students' files or the results path), with a private,
   size-capped /tmp and /dev/shm, no network at all, and every descendant
   dying with the namespace. As root the child switches to `nobody` before
   running anything, with no_new_privs. Memory and processes are capped per
   test by a cgroup (v1 memory+pids, or delegated v2) when the grader may
   create one; otherwise by RLIMIT_AS per process and RLIMIT_NPROC (per user
   namespace). Without bubblewrap (macOS, a locked-down host) the fallback
   keeps the rlimits and the user drop and sweeps the process tree by group,
   session and parent links (`sweep.py`); it does not isolate the network,
   the file system or other processes of the same user, and says so.

Out of scope. Measurements a test's own infrastructure makes in the test
process (a server thread counting requests) can be reached by student code in
that process (through the objects the test hands it) and altered; tests
that grade on such counters trust the process, and hidden tests and reading
the code remain part of grading. A test-module helper handed to student code
as a callback can be called with extra positional arguments that replace its
bound judges. Kernel exploits and side channels are beyond any of this; so
is everything the fallback says it does not isolate. The hostile corpus that
backs each claim is tests/grader_fixtures/attacks/ (RELIABILITY.md's table).
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

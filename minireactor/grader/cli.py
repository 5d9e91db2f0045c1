"""Command line: `minireactor grade ...` and `minireactor release ...`.

`add_subcommands(subparsers)` registers both commands on another program's
argparse sub-parsers (the `minireactor` command does this); each sets
`func`, which takes the parsed namespace and returns an exit status.
`main(argv)` is the same thing standalone: `python -m minireactor.grader ...`.

`grade --class SUBMISSIONS` grades a whole class (see `class_cli.py` and
`batch.py`); `grade --gradescope DIR` writes the autograder (`gradescope.py`).

Read next: `runner.py` (grading) and `release.py` (the student edition).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .exercises import ExerciseError, find_exercises, select
from .runner import Source, grade, locate_exercises
from .wheel import WheelError


def add_subcommands(subparsers: Any) -> None:
    """Register `grade` and `release` on an argparse `add_subparsers()` object."""
    g = subparsers.add_parser(
        "grade", help="grade exercises in a sandbox",
        description="Grade the student's files (by default the starters in place).",
    )
    g.add_argument("exercise", nargs="*", help="names like select-echo or 01-select-echo (all)")
    g.add_argument("--submission", type=Path, help="a folder of student files, or one file")
    g.add_argument("--solution", action="store_true", help="grade the reference solutions")
    g.add_argument("--hidden", action="store_true", help="also run the hidden tests")
    g.add_argument("--json", type=Path, metavar="RESULTS", help="write Gradescope results.json")
    g.add_argument("--exercises", type=Path, metavar="DIR", help="the exercises folder")
    g.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="tests run at once")
    g.add_argument("--timeout", type=float, help="wall-clock seconds per test (overrides)")
    g.add_argument("--gradescope", type=Path, metavar="DIR",
                   help="write a Gradescope autograder to DIR instead of grading")
    g.add_argument("--quiet", action="store_true", help="print only the total")
    c = g.add_argument_group(
        "a whole class", "grade every student's files into a resumable gradebook (batch.py)")
    c.add_argument("--class", dest="klass", type=Path, metavar="SUBMISSIONS",
                   help="a folder (one folder or file per student) or an LMS/Gradescope zip")
    c.add_argument("--out", type=Path, metavar="DIR", default=Path("grades"),
                   help="where grades.csv, feedback/ and the summary go (default ./grades)")
    c.add_argument("--gradebook", type=Path, metavar="FILE",
                   help="the SQLite gradebook (default OUT/gradebook.sqlite)")
    c.add_argument("--regrade", action="append", default=[], metavar="STUDENT",
                   help="grade this student again even if nothing changed (repeatable)")
    c.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on a dask cluster, e.g. tcp://HOST:8786 (needs minireactor[dask])")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.set_defaults(func=run_grade)

    r = subparsers.add_parser(
        "release", help="build the student edition",
        description="Copy starters, READMEs, visible tests and notebooks; no solutions, "
                    "no hidden tests.",
    )
    r.add_argument("--out", type=Path, required=True, help="folder to create")
    r.add_argument("--exercises", type=Path, metavar="DIR", help="the exercises folder")
    r.add_argument("--notebooks", type=Path, metavar="DIR", help="notebooks to copy (if present)")
    r.add_argument("--force", action="store_true", help="replace --out if it exists")
    r.set_defaults(func=run_release)


def run_grade(args: argparse.Namespace) -> int:
    """The `grade` command; returns the exit status."""
    try:
        exercises = select(find_exercises(locate_exercises(args.exercises)), args.exercise)
        if args.gradescope is not None:
            from .gradescope import write_autograder

            write_autograder(args.gradescope, exercises)
            print(f"wrote a Gradescope autograder to {args.gradescope}: upload "
                  f"{args.gradescope / 'autograder.zip'}")
            return 0
        if args.klass is not None:
            from .class_cli import run_class

            return run_class(args, exercises)
        if args.submission is not None and not args.submission.exists():
            raise ExerciseError(f"--submission {args.submission}: no such file or folder")
        if args.submission is not None and args.submission.is_file() and len(exercises) != 1:
            raise ExerciseError("a single submitted file needs exactly one exercise name")
    except (ExerciseError, WheelError) as exc:
        print(f"minireactor grade: {exc}", file=sys.stderr)
        return 2
    source = Source(submission=args.submission, solution=args.solution)
    progress = None if args.quiet else _progress
    report = grade(exercises, source, hidden=args.hidden, jobs=args.jobs, wall=args.timeout,
                   progress=progress)
    if args.json is not None:
        report.write_json(args.json)
    if args.quiet:
        print(f"{report.score:g}/{report.max_score:g}")
    else:
        print()
        print(report, end="")
        print(f"({report.execution_time:.1f} s)")
    return 0


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_release(args: argparse.Namespace) -> int:
    """The `release` command; returns the exit status."""
    from .release import ReleaseError, build_release

    try:
        written = build_release(locate_exercises(args.exercises), args.out,
                                notebooks=args.notebooks, force=args.force)
    except (ExerciseError, ReleaseError) as exc:
        print(f"minireactor release: {exc}", file=sys.stderr)
        return 2
    print(f"wrote the student edition to {args.out} ({written} files)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m minireactor.grader grade|release ...`."""
    parser = argparse.ArgumentParser(prog="python -m minireactor.grader")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status

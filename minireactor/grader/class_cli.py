"""`minireactor grade --class SUBMISSIONS`: the command-line side of batch grading.

Grades the class into the gradebook (`batch.grade_class`), then writes the
exports from the whole gradebook (`exports.py`) and prints where they are.
Ctrl-C stops cleanly: what finished is kept, and the same command resumes.

Read next: `batch.py`.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from .batch import ClassReport, grade_class
from .exercises import Exercise, ExerciseError
from .exports import write_csv, write_feedback, write_summary
from .gradebook import Gradebook


def run_class(args: argparse.Namespace, exercises: list[Exercise]) -> int:
    """Grade the class named by `args.klass`; returns the exit status."""
    out = args.out
    book_path = args.gradebook or out / "gradebook.sqlite"
    command = shlex.join(["minireactor", *sys.argv[1:]])
    with Gradebook(book_path) as book:
        try:
            report = grade_class(
                args.klass, exercises, book, hidden=args.hidden, jobs=args.jobs,
                wall=args.timeout, regrade=args.regrade, scheduler=args.scheduler,
                progress=not (args.no_progress or args.quiet), command=command)
        except (ExerciseError, ValueError) as exc:
            print(f"minireactor grade: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"\ninterrupted: finished results are in {book_path}; run the same command "
                  "again to grade the rest", file=sys.stderr)
            return 130
        except Exception as exc:  # e.g. ClusterError: say what to do, no traceback
            if type(exc).__name__ != "ClusterError":
                raise
            print(f"minireactor grade: {exc}", file=sys.stderr)
            return 2
        rows = book.rows()
    csv_path = write_csv(rows, exercises, out / "grades.csv")
    feedback = write_feedback(rows, exercises, out / "feedback")
    summary = write_summary(rows, exercises, out)
    _print_report(report, book_path)
    print(f"wrote {csv_path}, {len(feedback)} feedback files in {out / 'feedback'}, {summary}")
    return 1 if report.errors else 0


def _print_report(report: ClassReport, book_path: object) -> None:
    rate = report.graded / report.elapsed if report.elapsed > 0 else 0.0
    print(f"{report.students} students, {report.units} submissions: graded {report.graded} "
          f"({rate:.2f}/s), unchanged {report.reused}, run {report.run} in {book_path}")
    for error in report.errors:
        print(f"  not graded (will be retried next run): {error}", file=sys.stderr)

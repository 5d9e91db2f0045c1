"""`check("timers")`: grade one exercise from a notebook and show the score inline.

The result is an `ExerciseResult`: Jupyter renders it as a table
(`_repr_html_`), `print()` gives the text table. It uses the same sandbox as
`minireactor grade`, minus the grader-wide settings that suit a dedicated
grading process (no child subreaper in a notebook kernel).

Read next: `runner.py`.
"""

from __future__ import annotations

from pathlib import Path

from .exercises import find_exercises, select
from .report import ExerciseResult
from .runner import Source, grade, locate_exercises
from .sandbox import default_policy


def check(
    exercise: str, path: str | Path | None = None, *, hidden: bool = False,
    exercises_dir: str | Path | None = None,
) -> ExerciseResult:
    """Run the tests of `exercise` on the student's file and return the result.

    Args:
        exercise: its name, `"timers"` or `"03-timers"`.
        path: the file to grade; by default the starter in the exercise folder,
            which is where students write their code.
        hidden: also run hidden tests (teachers' copies only have them).
        exercises_dir: the exercises folder, if not ./exercises or a parent's.
    """
    root = locate_exercises(Path(exercises_dir) if exercises_dir is not None else None)
    (chosen,) = select(find_exercises(root), [exercise])
    source = Source(submission=Path(path) if path is not None else None)
    report = grade([chosen], source, hidden=hidden, policy=default_policy(contain_orphans=False))
    return report.exercises[0]

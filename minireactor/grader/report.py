"""Grading results: per test, per exercise, and the whole run.

The grader's process builds these from its own verdicts (never from anything a
test printed). They render three ways: a plain-text table for the terminal,
HTML for notebooks (`_repr_html_`), and Gradescope's `results.json`
(`score`, `max_score`, `execution_time`, `output`, `visibility`, `tests[]`).

Read next: `runner.py`, which fills them in.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TestResult:
    """One test's outcome: all-or-nothing points, with the reason when lost."""

    name: str
    max_score: float
    passed: bool
    output: str
    hidden: bool = False
    duration: float = 0.0

    @property
    def score(self) -> float:
        return self.max_score if self.passed else 0.0


@dataclass
class ExerciseResult:
    """The tests of one exercise; its score is the sum of the passed tests' points."""

    slug: str
    title: str
    tests: list[TestResult] = field(default_factory=list)
    note: str = ""  # e.g. "no file named timers.py in the submission"

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    def __str__(self) -> str:
        return render_table([self])

    def _repr_html_(self) -> str:
        return render_html([self])


@dataclass
class GradeReport:
    """A whole grading run."""

    exercises: list[ExerciseResult]
    execution_time: float = 0.0

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)

    def __str__(self) -> str:
        return render_table(self.exercises)

    def _repr_html_(self) -> str:
        return render_html(self.exercises)

    def to_gradescope(self) -> dict[str, Any]:
        """The results.json document Gradescope reads."""
        tests = []
        for exercise in self.exercises:
            for test in exercise.tests:
                tests.append({
                    "name": f"{exercise.slug}: {test.name}",
                    "score": test.score,
                    "max_score": test.max_score,
                    "output": test.output or "passed",
                    "visibility": "after_published" if test.hidden else "visible",
                })
        summary = "\n".join(
            f"{e.slug}: {_num(e.score)}/{_num(e.max_score)}" + (f" ({e.note})" if e.note else "")
            for e in self.exercises
        )
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": round(self.execution_time, 3),
            "output": summary,
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
        }

    def write_json(self, path: Path) -> None:
        """Write results.json atomically (rename), replacing whatever is there."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".results-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self.to_gradescope(), out, indent=2)
        os.replace(temp, path)


def _num(value: float) -> str:
    return f"{value:g}"


def render_table(exercises: list[ExerciseResult], width: int = 100) -> str:
    """A plain-text table: one line per test, a subtotal per exercise, reasons below."""
    lines = []
    for exercise in exercises:
        lines.append(f"{exercise.slug} - {exercise.title}")
        if exercise.note:
            lines.append(f"  ! {exercise.note}")
        for test in exercise.tests:
            mark = "PASS" if test.passed else "FAIL"
            tag = " (hidden)" if test.hidden else ""
            score = f"{_num(test.score)}/{_num(test.max_score)}"
            lines.append(f"  {mark}  {score:>7}  {test.name}{tag}")
            if test.output:  # why it failed, or what a passing test printed
                reason = test.output.strip().splitlines()
                for line in reason[:6]:
                    lines.append(f"              {line[:width]}")
                if len(reason) > 6:
                    lines.append("              ...")
        lines.append(f"  total {_num(exercise.score)}/{_num(exercise.max_score)}")
        lines.append("")
    if len(exercises) > 1:
        total = sum(e.score for e in exercises)
        maximum = sum(e.max_score for e in exercises)
        lines.append(f"TOTAL {_num(total)}/{_num(maximum)}")
    return "\n".join(lines).rstrip() + "\n"


def render_html(exercises: list[ExerciseResult]) -> str:
    """An HTML table for notebooks, failures with their reasons."""
    rows = []
    for exercise in exercises:
        rows.append(
            f"<tr><th colspan='3' style='text-align:left'>{html.escape(exercise.slug)}"
            f" &mdash; {html.escape(exercise.title)}: {_num(exercise.score)}"
            f"/{_num(exercise.max_score)}</th></tr>"
        )
        if exercise.note:
            rows.append(f"<tr><td colspan='3'>{html.escape(exercise.note)}</td></tr>")
        for test in exercise.tests:
            colour = "#2e7d32" if test.passed else "#c62828"
            mark = "&#10004;" if test.passed else "&#10008;"
            reason = "" if test.passed else (
                f"<pre style='margin:0'>{html.escape(test.output)}</pre>")
            rows.append(
                f"<tr><td style='color:{colour}'>{mark}</td>"
                f"<td>{_num(test.score)}/{_num(test.max_score)}</td>"
                f"<td style='text-align:left'>{html.escape(test.name)}{reason}</td></tr>"
            )
    return "<table>" + "".join(rows) + "</table>"

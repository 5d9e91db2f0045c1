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
import shutil
import tempfile
import textwrap
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
        """The results.json document Gradescope reads.

        Visibility follows Gradescope's specification: each visible test is
        `visible`; each hidden test is `after_published` (its score and output
        appear when the instructor publishes the grades). The top-level
        `output` is shown at once, so it totals the visible tests only; when
        there are hidden tests the overall score, which includes them, is
        `after_published` too. `stdout_visibility` is `hidden`: what the
        grader printed is for instructors.
        """
        tests = []
        for exercise in self.exercises:
            for test in exercise.tests:
                tests.append({
                    "name": f"{exercise.slug}: {test.name}",
                    "score": test.score,
                    "max_score": test.max_score,
                    "status": "passed" if test.passed else "failed",
                    "output": test.output or "passed",
                    "visibility": "after_published" if test.hidden else "visible",
                })
        any_hidden = any(t.hidden for e in self.exercises for t in e.tests)
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": round(self.execution_time, 3),
            "output": self.visible_summary(),
            "visibility": "after_published" if any_hidden else "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
        }

    def visible_summary(self) -> str:
        """One line per exercise with the visible tests' score only."""
        lines = []
        for e in self.exercises:
            shown = [t for t in e.tests if not t.hidden]
            line = (f"{e.slug}: {_num(sum(t.score for t in shown))}/"
                    f"{_num(sum(t.max_score for t in shown))} on the visible tests")
            if len(shown) < len(e.tests):
                line += " (hidden tests: results after the grades are published)"
            lines.append(line + (f" ({e.note})" if e.note else ""))
        return "\n".join(lines)

    def write_json(self, path: Path) -> None:
        """Write results.json atomically (rename), replacing whatever is there."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".results-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self.to_gradescope(), out, indent=2)
        os.replace(temp, path)


def _num(value: float) -> str:
    return f"{value:g}"


def render_table(
    exercises: list[ExerciseResult], width: int | None = None, max_lines: int = 40
) -> str:
    """A plain-text table: one line per test, a subtotal per exercise, reasons below.

    Reasons are wrapped to the terminal's width, never cut mid-line; only a
    reason longer than `max_lines` lines loses its end (`--json` keeps all).
    """
    if width is None:
        width = max(40, shutil.get_terminal_size((100, 24)).columns - _INDENT)
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
                lines.extend(_wrapped(test.output, width, max_lines))
        lines.append(f"  total {_num(exercise.score)}/{_num(exercise.max_score)}")
        lines.append("")
    if len(exercises) > 1:
        total = sum(e.score for e in exercises)
        maximum = sum(e.max_score for e in exercises)
        lines.append(f"TOTAL {_num(total)}/{_num(maximum)}")
    return "\n".join(lines).rstrip() + "\n"


_INDENT = 14


def _wrapped(text: str, width: int, max_lines: int) -> list[str]:
    """`text` indented and wrapped at `width`, at most `max_lines` lines."""
    pad = " " * _INDENT
    out: list[str] = []
    for line in text.strip().splitlines():
        pieces = textwrap.wrap(line, width, replace_whitespace=False, drop_whitespace=False,
                               break_on_hyphens=False) or [""]
        out.extend(pad + piece.rstrip() for piece in pieces)
    if len(out) > max_lines:
        cut = len(out) - max_lines
        out = [*out[:max_lines], f"{pad}... {cut} more lines (--json RESULTS keeps them all)"]
    return out


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

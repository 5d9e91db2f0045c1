"""What a class's gradebook turns into: an LMS CSV, feedback per student, a summary.

- `grades.csv`: `student`, one column per exercise (its score), `total` -
  the shape Canvas, Moodle and Gradescope import (map the columns on import);
  an exercise that could not be graded is left empty, not zero.
- `feedback/<student>.md`: every exercise, every test with its points and
  its full message (what failed and what the code printed), hidden tests
  marked as such - send it when the grades are published.
- `summary.md` and `histograms.png`: per exercise the mean, median, how many
  full marks and zeros, and a histogram of the scores (matplotlib, when
  installed).

Read next: `gradebook.py` (the rows these are made from).
"""

from __future__ import annotations

import csv
import re
import statistics
from collections import defaultdict
from pathlib import Path

from .exercises import Exercise
from .gradebook import Row


def _num(value: float) -> str:
    return f"{value:g}"


def by_student(rows: list[Row], exercises: list[Exercise]) -> dict[str, dict[str, Row]]:
    """{student: {exercise slug: row}} for the chosen exercises, students sorted."""
    slugs = {e.slug for e in exercises}
    table: dict[str, dict[str, Row]] = defaultdict(dict)
    for row in rows:
        if row.exercise in slugs:
            table[row.student][row.exercise] = row
    return dict(sorted(table.items()))


def write_csv(rows: list[Row], exercises: list[Exercise], path: Path) -> Path:
    """The LMS CSV: student, one column per exercise, total."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["student", *(e.slug for e in exercises), "total"])
        for student, graded in by_student(rows, exercises).items():
            scores = [_num(graded[e.slug].score) if e.slug in graded else "" for e in exercises]
            total = sum(r.score for r in graded.values())
            writer.writerow([student, *scores, _num(total)])
    return path


def safe_name(student: str) -> str:
    """A file name for `student` (letters, digits, `.`, `_`, `-`; others become `_`)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", student).strip("._") or "student"


def feedback_markdown(student: str, graded: dict[str, Row], exercises: list[Exercise]) -> str:
    """One student's feedback: scores per exercise, then each test and its message."""
    total = sum(r.score for r in graded.values())
    maximum = sum(r.max_score for r in graded.values())
    lines = [f"# Feedback for {student}", "", f"Total: **{_num(total)}/{_num(maximum)}**", ""]
    for exercise in exercises:
        row = graded.get(exercise.slug)
        if row is None:
            lines += [f"## {exercise.slug}: not graded", "",
                      "Grading failed for a reason outside your code; ask your instructor.", ""]
            continue
        lines += [f"## {exercise.slug} - {exercise.title}: {_num(row.score)}/"
                  f"{_num(row.max_score)}", ""]
        if row.note:
            lines += [f"> {row.note}", ""]
        lines += ["| test | points | result |", "| --- | --- | --- |"]
        for test in row.tests:
            got = test["points"] if test["passed"] else 0
            tag = " (hidden)" if test["hidden"] else ""
            mark = "passed" if test["passed"] else "failed"
            lines.append(f"| `{test['name']}`{tag} | {_num(got)}/{_num(test['points'])} | "
                         f"{mark} |")
        lines.append("")
        for test in row.tests:
            if test["output"].strip():
                fence = "````" if "```" in test["output"] else "```"
                lines += [f"### `{test['name']}`", "", fence, test["output"].rstrip(), fence, ""]
    return "\n".join(lines)


def write_feedback(rows: list[Row], exercises: list[Exercise], folder: Path) -> list[Path]:
    """One Markdown feedback file per student in `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student, graded in by_student(rows, exercises).items():
        path = folder / f"{safe_name(student)}.md"
        path.write_text(feedback_markdown(student, graded, exercises), encoding="utf-8")
        written.append(path)
    return written


def write_summary(rows: list[Row], exercises: list[Exercise], folder: Path) -> Path:
    """`summary.md` (statistics per exercise) and, with matplotlib, `histograms.png`."""
    folder.mkdir(parents=True, exist_ok=True)
    table = by_student(rows, exercises)
    scores = {e.slug: [g[e.slug].score for g in table.values() if e.slug in g]
              for e in exercises}
    lines = [f"# Class summary: {len(table)} students", "",
             "| exercise | graded | mean | median | full marks | zero | not submitted |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for exercise in exercises:
        got = scores[exercise.slug]
        rows_here = [g[exercise.slug] for g in table.values() if exercise.slug in g]
        top = max((r.max_score for r in rows_here), default=0.0)
        missing = sum(1 for r in rows_here if r.note == "nothing submitted")
        mean = _num(round(statistics.fmean(got), 2)) if got else "-"
        median = _num(statistics.median(got)) if got else "-"
        lines.append(f"| {exercise.slug} | {len(got)} | {mean} | {median} | "
                     f"{sum(1 for s in got if s == top and top > 0)} | "
                     f"{sum(1 for s in got if s == 0)} | {missing} |")
    maxima = {e.slug: max((g[e.slug].max_score for g in table.values() if e.slug in g),
                          default=1.0) for e in exercises}
    png = _histograms(scores, maxima, folder / "histograms.png")
    lines += ["", f"![score histograms]({png.name})" if png else
              "(install matplotlib for histograms.png: pip install 'minireactor[notebooks]')"]
    path = folder / "summary.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _histograms(
    scores: dict[str, list[float]], maxima: dict[str, float], path: Path
) -> Path | None:
    """One histogram of scores per exercise, in a grid; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    count = max(1, len(scores))
    columns = min(5, count)
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows),
                             squeeze=False)
    for ax, (slug, values) in zip(axes.flat, scores.items(), strict=False):
        top = max(maxima[slug], 1.0)
        ax.hist(values, bins=max(1, min(20, int(top) + 1)), range=(0, top),
                color="#4c72b0", edgecolor="white")
        ax.set_title(slug, fontsize=9)
        ax.set_xlabel("score")
        ax.set_ylabel("students")
    for ax in list(axes.flat)[len(scores):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

"""The class gradebook: one SQLite file, one row per student and exercise.

Each row is keyed by (student, exercise) and remembers the `digest` of what
was graded: a hash of the student's file and of the exercise's tests. A rerun
of `minireactor grade --class` grades only the pairs whose digest changed or
that have no row yet, so an interrupted batch resumes where it stopped and a
late resubmission regrades only itself; `--regrade STUDENT` forgets a
student's rows first. Rows are committed one by one as results arrive, so a
crash or Ctrl-C loses at most the submissions being graded at that moment.
`runs` numbers each batch; a row's `run` says which batch graded it.

Only the coordinating process writes here (workers, local or on a dask
cluster, return results to it), so SQLite's single writer is never contended.

Read next: `batch.py` (which fills it) and `exports.py` (which reads it).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    command TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    student TEXT NOT NULL,
    exercise TEXT NOT NULL,
    digest TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    note TEXT NOT NULL,
    tests TEXT NOT NULL,      -- JSON: [{name, points, passed, hidden, output, duration}]
    run INTEGER NOT NULL REFERENCES runs(id),
    graded_at REAL NOT NULL,
    PRIMARY KEY (student, exercise)
);
"""


@dataclass(frozen=True)
class Row:
    """One graded (student, exercise) pair."""

    student: str
    exercise: str
    digest: str
    score: float
    max_score: float
    note: str
    tests: list[dict[str, Any]]
    run: int

    def comparable(self) -> tuple[object, ...]:
        """What must match between two gradings of the same files (not timings)."""
        verdicts = tuple((t["name"], t["points"], t["passed"], t["hidden"]) for t in self.tests)
        return (self.student, self.exercise, self.digest, self.score, self.max_score, verdicts)


class Gradebook:
    """A SQLite gradebook at `path` (created on first use)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start_run(self, command: str) -> int:
        """Number a new batch and return its id."""
        cursor = self._db.execute("INSERT INTO runs (started, command) VALUES (?, ?)",
                                  (time.time(), command))
        self._db.commit()
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def digests(self) -> dict[tuple[str, str], str]:
        """{(student, exercise): digest} of every graded pair."""
        return {(s, e): d for s, e, d in
                self._db.execute("SELECT student, exercise, digest FROM results")}

    def record(self, row: Row) -> None:
        """Store one result (replacing the pair's previous one) and commit at once."""
        self._db.execute(
            "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row.student, row.exercise, row.digest, row.score, row.max_score, row.note,
             json.dumps(row.tests), row.run, time.time()))
        self._db.commit()

    def forget(self, student: str) -> int:
        """Drop a student's rows (so the next batch regrades them); return how many."""
        cursor = self._db.execute("DELETE FROM results WHERE student = ?", (student,))
        self._db.commit()
        return cursor.rowcount

    def rows(self) -> list[Row]:
        """Every row, sorted by student then exercise."""
        return [
            Row(s, e, d, score, top, note, json.loads(tests), run)
            for s, e, d, score, top, note, tests, run in self._db.execute(
                "SELECT student, exercise, digest, score, max_score, note, tests, run "
                "FROM results ORDER BY student, exercise")
        ]

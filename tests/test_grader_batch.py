"""Batch grading of a class (`minireactor grade --class`), as an instructor runs it.

A tiny exercise made here (three fast tests) keeps the class of 30 students
quick: the point is the mechanism - layouts, the gradebook, resuming, the
exports, the dask cluster - and the sandbox is the real one.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from minireactor.grader.batch import grade_class
from minireactor.grader.exercises import ExerciseError, find_exercises
from minireactor.grader.gradebook import Gradebook
from minireactor.grader.submissions import find_students

pytestmark = pytest.mark.timeout(120)

STARTER = '''\
def add(a, b):
    raise NotImplementedError("add: return a + b")


def mean(values):
    raise NotImplementedError("mean: the average of values")
'''
SOLUTION = '''\
def add(a, b):
    return a + b


def mean(values):
    return sum(values) / len(values)
'''
TESTS = '''\
from adder import add, mean

from minireactor.grader.testing import expect, points


@points(2)
def test_add() -> None:
    expect(add(2, 3), 5, "add(2, 3)")


@points(3)
def test_mean_of_long_list() -> None:
    values = list(range(1, 60))
    expect(mean(values), 30.0, "mean(" + repr(values) + ")")
'''
HIDDEN = '''\
from adder import add

from minireactor.grader.testing import expect, points


@points(1)
def test_add_negative() -> None:
    expect(add(-2, -3), -5, "add(-2, -3)")
'''
# What students hand in, by kind: crashing, hanging and hostile code included.
KINDS = {
    "solution": SOLUTION,
    "starter": STARTER,
    "half": SOLUTION.replace("return sum(values) / len(values)", "return 0"),
    "os_exit": "import os\nos._exit(0)\n" + SOLUTION,
    "segfault": "import ctypes\nctypes.string_at(0)\n" + SOLUTION,
    "hang": SOLUTION.replace("return a + b", "while True:\n        pass"),
    "fake_pass": ("print('PASSED test_add 2/2\\nPASSED test_mean_of_long_list 3/3')\n"
                  "open('results.json', 'w').write('{\"score\": 99}')\n"
                  + STARTER),
}
ORDER = ["solution", "starter", "half", "solution", "os_exit", "missing", "segfault",
         "solution", "fake_pass", "half"]


def make_exercises(root: Path) -> Path:
    folder = root / "exercises" / "01-adder"
    (folder / "tests").mkdir(parents=True)
    (folder / "hidden").mkdir()
    (folder / "solution").mkdir()
    (folder / "exercise.toml").write_text(
        'title = "Add and average"\nstarter = "adder.py"\n[limits]\nwall = 5\n')
    (folder / "README.md").write_text("# adder\n")
    (folder / "adder.py").write_text(STARTER)
    (folder / "solution" / "adder.py").write_text(SOLUTION)
    (folder / "tests" / "test_adder.py").write_text(TESTS)
    (folder / "hidden" / "test_adder_hidden.py").write_text(HIDDEN)
    return root / "exercises"


def kind_of(number: int) -> str:
    if number == 13:
        return "hang"  # one is enough: it costs a wall-clock limit per test
    return ORDER[number % len(ORDER)]


def make_class(root: Path, students: int) -> Path:
    """One folder per student: s00, s01, ...; 'missing' students hand in nothing."""
    folder = root / "class"
    for number in range(students):
        student = folder / f"s{number:02d}"
        student.mkdir(parents=True)
        kind = kind_of(number)
        if kind != "missing":
            (student / "adder.py").write_text(KINDS[kind])
        else:
            (student / "notes.txt").write_text("forgot to upload\n")
    return folder


def cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "minireactor.grader", "grade", *map(str, args),
            "--no-progress"]


def grade_whole_class(workspace: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli("--class", workspace / "class", "--hidden", "--jobs", "2", "--timeout", "5",
            "--exercises", workspace / "exercises", "--out", out, *extra),
        capture_output=True, text=True, timeout=240)


def comparable(out: Path) -> list[tuple[object, ...]]:
    """The gradebook's verdicts, without timings or which run graded them."""
    with Gradebook(out / "gradebook.sqlite") as book:
        return sorted(r.comparable() for r in book.rows())


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


@pytest.mark.timeout(600)
def test_a_class_of_30_graded_resumed_and_on_a_dask_cluster(tmp_path: Path) -> None:
    """One class, graded four ways that must agree (one test: the reference run is the cost).

    1. in one go: the CSV and the feedback say what each student earned;
    2. interrupted half-way (Ctrl-C) and resumed: nothing graded twice, same CSV;
    3. `--regrade` one student: only that one is graded;
    4. on a dask LocalCluster of two worker processes: same gradebook, same CSV.
    """
    make_exercises(tmp_path)
    make_class(tmp_path, 30)
    reference = tmp_path / "reference"
    done = grade_whole_class(tmp_path, reference)
    assert done.returncode == 0, done.stderr
    assert "30 students, 30 submissions: graded 30" in done.stdout
    check_csv(reference)
    check_feedback(reference)

    resumed = tmp_path / "interrupted"
    check_interrupt_and_resume(tmp_path, resumed, reference)
    again = grade_whole_class(tmp_path, resumed, "--regrade", "s03")
    assert "graded 1 " in again.stdout and "unchanged 29" in again.stdout

    distributed = pytest.importorskip("distributed")
    on_cluster = tmp_path / "cluster"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        done = grade_whole_class(tmp_path, on_cluster, "--scheduler", cluster.scheduler_address)
    assert done.returncode == 0, done.stderr
    assert (on_cluster / "grades.csv").read_text() == (reference / "grades.csv").read_text()
    assert comparable(on_cluster) == comparable(reference)


def check_csv(out: Path) -> None:
    rows = read_csv(out / "grades.csv")
    assert list(rows[0]) == ["student", "01-adder", "total"]
    assert [r["student"] for r in rows] == [f"s{n:02d}" for n in range(30)]
    expected = {"solution": "6", "starter": "0", "half": "3", "os_exit": "0", "missing": "0",
                "segfault": "0", "fake_pass": "0", "hang": "3"}
    for number, row in enumerate(rows):
        assert row["01-adder"] == row["total"] == expected[kind_of(number)], (number, row)


def check_feedback(out: Path) -> None:
    feedback = out / "feedback"
    assert len(list(feedback.glob("*.md"))) == 30
    half = (feedback / "s02.md").read_text()
    assert "Total: **3/6**" in half
    assert "| `test_adder.py::test_add` | 2/2 | passed |" in half
    assert "| `test_adder.py::test_mean_of_long_list` | 0/3 | failed |" in half
    assert "| `test_adder_hidden.py::test_add_negative` (hidden) | 1/1 | passed |" in half
    long_message = "mean(" + repr(list(range(1, 60))) + ")"  # far over 100 characters
    assert long_message in half
    assert "nothing submitted" in (feedback / "s05.md").read_text()
    assert "timed out" in (feedback / "s13.md").read_text()
    summary = (out / "summary.md").read_text()
    assert "| 01-adder | 30 |" in summary
    assert (out / "histograms.png").read_bytes()[:4] == b"\x89PNG"


def check_interrupt_and_resume(workspace: Path, out: Path, reference: Path) -> None:
    book = out / "gradebook.sqlite"
    command = cli("--class", workspace / "class", "--hidden", "--jobs", "2", "--timeout", "5",
                  "--exercises", workspace / "exercises", "--out", out)
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline and first.poll() is None:
        if book.exists() and _count(book) >= 15:
            first.send_signal(signal.SIGINT)  # Ctrl-C half-way
            break
        time.sleep(0.1)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    assert "run the same command again" in err
    with Gradebook(book) as gradebook:
        before = {(r.student, r.exercise): r.run for r in gradebook.rows()}
    assert 15 <= len(before) < 30 and set(before.values()) == {1}

    second = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert second.returncode == 0, second.stderr
    assert f"graded {30 - len(before)} " in second.stdout
    assert f"unchanged {len(before)}" in second.stdout
    with Gradebook(book) as gradebook:
        after = gradebook.rows()
    assert len(after) == 30
    for row in after:  # nothing finished in the first run was graded again
        assert row.run == (1 if (row.student, row.exercise) in before else 2)
    assert (out / "grades.csv").read_text() == (reference / "grades.csv").read_text()
    assert comparable(out) == comparable(reference)


def _count(book: Path) -> int:
    try:
        with sqlite3.connect(book) as db:
            return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    except sqlite3.Error:  # created but no table yet
        return 0


def test_a_changed_file_is_regraded_alone(tmp_path: Path) -> None:
    exercises = find_exercises(make_exercises(tmp_path))
    folder = tmp_path / "class"
    for name, kind in (("ann", "solution"), ("ben", "starter")):
        (folder / name).mkdir(parents=True)
        (folder / name / "adder.py").write_text(KINDS[kind])
    with Gradebook(tmp_path / "book.sqlite") as book:
        first = grade_class(folder, exercises, book, jobs=2, progress=False)
        assert (first.graded, first.reused) == (2, 0)
        (folder / "ben" / "adder.py").write_text(SOLUTION)  # a late resubmission
        second = grade_class(folder, exercises, book, jobs=2, progress=False)
        assert (second.graded, second.reused) == (1, 1)
        assert [r.score for r in book.rows()] == [5, 5]


def test_lms_and_gradescope_export_layouts(tmp_path: Path) -> None:
    exercises = find_exercises(make_exercises(tmp_path))
    folders = tmp_path / "folders.zip"  # a wrapper folder, then one folder per student
    with zipfile.ZipFile(folders, "w") as zf:
        zf.writestr("submissions/Jane Doe_1234_assignsubmission_file_/adder.py", SOLUTION)
        zf.writestr("submissions/s2/01-adder/adder.py", STARTER)
        zf.writestr("submissions/s3/readme.txt", "nothing")
    students = find_students(folders, exercises)
    assert [s.id for s in students] == ["Jane Doe_1234", "s2", "s3"]
    assert students[0].files == {"adder.py": SOLUTION.encode()}
    assert students[2].files == {}

    named = tmp_path / "named.zip"  # files named after the student (Canvas, generic)
    with zipfile.ZipFile(named, "w") as zf:
        zf.writestr("doejane_LATE_4242_777_adder-1.py", SOLUTION)
        zf.writestr("bob_adder.py", STARTER)
        zf.writestr("unrelated.txt", "x")
    assert [s.id for s in find_students(named, exercises)] == ["bob", "doejane_4242"]

    unsafe = tmp_path / "unsafe.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../escape/adder.py", SOLUTION)
    unsafe.write_bytes(buffer.getvalue())
    with pytest.raises(ExerciseError, match="unsafe member"):
        find_students(unsafe, exercises)


def test_unreachable_scheduler_is_a_clear_error() -> None:
    pytest.importorskip("distributed")
    from minireactor.grader.cluster import ClusterError, run_on_cluster

    with pytest.raises(ClusterError, match=r"no dask scheduler answers at tcp://127.0.0.1:9"):
        run_on_cluster("tcp://127.0.0.1:9", [], lambda graded: None, timeout=1)


PEEK = '''\
import glob
import tempfile

found = glob.glob(tempfile.gettempdir() + "/minireactor-unit-*/exercise/*/hidden/*.py")
found += glob.glob("/tmp/minireactor-unit-*/exercise/*/hidden/*.py")
leaked = []
for name in found:
    try:
        with open(name) as hidden:
            leaked.append(hidden.read())
    except OSError:
        pass
print("FOUND", len(found), "LEAKED", len(leaked))
''' + SOLUTION


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="only root can hide files from the graded code (it runs as nobody)")
def test_graded_code_cannot_read_the_hidden_tests_of_its_batch(tmp_path: Path) -> None:
    exercises = find_exercises(make_exercises(tmp_path))
    (tmp_path / "class" / "eve").mkdir(parents=True)
    (tmp_path / "class" / "eve" / "adder.py").write_text(PEEK)
    with Gradebook(tmp_path / "book.sqlite") as book:
        grade_class(tmp_path / "class", exercises, book, hidden=True, jobs=1, progress=False)
        (row,) = book.rows()
    outputs = "\n".join(t["output"] for t in row.tests)
    assert "LEAKED 0" in outputs, outputs

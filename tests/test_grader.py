"""The grader, proven on the real exercises: solutions full, starters zero,
broken solutions lose exactly their tests, hostile code is contained.

Every grading run here uses the real sandbox (a process per test). The
hostile fixtures are the timers solution with one method sabotaged, so each
must lose exactly the tests that call that method and keep the rest.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from minireactor.grader.exercises import find_exercises, select
from minireactor.grader.report import GradeReport
from minireactor.grader.runner import PACKAGE_ROOT, Source, grade

EXERCISES = find_exercises(PACKAGE_ROOT / "exercises")
FIXTURES = Path(__file__).with_name("grader_fixtures")
JOBS = 2


def expected_failures(fixture: Path, header: str = "expect-fail") -> set[str] | None:
    """The `# expect-fail: a b` header of a fixture (None for '*': every test).

    `header="hidden-fail"` reads the hidden tests a fixture must fail (an
    empty set when the fixture has no such line).
    """
    match = re.search(rf"^# {header}:(.*)$", fixture.read_text(), re.MULTILINE)
    if match is None and header == "hidden-fail":
        return set()
    assert match, f"{fixture} has no '# {header}:' line"
    names = match.group(1).split()
    return None if names == ["*"] else set(names)


def failed(report: GradeReport) -> set[str]:
    return {t.name.split("::")[1] for e in report.exercises for t in e.tests if not t.passed}


def explain(report: GradeReport) -> str:
    return str(report)


@pytest.mark.timeout(240)
def test_every_reference_solution_scores_full_marks() -> None:
    report = grade(EXERCISES, Source(solution=True), hidden=True, jobs=JOBS)
    for exercise in report.exercises:
        assert exercise.tests, f"{exercise.slug} has no tests"
        assert exercise.score == exercise.max_score, explain(report)


@pytest.mark.timeout(240)
def test_untouched_starters_score_zero_in_bounded_time() -> None:
    started = time.monotonic()
    report = grade(EXERCISES, hidden=True, jobs=JOBS)
    assert report.score == 0, explain(report)
    assert report.max_score > 0
    # Starters fail fast (NotImplementedError, or the race in 08): nothing waits for a timeout.
    assert time.monotonic() - started < 120


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "fixture", sorted(FIXTURES.glob("broken/*/*.py")), ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_broken_solution_loses_exactly_its_tests(fixture: Path) -> None:
    exercises = select(EXERCISES, [fixture.parent.name])
    hidden = expected_failures(fixture, "hidden-fail")  # a bug only a hidden test catches
    report = grade(exercises, Source(submission=fixture), hidden=bool(hidden), jobs=JOBS)
    visible = expected_failures(fixture)
    assert visible is not None and hidden is not None
    assert failed(report) == visible | hidden, explain(report)
    lost = sum(t.max_score for t in report.exercises[0].tests if not t.passed)
    assert report.score == report.max_score - lost


def hostile_cases() -> list[Path]:
    return sorted(FIXTURES.glob("hostile/*.py"))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fixture", hostile_cases(), ids=lambda p: p.stem)
def test_hostile_code_costs_only_its_own_tests(fixture: Path, tmp_path: Path) -> None:
    exercises = select(EXERCISES, ["timers"])
    results = tmp_path / "results.json"
    report = grade(exercises, Source(submission=fixture), jobs=JOBS, wall=3)
    report.write_json(results)
    expected = expected_failures(fixture)
    all_tests = {t.name.split("::")[1] for t in report.exercises[0].tests}
    assert failed(report) == (all_tests if expected is None else expected), explain(report)
    document = json.loads(results.read_text())
    assert document["score"] == report.score
    assert document["score"] == sum(t["score"] for t in document["tests"])
    assert not _stray_processes(), "a test left processes running"


def _stray_processes() -> list[int]:
    """Test processes that outlived their run: orphans (of init, or of us as subreaper).

    They carry the run's HOME in their environment (a folder named
    minireactor-grade-*, or /grade/work inside bubblewrap). Children of other
    pytest workers, still grading, are not orphans and are left alone. The
    attacks in test_grader_sandbox.py name their processes with a nonce
    instead, which a process cannot lose by clearing its environment.
    """
    stray = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                environ = Path(f"/proc/{name}/environ").read_bytes()
                fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[-1].split()
            except OSError:
                continue
            state, ppid = fields[0], int(fields[1])
            marked = b"minireactor-grade-" in environ or b"HOME=/grade/work" in environ
            if marked and state != "Z" and ppid in (1, os.getpid()):
                stray.append(int(name))
    return stray


def test_hostile_output_is_shown_but_never_scored() -> None:
    exercises = select(EXERCISES, ["timers"])
    report = grade(exercises, Source(submission=FIXTURES / "hostile" / "cheat_output.py"),
                   jobs=JOBS)
    first = report.exercises[0].tests[0]
    assert "7 passed" in first.output  # shown to the student...
    assert report.score == 0  # ...and worth nothing


def test_results_json_has_gradescope_fields(tmp_path: Path) -> None:
    exercises = select(EXERCISES, ["03-timers"])
    report = grade(exercises, Source(solution=True), hidden=True, jobs=JOBS)
    path = tmp_path / "out" / "results.json"
    report.write_json(path)
    document = json.loads(path.read_text())
    fields = {"score", "max_score", "execution_time", "output", "visibility", "tests"}
    assert fields <= set(document)
    assert document["score"] == document["max_score"] == 13
    for test in document["tests"]:
        assert {"name", "score", "max_score", "output", "visibility"} <= set(test)
    hidden = [t["visibility"] for t in document["tests"] if "hidden" in t["name"]]
    assert hidden and set(hidden) == {"after_published"}

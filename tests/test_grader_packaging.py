"""The grader's packaging and entry points: release, Gradescope, check(), the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minireactor.grader import check
from minireactor.grader import report as grader_report
from minireactor.grader.cli import main
from minireactor.grader.exercises import ExerciseError, find_exercises, select
from minireactor.grader.report import ExerciseResult, GradeReport, render_table
from minireactor.grader.runner import PACKAGE_ROOT
from minireactor.grader.sandbox import _parse_report

EXERCISES_DIR = PACKAGE_ROOT / "exercises"
EXERCISES = find_exercises(EXERCISES_DIR)


def test_there_are_ten_exercises_with_visible_points() -> None:
    assert len(EXERCISES) >= 10
    for exercise in EXERCISES:
        assert exercise.starter_path.is_file() and exercise.solution_path.is_file()
        assert (exercise.path / "README.md").is_file()
        assert sum(t.points for t in exercise.tests()) == 10, exercise.slug


def test_names_with_or_without_number() -> None:
    assert select(EXERCISES, ["select-echo"]) == select(EXERCISES, ["01-select-echo"])
    with pytest.raises(ExerciseError, match="choose from"):
        select(EXERCISES, ["no-such-thing"])


def test_report_parsing_trusts_only_token_and_pid() -> None:
    token = "ab" * 16
    good = b"MRG1 " + token.encode() + b" 42 PASS 0\n"
    assert _parse_report(good, token, 42) == (True, "")
    assert _parse_report(good, token, 43) is None  # another process (a fork) said it
    assert _parse_report(good.replace(b"ab", b"cd"), token, 42) is None  # wrong token
    assert _parse_report(b"garbage MRG1 " + token.encode() + b" 42 FAIL 4\nwhy!", token, 42) == (
        False, "why!")


def test_table_wraps_long_messages_and_json_keeps_them_whole() -> None:
    message = "expected (200, b'flaky 1', None), got (503, b'" + "x" * 250 + "')"
    test = grader_report.TestResult("t::a", 2, False, message)
    result = ExerciseResult("07-async-fetcher", "t", [test])
    table = render_table([result], width=60)
    reason = [line.strip() for line in table.splitlines() if line.startswith(" " * 14)]
    assert all(len(line) <= 60 for line in reason)
    assert "".join(reason) == message  # every character is there, in order
    report = GradeReport([result])
    assert report.to_gradescope()["tests"][0]["output"] == message


@pytest.mark.timeout(60)
def test_check_shows_a_score(tmp_path: Path) -> None:
    exercise = select(EXERCISES, ["timers"])[0]
    result = check("timers", exercise.solution_path, exercises_dir=EXERCISES_DIR)
    assert result.score == result.max_score == 10
    assert "&#10004;" in result._repr_html_()
    assert "total 10/10" in str(result)
    starter = check("03-timers", exercises_dir=EXERCISES_DIR)
    assert starter.score == 0 and "NotImplementedError" in str(starter)


def test_cli_rejects_unknown_exercises(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", "nope", "--exercises", str(EXERCISES_DIR)]) == 2
    assert "unknown exercise" in capsys.readouterr().err


@pytest.mark.timeout(60)
def test_cli_grades_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    status = main(["grade", "03-timers", "--solution", "--json", str(out), "--quiet",
                   "--exercises", str(EXERCISES_DIR)])
    assert status == 0
    assert json.loads(out.read_text())["score"] == 10

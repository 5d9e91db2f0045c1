"""The Gradescope autograder, run the way Gradescope runs it.

Gradescope unzips the upload into /autograder/source, runs setup.sh from
there, copies run_autograder to /autograder, puts the student's files in
/autograder/submission and reads /autograder/results/results.json. Here the
same happens under a fake root (AUTOGRADER_ROOT), with `unzip` and a fresh
virtual environment made by setup.sh itself.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from minireactor.grader.exercises import Exercise, find_exercises, select
from minireactor.grader.gradescope import write_autograder
from minireactor.grader.runner import PACKAGE_ROOT

pytestmark = pytest.mark.timeout(300)

EXERCISES = select(find_exercises(PACKAGE_ROOT / "exercises"), ["timers", "deferred-chains"])
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
# Claims to pass, forges results.json where Gradescope reads it, then leaves.
HOSTILE = """\
import json, sys
print("PASSED " * 20)
try:
    with open({results!r}, "w") as forged:
        json.dump({{"score": 1000, "max_score": 25, "tests": []}}, forged)
except OSError:
    pass
sys.exit(0)
"""


def build_image(tmp_path: Path) -> Path:
    """A fake /autograder after Gradescope's image build (setup.sh has run)."""
    build = tmp_path / "build"
    archive = write_autograder(build, EXERCISES)
    root = tmp_path / "gradescope" / "autograder"
    (root / "source").mkdir(parents=True)
    subprocess.run(["unzip", "-q", str(archive), "-d", str(root / "source")], check=True)
    top = {p.name for p in (root / "source").iterdir()}
    assert {"setup.sh", "run_autograder", "wheels", "exercises"} <= top, top
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root),
           "MINIREACTOR_SETUP_PYTHON": getattr(sys, "_base_executable", sys.executable)}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(["bash", "./setup.sh"], cwd=root / "source", env=env, check=True,
                   timeout=240, capture_output=True)
    assert (root / "venv" / "bin" / "python").is_file()
    return root


def run_autograder(root: Path, files: dict[str, str]) -> dict[str, Any]:
    """Put `files` in submission/ and run /autograder/run_autograder as Gradescope does."""
    submission = root / "submission"
    results = root / "results"
    for folder in (submission, results):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    for name, text in files.items():
        (submission / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["AUTOGRADER_ROOT"] = str(root)
    subprocess.run([str(root / "run_autograder")], cwd=root, env=env, check=False,
                   timeout=200, capture_output=True)
    document: dict[str, Any] = json.loads((results / "results.json").read_text())
    validate(document)
    return document


def validate(document: dict[str, Any]) -> None:
    """The fields and types of Gradescope's results.json specification."""
    assert isinstance(document["score"], int | float)
    assert isinstance(document["max_score"], int | float)
    assert isinstance(document["execution_time"], int | float)
    assert isinstance(document["output"], str)
    assert document["visibility"] in VISIBILITY
    assert document["stdout_visibility"] in VISIBILITY
    assert document["tests"]
    for test in document["tests"]:
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["visibility"] in VISIBILITY
        assert test["status"] in ("passed", "failed")
    total = sum(t["score"] for t in document["tests"])
    assert document["score"] == total


def files_of(kind: str, exercises: list[Exercise], root: Path | None = None) -> dict[str, str]:
    if kind == "solution":
        return {e.starter: e.solution_path.read_text() for e in exercises}
    if kind == "starter":
        return {e.starter: e.starter_path.read_text() for e in exercises}
    hostile = HOSTILE.format(results=str(root / "results" / "results.json"))
    return {e.starter: hostile + e.solution_path.read_text() for e in exercises}


def test_the_autograder_as_gradescope_runs_it(tmp_path: Path) -> None:
    """One image build, then every kind of submission (one test: the build is the cost)."""
    autograder = build_image(tmp_path)
    check_hidden_tests_are_readable_by_root_only(autograder)

    results = run_autograder(autograder, files_of("solution", EXERCISES))
    assert results["score"] == results["max_score"] == 25  # 13 + 12, hidden tests included
    hidden = [t for t in results["tests"] if "_hidden.py" in t["name"]]
    visible = [t for t in results["tests"] if "_hidden.py" not in t["name"]]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)
    assert visible and all(t["visibility"] == "visible" for t in visible)
    # The overall score includes hidden points: it waits for publishing too, and
    # the output shown at once speaks of the visible tests only.
    assert results["visibility"] == "after_published"
    assert results["stdout_visibility"] == "hidden"
    assert "03-timers: 10/10 on the visible tests" in results["output"]
    assert "13" not in results["output"] and "25" not in results["output"]

    starters = run_autograder(autograder, files_of("starter", EXERCISES))
    assert starters["score"] == 0 and starters["max_score"] == 25

    hostile = run_autograder(autograder, files_of("hostile", EXERCISES, autograder))
    assert hostile["score"] == 0 and hostile["max_score"] == 25

    one_missing = run_autograder(autograder, files_of("solution", EXERCISES[:1]))
    assert one_missing["score"] == 13 and one_missing["max_score"] == 25
    assert "no file named chains.py" in one_missing["output"]


def check_hidden_tests_are_readable_by_root_only(autograder: Path) -> None:
    for exercise in EXERCISES:
        hidden = autograder / "source" / "exercises" / exercise.slug / "hidden"
        for path in (hidden, *hidden.iterdir()):
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
        visible = autograder / "source" / "exercises" / exercise.slug / "tests"
        assert stat.S_IMODE(visible.stat().st_mode) & 0o005 == 0o005  # the sandbox user reads
        assert not (autograder / "source" / "exercises" / exercise.slug / "solution").exists()

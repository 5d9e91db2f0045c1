"""`minireactor release`: from the committed tree only, checked, and standing alone.

Each test works on a throw-away git repository holding this project's
package, notebooks and one or two exercises as they are now, committed, so
it can edit and commit freely.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from minireactor.grader.cli import main
from minireactor.grader.edition import EditionError, verify_edition
from minireactor.grader.release import ReleaseError, build_release
from minireactor.grader.runner import PACKAGE_ROOT

pytestmark = pytest.mark.timeout(300)

SOLUTION = PACKAGE_ROOT / "exercises" / "03-timers" / "solution" / "timers.py"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example",
                    *args], check=True, capture_output=True)


def make_repo(root: Path, exercises: tuple[str, ...], notebooks: bool) -> Path:
    """A committed copy of the project's tracked files (as they are in the working tree)."""
    repo = root / "course"
    paths = ["minireactor", "docs", "pyproject.toml", "README.md",
             *(f"exercises/{e}" for e in exercises), "exercises/README.md"]
    paths += ["notebooks"] if notebooks else []
    listed = subprocess.run(["git", "-C", str(PACKAGE_ROOT), "ls-files", "--", *paths],
                            capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, listed):
        source = PACKAGE_ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "course")
    return repo


def test_a_starter_that_differs_from_its_commit_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, ("03-timers",), notebooks=False)
    starter = repo / "exercises" / "03-timers" / "timers.py"
    starter.write_text(SOLUTION.read_text())  # solved in place, not committed
    with pytest.raises(ReleaseError) as error:
        build_release(repo / "exercises", tmp_path / "out")
    assert "differ from their committed version" in str(error.value)
    assert "exercises/03-timers/timers.py" in str(error.value)
    assert not (tmp_path / "out").exists()


def test_release_command_says_why_it_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, ("03-timers",), notebooks=False)
    (repo / "exercises" / "03-timers" / "README.md").write_text("changed\n")
    status = main(["release", "--out", str(tmp_path / "out"), "--exercises",
                   str(repo / "exercises")])
    assert status == 2
    err = capsys.readouterr().err
    assert "minireactor release: these files differ" in err
    assert "exercises/03-timers/README.md" in err


def test_a_committed_starter_that_scores_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, ("03-timers",), notebooks=False)
    starter = repo / "exercises" / "03-timers" / "timers.py"
    starter.write_text(SOLUTION.read_text() + "\n# my version\n")  # not a byte-for-byte copy
    git(repo, "commit", "-qam", "oops: solved the starter")
    with pytest.raises(ReleaseError, match=r"starter of 03-timers scores 10/10"):
        build_release(repo / "exercises", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-built is left behind


def test_verify_finds_copies_of_solutions_and_hidden_tests(tmp_path: Path) -> None:
    teacher = PACKAGE_ROOT / "exercises"
    edition = tmp_path / "edition"
    (edition / "exercises" / "03-timers").mkdir(parents=True)
    shutil.copy(SOLUTION, edition / "exercises" / "03-timers" / "timers.py")
    hidden = next((teacher / "03-timers" / "hidden").glob("test_*.py"))
    (edition / "notes").mkdir()
    shutil.copy(hidden, edition / "notes" / "renamed.py")
    with pytest.raises(EditionError) as error:
        verify_edition(edition, teacher, starters=False)
    assert "exercises/03-timers/timers.py is a copy of exercises/03-timers/solution/timers.py" \
        in str(error.value)
    assert "notes/renamed.py is a copy of exercises/03-timers/hidden/" in str(error.value)


def test_broken_notebook_links_are_found(tmp_path: Path) -> None:
    edition = tmp_path / "edition"
    (edition / "notebooks").mkdir(parents=True)
    cell = {"cell_type": "markdown", "source": ["See [next](99-nowhere.ipynb) and ",
                                                "`minireactor/nowhere.py`."]}
    (edition / "notebooks" / "00.ipynb").write_text(json.dumps({"cells": [cell]}))
    with pytest.raises(EditionError) as error:
        verify_edition(edition, PACKAGE_ROOT / "exercises", starters=False)
    assert "links to 99-nowhere.ipynb" in str(error.value)
    assert "names minireactor/nowhere.py" in str(error.value)


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("release")
    repo = make_repo(root, ("03-timers",), notebooks=True)
    out = root / "student-edition"
    build_release(repo / "exercises", out)
    return out


def test_the_edition_holds_what_it_needs_and_nothing_more(edition: Path) -> None:
    assert {p.name for p in edition.iterdir()} == {
        "README.md", "dev.py", "wheels", "minireactor", "docs", "notebooks", "exercises"}
    readme = (edition / "README.md").read_text()
    assert "python3 dev.py install" in readme and "python3 dev.py workbook" in readme
    assert len(list((edition / "wheels").glob("minireactor-*.whl"))) == 1
    assert (edition / "notebooks" / "workbook.py").is_file()
    index = (edition / "exercises" / "README.md").read_text()
    assert "For instructors" not in index and "--gradescope" not in index
    names = {p.name for p in edition.rglob("*")}
    assert "solution" not in names and "hidden" not in names
    assert not list(edition.rglob("conftest.py"))[1:] or all(
        "tests" in p.parts for p in edition.rglob("conftest.py"))


@pytest.mark.timeout(240)
def test_the_edition_stands_alone_in_a_fresh_venv(edition: Path, tmp_path: Path) -> None:
    """Install the edition's wheel into a new venv; run notebook 00 and check() there.

    Third-party libraries (Jupyter, matplotlib) come from this test's own
    environment through a .pth file, to stay offline and fast; minireactor
    comes only from the edition's wheel (checked below).
    """
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    (wheel,) = (edition / "wheels").glob("minireactor-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-index", "--no-deps", "--disable-pip-version-check", str(wheel)],
                   check=True, timeout=120)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], capture_output=True, text=True, check=True).stdout
    Path(site.strip(), "third_party.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["MINIREACTOR_QUICK"] = "1"
    notebooks = edition / "notebooks"

    where = subprocess.run([str(python), "-c", "import minireactor; print(minireactor.__file__)"],
                           cwd=notebooks, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(venv)), where.stdout  # the wheel, not this checkout

    executed = tmp_path / "executed.ipynb"
    run = subprocess.run([str(python), "-m", "nbconvert", "--to", "notebook", "--execute",
                          "--ExecutePreprocessor.timeout=120", "--output", str(executed),
                          str(notebooks / "00-start-here.ipynb")],
                         cwd=notebooks, env=env, capture_output=True, text=True, timeout=200)
    assert run.returncode == 0, run.stderr[-3000:]
    outputs = json.dumps(json.loads(executed.read_text())["cells"])
    assert "every backend echoed every byte correctly: True" in outputs
    assert "03-timers" in outputs and "NotImplementedError" in outputs  # check() ran there

    script = ("from minireactor.grader import check\n"
              "r = check('timers')\nprint(f'{r.score:g}/{r.max_score:g}')\n")
    starter = subprocess.run([str(python), "-c", script], cwd=notebooks, env=env,
                             capture_output=True, text=True, timeout=120, check=True)
    assert starter.stdout.strip() == "0/10"
    shutil.copy(SOLUTION, edition / "exercises" / "03-timers" / "timers.py")
    try:
        solved = subprocess.run([str(python), "-c", script], cwd=notebooks, env=env,
                                capture_output=True, text=True, timeout=120, check=True)
    finally:
        git_starter = PACKAGE_ROOT / "exercises" / "03-timers" / "timers.py"
        shutil.copy(git_starter, edition / "exercises" / "03-timers" / "timers.py")
    assert solved.stdout.strip() == "10/10"

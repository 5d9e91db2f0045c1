"""Find exercises on disk and read their tests and points, without running them.

An exercise is a folder `exercises/NN-name/` holding `exercise.toml` (title,
starter file name, limits), the starter, `tests/` (visible, graded), and
optionally `hidden/` and `solution/`. Points are declared on each test with
`@points(n)` (see `testing.py`); this module reads them from the source with
`ast`, so the score table is fixed before any student code runs and a test
cannot claim more than it is worth.

Read next: `runner.py`, which turns these into sandboxed jobs.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .sandbox import Limits

_SLUG = re.compile(r"^(\d\d)-([a-z0-9][a-z0-9-]*)$")


class ExerciseError(Exception):
    """An exercise folder or test file is malformed, or a name is unknown."""


@dataclass(frozen=True)
class TestCase:
    """One graded test function, as read from its source file."""

    exercise: str
    file: Path
    source: str
    function: str
    points: float
    hidden: bool
    timeout: float | None

    @property
    def name(self) -> str:
        """A stable display name: `test_file.py::test_function`."""
        return f"{self.file.name}::{self.function}"


@dataclass
class Exercise:
    """One exercise folder and its metadata."""

    slug: str  # "01-select-echo"
    path: Path
    title: str
    starter: str  # file name, e.g. "echo_server.py"
    limits: Limits = field(default_factory=Limits)

    @property
    def name(self) -> str:
        """The slug without its number: "select-echo"."""
        return self.slug.split("-", 1)[1]

    @property
    def starter_path(self) -> Path:
        return self.path / self.starter

    @property
    def solution_path(self) -> Path:
        return self.path / "solution" / self.starter

    def tests(self, hidden: bool = False) -> list[TestCase]:
        """The visible tests, then (if asked) the hidden ones, in file order."""
        folders = [("tests", False)] + ([("hidden", True)] if hidden else [])
        cases: list[TestCase] = []
        for folder, is_hidden in folders:
            for file in sorted((self.path / folder).glob("test_*.py")):
                cases.extend(read_tests(self.slug, file, is_hidden))
        return cases


def load_exercise(path: Path) -> Exercise:
    """Read `path/exercise.toml`.

    Raises:
        ExerciseError: the folder name or the metadata is malformed.
    """
    if not _SLUG.match(path.name):
        raise ExerciseError(f"{path}: exercise folders are named NN-name (e.g. 01-select-echo)")
    try:
        meta = tomllib.loads((path / "exercise.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ExerciseError(f"{path}/exercise.toml: {exc}") from exc
    raw = meta.get("limits", {})
    limits = Limits(
        wall=float(raw.get("wall", 10.0)), cpu=float(raw.get("cpu", 10.0)),
        memory_mb=int(raw.get("memory_mb", 1024)),
    )
    title = str(meta.get("title", path.name))
    return Exercise(path.name, path, title, str(meta["starter"]), limits)


def find_exercises(root: Path) -> list[Exercise]:
    """Every exercise under `root`, in number order."""
    if not root.is_dir():
        raise ExerciseError(f"no exercises folder at {root}; pass --exercises PATH")
    return [load_exercise(p) for p in sorted(root.iterdir())
            if p.is_dir() and (p / "exercise.toml").is_file()]


def select(exercises: list[Exercise], names: list[str]) -> list[Exercise]:
    """The exercises named `names` (as `select-echo` or `01-select-echo`); all if empty.

    Raises:
        ExerciseError: a name matches no exercise (the message lists them all).
    """
    if not names:
        return list(exercises)
    by_name = {e.slug: e for e in exercises} | {e.name: e for e in exercises}
    chosen = []
    for name in names:
        if name not in by_name:
            known = ", ".join(e.slug for e in exercises)
            raise ExerciseError(f"unknown exercise {name!r}; choose from: {known}")
        if by_name[name] not in chosen:
            chosen.append(by_name[name])
    return chosen


def read_tests(exercise: str, file: Path, hidden: bool) -> list[TestCase]:
    """The top-level `test_*` functions of one file with their declared points."""
    source = file.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, filename=str(file))
    except SyntaxError as exc:
        raise ExerciseError(f"{file}: {exc}") from exc
    cases = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            value, timeout = _declared_points(file, node)
            cases.append(TestCase(exercise, file, source, node.name, value, hidden, timeout))
    return cases


def _declared_points(file: Path, node: ast.FunctionDef) -> tuple[float, float | None]:
    """Read `@points(n, timeout=t)` from a test's decorators (1 point if absent)."""
    for decorator in node.decorator_list:
        if not isinstance(decorator, ast.Call):
            continue
        func = decorator.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if called != "points":
            continue
        try:
            value = float(ast.literal_eval(decorator.args[0]))
            keywords = {k.arg: ast.literal_eval(k.value) for k in decorator.keywords}
        except (ValueError, IndexError) as exc:
            raise ExerciseError(
                f"{file}:{node.lineno}: write points as literals, e.g. @points(2, timeout=5)"
            ) from exc
        timeout = keywords.get("timeout")
        return value, float(timeout) if timeout is not None else None
    return 1.0, None

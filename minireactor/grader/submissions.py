"""Find each student's files in a class's submissions, whatever the export layout.

`minireactor grade --class SUBMISSIONS` accepts:

- a folder with one folder per student (the folder's name is the student's
  id; Moodle's `Jane Doe_123456_assignsubmission_file_` suffix is dropped),
  the files inside flat or in per-exercise folders, as the student edition
  lays them out;
- a folder of files named after the student: `<student>_<starter>`,
  `<student>-<starter>`, or Canvas's `<name>_[LATE_]<user id>_<submission id>_<starter>`
  (student `<name>_<user id>`; Canvas's resubmission suffix `timers-1.py`
  is understood);
- a `.zip` of either (a Gradescope or LMS "download all submissions"),
  unpacked safely into a temporary folder first (no absolute paths, no `..`,
  bounded size).

A student without a file for an exercise is still listed: that exercise is
graded as missing (zero, with a note), and never stops the batch.

Read next: `batch.py`, which grades what this finds.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .exercises import Exercise, ExerciseError

MAX_ZIP_BYTES = 2 << 30  # refuse archives that unpack to more than 2 GiB
MAX_ZIP_FILES = 200_000
_MOODLE_SUFFIX = re.compile(r"_assignsubmission_\w*$")
_CANVAS = re.compile(r"^(?P<name>[A-Za-z0-9.]+)_(?:LATE_)?(?P<uid>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
_RESUBMITTED = re.compile(r"^(?P<stem>.+?)-\d+(?P<ext>\.py)$")


@dataclass
class Student:
    """One student's submitted files (their bytes), by the starter file name they stand for."""

    id: str
    files: dict[str, bytes] = field(default_factory=dict)


def find_students(submissions: Path, exercises: list[Exercise]) -> list[Student]:
    """Every student under `submissions` (a folder or a .zip), sorted by id.

    Raises:
        ExerciseError: the path does not exist, is an unsafe archive, or holds
            no student at all.
    """
    if not submissions.exists():
        raise ExerciseError(f"--class {submissions}: no such folder or zip file")
    if submissions.is_dir():
        return _read_folder(submissions, submissions, exercises)
    if not zipfile.is_zipfile(submissions):
        raise ExerciseError(f"--class {submissions}: expected a folder or a .zip file")
    with tempfile.TemporaryDirectory(prefix="minireactor-class-") as temp:
        _unpack(submissions, Path(temp))
        return _read_folder(Path(temp), submissions, exercises)


def _read_folder(root: Path, submissions: Path, exercises: list[Exercise]) -> list[Student]:
    root = _skip_wrappers(root)
    starters = {e.starter: e for e in exercises}
    students: dict[str, Student] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            continue
        if entry.is_dir():
            sid = _MOODLE_SUFFIX.sub("", entry.name)
            student = students.setdefault(sid, Student(sid))
            for starter, exercise in starters.items():
                found = _file_in_folder(entry, starter, exercise.slug)
                if found is not None:
                    student.files[starter] = found.read_bytes()
        elif entry.is_file():
            named = _owner_of(entry.name, starters)
            if named is not None:
                sid, starter = named
                students.setdefault(sid, Student(sid)).files[starter] = entry.read_bytes()
    if not students:
        raise ExerciseError(
            f"--class {submissions}: found no student (expected one folder per student, or "
            f"files named like <student>_{next(iter(starters), 'file.py')})")
    return [students[k] for k in sorted(students)]


def _file_in_folder(folder: Path, starter: str, slug: str) -> Path | None:
    """The student's `starter` file: flat first, then in the exercise's folder, then anywhere."""
    for candidate in (folder / starter, folder / slug / starter,
                      folder / "exercises" / slug / starter):
        if candidate.is_file():
            return candidate
    deeper = sorted(p for p in folder.rglob(starter) if p.is_file())
    return deeper[0] if deeper else None


def _owner_of(name: str, starters: dict[str, Exercise]) -> tuple[str, str] | None:
    """(student, starter) for a file named after its student, else None."""
    canvas = _CANVAS.match(name)
    if canvas is not None:
        file = _original_name(canvas["file"])
        if file in starters:
            return f"{canvas['name']}_{canvas['uid']}", file
    for starter in sorted(starters, key=len, reverse=True):
        for ending in (starter, _resubmitted(starter)):
            match = re.match(rf"^(?P<student>.+?)[_\- ]+{re.escape(ending)}$", name)
            if match is not None:
                return match["student"], starter
    return None


def _original_name(file: str) -> str:
    match = _RESUBMITTED.match(file)
    return match["stem"] + match["ext"] if match else file


def _resubmitted(starter: str) -> str:
    return starter[:-3] + "-1.py" if starter.endswith(".py") else starter


def _skip_wrappers(root: Path) -> Path:
    """Descend through folders that hold nothing but one folder (a zip's top level)."""
    for _ in range(3):
        entries = [e for e in root.iterdir() if not e.name.startswith(".")
                   and e.name != "__MACOSX"]
        if len(entries) == 1 and entries[0].is_dir() and any(
                e.is_dir() for e in entries[0].iterdir()):
            root = entries[0]
        else:
            break
    return root


def _unpack(archive: Path, target: Path) -> None:
    """Unpack `archive` into `target`, refusing unsafe members."""
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if len(members) > MAX_ZIP_FILES or sum(m.file_size for m in members) > MAX_ZIP_BYTES:
            raise ExerciseError(f"{archive}: too large to unpack (over {MAX_ZIP_FILES} files "
                                f"or {MAX_ZIP_BYTES >> 30} GiB)")
        for member in members:
            path = PurePosixPath(member.filename)
            if path.is_absolute() or ".." in path.parts or "\\" in member.filename:
                raise ExerciseError(f"{archive}: unsafe member {member.filename!r}; "
                                    "unpack it yourself and pass the folder")
        zf.extractall(target)

"""The harness behind the hostile corpus (tests/grader_fixtures/attacks/).

Builds a submission from a base and one attack, grades it with a given sandbox
policy while a TCP listener and planted files watch, and collects everything
the assertions need: which tests failed, whether any process the attack
started is still alive, what reached the listener, what the results file says.
Used by `test_grader_sandbox.py` (as root) and `grader_as_user.py` (as an
ordinary user, in a subprocess).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from minireactor.grader.exercises import Exercise, TestCase, find_exercises, select
from minireactor.grader.report import GradeReport
from minireactor.grader.runner import PACKAGE_ROOT, Source, grade
from minireactor.grader.sandbox import Policy

ATTACKS = Path(__file__).with_name("grader_fixtures") / "attacks"
TIMERS = select(find_exercises(PACKAGE_ROOT / "exercises"), ["timers"])[0]


@dataclass(frozen=True)
class Attack:
    """One attack file and its header."""

    path: Path
    base: str
    tests: tuple[str, ...]
    expect_fail: tuple[str, ...]  # ("*",) for all
    needs: tuple[str, ...]
    wall: float = 3.0  # the per-test wall-clock limit (seconds)

    @property
    def name(self) -> str:
        return self.path.stem

    def expected_failures(self) -> set[str]:
        names = {t.removeprefix("hidden:") for t in self.tests}
        return names if self.expect_fail == ("*",) else set(self.expect_fail)

    def submission(self, nonce: str, port: int) -> str:
        base = (TIMERS.solution_path if self.base == "solution" else ATTACKS / "_wrong_base.py")
        attack = self.path.read_text().replace("@NONCE@", nonce).replace("@PORT@", str(port))
        return base.read_text() + "\n\n# ---- the attack ----\n" + attack


def load(path: Path) -> Attack:
    header = dict(re.findall(r"^# ([a-z-]+):[ \t]*(.*)$", path.read_text(), re.MULTILINE))
    return Attack(path, header["base"], tuple(header["tests"].split()),
                  tuple(header.get("expect-fail", "").split()),
                  tuple(header.get("needs", "").split()),
                  float(header.get("wall", 3.0)))


def attacks() -> list[Attack]:
    return [load(p) for p in sorted(ATTACKS.glob("[a-z]*.py"))]


@dataclass
class OnlySome(Exercise):
    """The timers exercise, running only the tests an attack names."""

    chosen: tuple[str, ...] = ()

    def tests(self, hidden: bool = False) -> list[TestCase]:
        wanted = {t.removeprefix("hidden:") for t in self.chosen}
        return [c for c in super().tests(hidden=True) if c.function in wanted]


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection and byte."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):  # a reset still counts as a connection
                    self.received += conn.recv(65536)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@dataclass
class Outcome:
    """What one graded attack did, as the harness observed it."""

    report: GradeReport
    failed: set[str]
    ran: set[str]
    results_text: str
    stray: list[str]
    connections: int
    received: bytes
    tampered: list[str] = field(default_factory=list)

    def explain(self) -> str:
        return str(self.report)


def stray_processes(nonce: str) -> list[str]:
    """Live processes carrying `nonce` in their name or command line."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            comm = Path(f"/proc/{name}/comm").read_text().strip()
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if state != "Z" and (nonce[:14] in comm or nonce.encode() in cmdline):
            found.append(f"{name} {comm}")
    return found


def fingerprint(folders: list[Path]) -> dict[str, str]:
    """A hash of every file under `folders` (to prove no byte of them changed)."""
    prints = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                prints[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return prints


@contextmanager
def planted(tmp: Path) -> Iterator[dict[Path, bytes]]:
    """A results file and another student's submission, for attacks to aim at."""
    files = {
        tmp / "results" / "results.json": b'{"score": 1}\n',
        tmp / "student-b" / "timers.py": b"# another student's work\n",
    }
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    yield files


def run_attack(attack: Attack, tmp: Path, policy: Policy | None) -> Outcome:
    """Grade the attack against its base, watching everything it could touch."""
    nonce = secrets.token_hex(8)
    listener = Listener()
    guarded = [TIMERS.path, PACKAGE_ROOT / "minireactor" / "grader"]
    before = fingerprint(guarded)
    try:
        submission = tmp / "submission" / "timers.py"
        submission.parent.mkdir(parents=True, exist_ok=True)
        submission.write_text(attack.submission(nonce, listener.port))
        exercise = OnlySome(**{f.name: getattr(TIMERS, f.name)
                               for f in dataclasses.fields(TIMERS)}, chosen=attack.tests)
        with planted(tmp) as targets:
            report = grade([exercise], Source(submission=submission), hidden=True, jobs=2,
                           wall=attack.wall, policy=policy)
            tampered = [str(p) for p, content in targets.items() if p.read_bytes() != content]
            results = tmp / "results" / "results.json"
            report.write_json(results)
            stray = stray_processes(nonce)
            text = results.read_text()
    finally:
        listener.close()
    after = fingerprint(guarded)
    tampered += [path for path in set(before) | set(after) if before.get(path) != after.get(path)]
    tampered += [str(p) for p in _marks(tmp, nonce)]
    tests = report.exercises[0].tests
    return Outcome(report, {t.name.split("::")[1] for t in tests if not t.passed},
                   {t.name.split("::")[1] for t in tests}, text, stray,
                   listener.connections, listener.received, tampered)


def _marks(tmp: Path, nonce: str) -> list[Path]:
    """Files the attack managed to create outside its sandbox."""
    found = [*tmp.rglob(f"PWNED-{nonce}"), *Path("/tmp").glob(f"*{nonce}*"),
             *Path("/dev/shm").glob(f"*{nonce}*")]
    for folder in (TIMERS.path, PACKAGE_ROOT / "minireactor"):
        found += folder.rglob(f"PWNED-{nonce}")
    return found


def visible_text(results_json: str) -> str:
    """What a student sees in results.json: the top output and the visible tests' outputs."""
    document = json.loads(results_json)
    shown = [t["output"] for t in document["tests"] if "hidden" not in t["name"]]
    return "\n".join([document.get("output", ""), *shown])


def secrets_of_the_exercise(with_solution: bool) -> list[str]:
    """Lines of the hidden tests (and of the solution) no student-visible result may show."""
    lines = []
    paths = list(TIMERS.path.joinpath("hidden").glob("*.py"))
    for path in paths + ([TIMERS.solution_path] if with_solution else []):
        text = path.read_text()
        lines += [line.strip() for line in text.splitlines()
                  if len(line.strip()) > 30 and not line.strip().startswith(("def ", "@", "#"))]
    return lines

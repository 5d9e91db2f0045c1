"""Per-test memory and process caps with a Linux control group, when the grader may make one.

A resource limit (`RLIMIT_AS`, `RLIMIT_NPROC`) holds one process, or one user;
a test that forks three children holding 613 MiB each stays under a 1 GiB
`RLIMIT_AS` while using 1.8 GiB. A control group counts every process of the
test together: `memory` caps the sum (the kernel's OOM killer ends the test
when it is reached, /tmp pages included) and `pids` caps processes and
threads, so a fork bomb stops at the cap instead of filling the machine.

The grader makes one group per test under its own (cgroup v1 `memory` and
`pids` hierarchies, or a delegated v2 subtree), puts the test's first process
in it before it runs anything (`join_prefix`), and at the end kills whatever
is still inside and removes it. Without write access (an ordinary user on v1)
`Cgroups.find()` returns None and the child's own rlimits are the only caps.

Read next: `sweep.py` (finding a test's processes without namespaces).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")
_COUNTER = itertools.count()
# The shell runs as the test's first process: it moves itself into the
# groups (the files after it), then becomes the real command (after "--").
_JOIN = ('for f; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 126; shift; done; '
         'shift; exec "$@"')


@dataclass(frozen=True)
class TestGroup:
    """The control group(s) of one running test."""

    folders: tuple[Path, ...]

    def join_prefix(self) -> list[str]:
        """An argv prefix that enters these groups, then runs the rest of the argv."""
        procs = [str(folder / "cgroup.procs") for folder in self.folders]
        return ["/bin/sh", "-c", _JOIN, "sh", *procs, "--"]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for folder in self.folders:
            with contextlib.suppress(OSError):  # removed already
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
        return found

    def kill_all(self, deadline: float = 10.0) -> None:
        """SIGKILL everything inside until the groups are empty, then remove them.

        The pids cap bounds how many processes a fork bomb can have, so each
        round kills them all; rounds go on until a read finds none (or the
        deadline, after which a group that will not empty is left behind).
        """
        give_up = time.monotonic() + deadline
        while time.monotonic() < give_up:
            alive = self.pids()
            if not alive:
                break
            for pid in alive:
                with contextlib.suppress(ProcessLookupError):  # died since the read
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)  # let the kernel finish the exits before rereading
        for folder in self.folders:
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY while the last exits are accounted
                    if time.monotonic() > give_up:
                        break
                    time.sleep(0.005)

    def oom_kills(self) -> int:
        """How many of the test's processes the kernel killed for passing the memory cap.

        Read before `kill_all` removes the group (v1 `memory.oom_control`, v2
        `memory.events`; `failcnt` is not used: recent kernels leave it at 0).
        """
        for folder in self.folders:
            for name in ("memory.oom_control", "memory.events"):
                with contextlib.suppress(OSError):
                    for line in (folder / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill":
                            return int(value)
        return 0


@dataclass(frozen=True)
class Cgroups:
    """Where per-test groups are made: (memory parent, pids parent) or one v2 parent."""

    memory_parent: Path
    pids_parent: Path | None  # None on v2, where one folder holds both controllers

    @staticmethod
    def find() -> Cgroups | None:
        """Writable parents for the memory and pids controllers, or None."""
        own = _own_groups()
        v1_memory = _ROOT / "memory" / own.get("memory", "/").lstrip("/")
        v1_pids = _ROOT / "pids" / own.get("pids", "/").lstrip("/")
        if _writable(v1_memory) and _writable(v1_pids):
            found = Cgroups(v1_memory, v1_pids)
            found.remove_stale()
            return found
        v2 = _ROOT / own.get("", "/").lstrip("/")
        try:
            controllers = (v2 / "cgroup.subtree_control").read_text().split()
        except OSError:
            return None
        if {"memory", "pids"} <= set(controllers) and os.access(v2, os.W_OK):
            found = Cgroups(v2, None)
            found.remove_stale()
            return found
        return None

    def create(self, memory_mb: int, max_pids: int) -> TestGroup | None:
        """A fresh group capped at `memory_mb` MiB and `max_pids` tasks (None on failure)."""
        name = f"minireactor-grade-{os.getpid()}-{next(_COUNTER)}"
        limit = str(memory_mb << 20)
        made: list[Path] = []
        try:
            memory = self.memory_parent / name
            memory.mkdir()
            made.append(memory)
            if self.pids_parent is None:
                (memory / "memory.max").write_text(limit)
                (memory / "memory.swap.max").write_text("0")
                (memory / "pids.max").write_text(str(max_pids))
            else:
                (memory / "memory.limit_in_bytes").write_text(limit)
                with contextlib.suppress(OSError):  # no swap accounting: swap is not counted
                    (memory / "memory.memsw.limit_in_bytes").write_text(limit)
                pids = self.pids_parent / name
                pids.mkdir()
                made.append(pids)
                (pids / "pids.max").write_text(str(max_pids))
        except OSError:
            for folder in made:
                with contextlib.suppress(OSError):
                    folder.rmdir()
            return None
        return TestGroup(tuple(made))

    def remove_stale(self) -> None:
        """Remove empty groups of graders that were killed before they could."""
        for parent in (self.memory_parent, self.pids_parent):
            if parent is None:
                continue
            for folder in parent.glob("minireactor-grade-*-*"):
                if _stale(folder):
                    with contextlib.suppress(OSError):  # another grader got there first
                        folder.rmdir()


def _stale(folder: Path) -> bool:
    """Whether `folder` is an empty group left by a grader that is no longer running."""
    pid = folder.name.split("-")[2]
    if not pid.isdigit() or os.path.exists(f"/proc/{pid}"):
        return False
    try:
        return not (folder / "cgroup.procs").read_text().strip()
    except OSError:
        return False


def _own_groups() -> dict[str, str]:
    """This process's groups, by controller ("" for the v2 hierarchy)."""
    groups: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return groups
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            groups[controller] = path
    return groups


def _writable(folder: Path) -> bool:
    """Whether we may make groups in `folder` (a mounted v1 hierarchy's group)."""
    return (folder / "cgroup.procs").is_file() and os.access(folder, os.W_OK)

"""Find and kill every process a test started, without namespaces (the fallback).

Where bubblewrap is missing (macOS, a locked-down host) a test's processes
live among the machine's. Each test starts in its own session, so its
descendants share that session and process group unless they call
`setsid()`; those that do are still linked by their parent, and on Linux the
grader is a child subreaper, so orphans come to it rather than to init.

`sweep()` follows all three links from the test's first process: it stops
(SIGSTOP) every member it finds, so that none can fork or exit while the
tree is read, repeats the scan until one finds nobody new, then kills them
all. A 120-deep chain of shells goes in one pass, not one layer per round.
Nothing is recognised by an environment variable (a daemon can clear it).

Not isolated by this fallback: the network, the file system (only the user
drop protects files, as root), other users' processes. Read next: `sandbox.py`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    """One row of the process table."""

    pid: int
    ppid: int
    pgid: int
    sid: int
    zombie: bool
    start: int = 0
    """When it started, in clock ticks since boot (0: unknown, as from `ps`)."""


def process_table() -> list[Proc]:
    """Every process: from /proc on Linux, else from `ps` (macOS and BSDs)."""
    if os.path.isdir("/proc/self"):
        return _from_proc()
    return _from_ps()


def _from_proc() -> list[Proc]:
    table = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue  # exited while we listed
        # The command name is in parentheses and may hold spaces; the rest follows it.
        fields = stat.rsplit(")", 1)[-1].split()
        table.append(Proc(int(name), int(fields[1]), int(fields[2]), int(fields[3]),
                          fields[0] in ("Z", "X"), int(fields[19])))
    return table


def _from_ps() -> list[Proc]:
    try:
        out = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,pgid=,stat="],
                             capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    table = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].isdigit():
            pid, ppid, pgid = int(parts[0]), int(parts[1]), int(parts[2])
            # POSIX ps has no session column; the group stands in for it.
            table.append(Proc(pid, ppid, pgid, pgid, parts[3].startswith("Z")))
    return table


def family(
    root: int, table: list[Proc], orphans_of: int | None, exclude: set[int], born: int = 0
) -> set[int]:
    """The live processes linked to `root` in `table` (one pass of the closure).

    Links: parent is a member, or same process group or session as a member.
    With `orphans_of` (the grader's pid, as subreaper) a child of the grader
    that is not in `exclude` (its tests' first processes), not in the
    grader's own session and younger than `root` counts too: it is an
    orphan of some test. (Age matters: a program the grader's own process
    started earlier in a session of its own, such as a virtual display, is
    a child of the grader too, and no test's to kill. Ticks are 10 ms; a
    test's first process is a Python that needs longer than that to start
    before it can fork, so "younger" is strict.)
    """
    members = {root}
    groups = {root}
    own_sid = os.getsid(0)
    born = born or next((p.start for p in table if p.pid == root), 0)
    changed = True
    while changed:
        changed = False
        for proc in table:
            if proc.pid in members or proc.pid in exclude:
                continue
            linked = (proc.ppid in members or proc.pgid in groups or proc.sid in groups
                      or (proc.ppid == orphans_of and proc.sid != own_sid
                          and proc.start > born))
            if linked:
                members.add(proc.pid)
                groups.update((proc.pgid, proc.sid))
                changed = True
    live = {p.pid for p in table if not p.zombie}
    return (members & live) - exclude - {os.getpid()}


def start_ticks(pid: int) -> int:
    """When `pid` started, in clock ticks since boot; 0 when it cannot be known.

    Read it before the process is reaped (a zombie still has its row).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0  # gone, or no /proc (macOS): the age check is then left out
    return int(stat.rsplit(")", 1)[-1].split()[19])


def sweep(
    root: int, orphans_of: int | None, exclude: set[int], deadline: float = 10.0, born: int = 0
) -> int:
    """Stop, then kill, every process linked to `root`; returns how many were killed.

    Scans until one finds no live member (bounded by `deadline` seconds, not
    by a number of rounds). Zombies among the grader's children are reaped.
    `born` is `start_ticks(root)`, read while `root` still had a row: only
    orphans of the grader younger than the test are the test's.
    """
    killed: set[int] = set()
    born = born or start_ticks(root)
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        stopped: set[int] = set()
        while True:  # freeze: a stopped process cannot fork, so the tree stops growing
            found = family(root, process_table(), orphans_of, exclude, born) - stopped
            if not found:
                break
            for pid in found:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGSTOP)
            stopped |= found
        if not stopped:
            break
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed |= stopped
        _reap(orphans_of, exclude, born)
    _reap(orphans_of, exclude, born)
    return len(killed)


def _reap(parent: int | None, exclude: set[int], born: int) -> None:
    """Collect exited children handed to us as subreaper (never our tests' first processes).

    Only those born after the test (`born`): an older child belongs to
    whoever started it, which will want to collect it itself.
    """
    if parent is None:
        return
    for proc in process_table():
        if (proc.ppid == parent and proc.zombie and proc.pid not in exclude
                and proc.start > born):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, os.WNOHANG)

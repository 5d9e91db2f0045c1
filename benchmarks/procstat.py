"""CPU time of a running process tree, read from /proc (Linux only).

The echo benchmark's headline figure is the *server's* CPU time per request,
so this module has to count every bit of CPU the server spends:

- `/proc/<pid>/stat` fields 14-15 (utime, stime) are already summed over
  every thread of the process, including threads that have exited, so a
  thread-per-connection server is counted in full. (Summing
  `/proc/<pid>/task/*/stat` instead would miss threads that have ended.)
- fields 16-17 (cutime, cstime) hold the time of children that exited and
  were waited for;
- children still running are found by scanning /proc for their parent id
  and counted the same way, recursively.

Values are in clock ticks (usually 100 per second), so a window of a few
seconds is measured to well under 1 %. Read next: `echo.py`, which reads
these counters when the client opens and closes its measured window.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuTimes:
    """CPU seconds spent in user mode and in the kernel on the process's behalf."""

    user: float
    system: float

    @property
    def total(self) -> float:
        """User plus system seconds."""
        return self.user + self.system

    def __add__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(self.user + other.user, self.system + other.system)

    def __sub__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(self.user - other.user, self.system - other.system)


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (field 3 first)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) is in parentheses and may itself hold spaces
    # or parentheses, so split after the *last* closing one.
    return text[text.rindex(")") + 2 :].split()


def children_of(pid: int) -> list[int]:
    """The process ids whose parent is `pid` (found by scanning /proc)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])  # field 4: ppid
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            continue  # the process ended while we looked: nothing to count
        if parent == pid:
            found.append(int(entry.name))
    return found


def process_cpu(pid: int, include_children: bool = True) -> CpuTimes:
    """CPU time of `pid`: all its threads, its reaped children and its live descendants.

    Args:
        pid: the process to measure.
        include_children: also count children (reaped and still running).

    Raises:
        FileNotFoundError: `pid` does not exist (any more).
    """
    fields = _stat_fields(pid)
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])  # fields 14-17
    times = CpuTimes(utime / TICKS_PER_SECOND, stime / TICKS_PER_SECOND)
    if not include_children:
        return times
    times += CpuTimes(cutime / TICKS_PER_SECOND, cstime / TICKS_PER_SECOND)
    for child in children_of(pid):
        try:
            times += process_cpu(child)
        except FileNotFoundError:
            # It exited between the scan and the read; once its parent reaps
            # it, its time shows up in the parent's cutime/cstime instead.
            continue
    return times


@dataclass(frozen=True)
class CpuLoad:
    """Seconds one CPU has spent busy (any process, kernel work included) and stolen."""

    busy: float
    steal: float


def cpu_load(cpu: int) -> CpuLoad:
    """What /proc/stat says CPU `cpu` has done since boot.

    Two noise signals come from it. *Busy* time (user, nice, system, irq and
    softirq) minus the server's own CPU time is work that other processes did
    on the server's CPU during the window: pinning keeps our server on CPU 0
    but does not keep anyone else off it. *Steal* is time the hypervisor gave
    this vCPU's host core to another guest. Both should be near zero on a
    quiet machine; when they are not, req/s and latency suffer while CPU time
    per request stays roughly honest.
    """
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name == f"cpu{cpu}":
            ticks = [int(v) for v in values] + [0] * 8
            user, nice, system, _idle, _iowait, irq, softirq, steal = ticks[:8]
            busy = user + nice + system + irq + softirq
            return CpuLoad(busy / TICKS_PER_SECOND, steal / TICKS_PER_SECOND)
    raise ValueError(f"CPU {cpu} is not listed in /proc/stat")

# Grader fixture: a thread pool instead of a process pool.
# expect-fail: test_work_runs_in_several_other_processes
"""Exercise 09 - cpu-processes: reference solution.

Threads would not help here: `count_primes` holds the GIL the whole time.
Processes each have their own interpreter. The pool pickles a reference to
`count_primes` (a module-level function, so a worker can import it) and the
(lo, hi) arguments, and sends back small results; chunks are many and equal
so that a slow worker does not hold up the end.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field


def count_primes(lo: int, hi: int) -> tuple[int, int]:
    """Count the primes p with lo <= p < hi; return (count, pid of this process)."""
    count = 0
    for n in range(max(lo, 2), hi):
        if all(n % d for d in range(2, int(n**0.5) + 1)):
            count += 1
    return count, os.getpid()


@dataclass
class Report:
    """What `parallel_count` found and where the work ran."""

    total: int
    pids: set[int] = field(default_factory=set)  # the processes that ran count_primes


def split(limit: int, chunks: int) -> list[tuple[int, int]]:
    """Cut range(0, limit) into `chunks` contiguous (lo, hi) pieces, in order.

    The pieces cover every number exactly once; their sizes differ by at most one.
    """
    if chunks < 1:
        raise ValueError(f"chunks must be at least 1, got {chunks}")
    size, extra = divmod(limit, chunks)
    pieces = []
    lo = 0
    for i in range(chunks):
        hi = lo + size + (1 if i < extra else 0)
        pieces.append((lo, hi))
        lo = hi
    return pieces


def parallel_count(limit: int, workers: int, chunks: int = 16) -> Report:
    """Count the primes below `limit` with `workers` processes.

    Run `count_primes` on each piece of `split(limit, chunks)` in a pool of
    `workers` processes and add the counts up.
    """
    report = Report(total=0)
    pieces = split(limit, chunks)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for count, pid in pool.map(count_primes, *zip(*pieces, strict=True)):
            report.total += count
            report.pids.add(pid)
    return report

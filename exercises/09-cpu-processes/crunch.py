"""Exercise 09 - cpu-processes: spread CPU-bound work over several processes.

`count_primes` is given (slow on purpose: pure Python). Write `split` and
`parallel_count`. Read README.md first; check with `minireactor grade cpu-processes`.
"""

from __future__ import annotations

import os
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
    raise NotImplementedError("split(): return [(0, a), (a, b), ..., (y, limit)]")


def parallel_count(limit: int, workers: int, chunks: int = 16) -> Report:
    """Count the primes below `limit` with `workers` processes.

    Run `count_primes` on each piece of `split(limit, chunks)` in a pool of
    `workers` processes and add the counts up.
    """
    raise NotImplementedError(
        "parallel_count(): use concurrent.futures.ProcessPoolExecutor(max_workers=workers)"
    )

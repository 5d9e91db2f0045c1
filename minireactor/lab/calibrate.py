"""Calibration: CPU work sized from this machine's measured speed, not guessed.

The lab's CPU work is a pure-Python `fib(n)`, whose cost grows by about 1.6 times
per step of n and differs 3 times or more between a slow laptop and a fast
desktop. An experiment that hard-codes `fib(27)` shows its lesson on one
machine and contradicts it on the next. So the lab times `fib` once per
process (`calibrate()`, cached) and derives every CPU size from that:

* `heavy_n`: the heavy server request `/fib/N`, about `HEAVY_SECONDS`.
* `slow_n`: a CPU step that surely trips the slow-callback warning (the
  loop's `SLOW_CALLBACK` threshold, 0.1 s, asyncio's default too).
* `mixed_cpu(pages, waiting)`: the per-page CPU of the mixed fetch workload,
  so that its total CPU clearly exceeds the waiting (by `factor`).

`fib(n)` makes exactly 2*F(n+1) - 1 calls, so one timing of a small `fib`
predicts every larger one: `seconds(n)` scales by the ratio of call counts.

Read next: `workers.py` (the `fib` that is timed) and `handlers.py` (`/fib/N`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

from .handlers import MAX_FIB
from .procs import LabError
from .workers import fib

__all__ = ["HEAVY_SECONDS", "SLOW_CALLBACK", "Calibration", "calibrate", "fib_calls"]

HEAVY_SECONDS = 0.3
"""What the heavy server request (`/fib/heavy_n`) should cost: "a good fraction of a second"."""
SLOW_CALLBACK = 0.1
"""The slow-callback warning threshold (seconds) of minireactor in Jupyter and of asyncio."""
_MARGIN = 1.5
"""A CPU step meant to trip the warning is sized to this many times the threshold."""
BASE_N = 22
"""The `fib` that is timed: a few milliseconds, long enough to time, short enough to repeat."""
MAX_N = 40


def fib_calls(n: int) -> int:
    """How many calls `fib(n)` makes: 2*F(n+1) - 1 (1 for n < 2)."""
    a, b = 0, 1  # F(0), F(1)
    for _ in range(n + 1):
        a, b = b, a + b
    return 2 * a - 1


@dataclass(frozen=True)
class Calibration:
    """This machine's `fib` speed, and the CPU sizes the workbook's experiments use.

    Attributes:
        base_n: the `fib` that was timed.
        base_seconds: its best time over a few repeats (the least disturbed one).
    """

    base_n: int
    base_seconds: float

    def seconds(self, n: int) -> float:
        """Predicted seconds of `fib(n)` on this machine."""
        return self.base_seconds * fib_calls(n) / fib_calls(self.base_n)

    def n_for(self, seconds: float) -> int:
        """The smallest n whose `fib(n)` takes at least `seconds` (at most MAX_N)."""
        if seconds <= 0:
            return 0
        n = 2
        while n < MAX_N and self.seconds(n) < seconds:
            n += 1
        return n

    def n_near(self, seconds: float) -> int:
        """The n whose `fib(n)` takes closest to `seconds` (by ratio; at most MAX_N)."""
        n = self.n_for(seconds)
        if n > 2 and self.seconds(n) / seconds > seconds / self.seconds(n - 1):
            return n - 1
        return n

    @property
    def heavy_n(self) -> int:
        """N for the heavy server request `/fib/N`: the closest to HEAVY_SECONDS of CPU.

        At most the server's MAX_FIB (on a machine so fast that this is not enough,
        the heavy request is simply shorter than promised).
        """
        return min(self.n_near(HEAVY_SECONDS), MAX_FIB)

    @property
    def heavy_path(self) -> str:
        """The heavy request's path, "/fib/N"."""
        return f"/fib/{self.heavy_n}"

    @property
    def slow_n(self) -> int:
        """The smallest `fib` that surely trips a SLOW_CALLBACK warning (with a margin of 1.5)."""
        return self.n_for(SLOW_CALLBACK * _MARGIN)

    def mixed_cpu(self, pages: int, waiting: float, factor: float = 2.0, warn: bool = True) -> int:
        """The per-page CPU (`cpu=N`) for the mixed "waiting + computing" fetch workload.

        The smallest N whose total over `pages` pages is at least `factor` times
        `waiting` (the waiting workload's wall time, bounded by the slowest
        page's timeout), so the computing clearly dominates the waiting. With
        `warn`, N is also large enough that each page's CPU step trips the
        slow-callback warning in the event-loop strategies.

        Raises:
            LabError: pages < 1 or waiting < 0, or no `fib` up to MAX_N is enough.
        """
        if pages < 1 or waiting < 0:
            raise LabError(f"mixed_cpu needs pages >= 1 and waiting >= 0, got {pages}, {waiting}")
        n = self.n_for(factor * waiting / pages)
        if pages * self.seconds(n) < factor * waiting:
            raise LabError(
                f"even fib({MAX_N}) per page is less than {factor} x {waiting} s over "
                f"{pages} pages on this machine; use fewer pages or a shorter timeout"
            )
        return max(n, self.slow_n) if warn else n

    def describe(self) -> str:
        """One sentence for the prose: what was measured and what it implies."""
        return (
            f"on this machine fib({self.base_n}) takes {self.base_seconds * 1000:.1f} ms, so "
            f"fib({self.heavy_n}) takes about {self.seconds(self.heavy_n):.2f} s and "
            f"fib({self.slow_n}) about {self.seconds(self.slow_n):.2f} s "
            f"(beyond the {SLOW_CALLBACK} s slow-callback threshold)"
        )


@cache
def _measure(base_n: int, repeats: int) -> Calibration:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fib(base_n)
        best = min(best, time.perf_counter() - start)
    return Calibration(base_n, best)


def calibrate(refresh: bool = False) -> Calibration:
    """Time `fib` on this machine once per process; the cached result after that.

    Args:
        refresh: measure again (e.g. after the machine's load changed).
    """
    if refresh:
        _measure.cache_clear()
    return _measure(BASE_N, 5)

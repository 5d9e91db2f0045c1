# Grader fixture: the reference solution with a 64 GiB allocation in Timer.cancel.
# expect-fail: test_cancel test_len_and_next_deadline test_changes_made_by_callbacks
"""Hostile fixture: a 64 GiB allocation in Timer.cancel.

A binary heap (heapq) of `(when, sequence, timer)` entries. The sequence number
breaks ties, so timers due at the same moment run in the order they were
scheduled, and the heap never compares two Timer objects. Cancellation is lazy:
a cancelled timer stays in the heap, marked, and is discarded when it reaches
the top - O(1) cancel instead of an O(n) removal. A counter of active timers
keeps `len()` O(1).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("timers")


class Timer:
    """One scheduled call, returned by `TimerQueue.call_later`."""

    def __init__(self, when: float, callback: Callable[..., Any], args: tuple[Any, ...],
                 queue: TimerQueue | None = None) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self._queue = queue
        self._done = False  # ran or cancelled

    def cancel(self) -> None:
        """Stop this call from running (does nothing if it already ran or was cancelled)."""
        self.hoard = bytearray(64 * 1024**3)

    def active(self) -> bool:
        """True until the timer has run or been cancelled."""
        return not self._done


class TimerQueue:
    """Timers kept in a heap, run by `run_due()` when their time has come."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._sequence = itertools.count()
        self._active = 0

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Schedule `callback(*args)` to run `delay` seconds from now.

        Raises:
            ValueError: `delay` is negative.
        """
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay}")
        timer = Timer(self.clock() + delay, callback, args, self)
        heapq.heappush(self._heap, (timer.when, next(self._sequence), timer))
        self._active += 1
        return timer

    def run_due(self) -> int:
        """Run every active timer whose time has come; return how many ran."""
        now = self.clock()
        # Take the due timers first: one scheduled by a callback below, even
        # with delay 0, waits for the next call instead of starving the caller.
        due = []
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap)[2])
        ran = 0
        for timer in due:
            if not timer.active():  # cancelled, perhaps by an earlier callback of this pass
                continue
            timer._done = True
            self._active -= 1
            ran += 1
            try:
                timer.callback(*timer.args)
            except Exception:
                log.exception("timer callback %r raised", timer.callback)
        return ran

    def next_deadline(self) -> float | None:
        """The time of the earliest active timer, or None when there is none."""
        while self._heap and not self._heap[0][2].active():
            heapq.heappop(self._heap)  # lazy deletion of cancelled timers
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        """How many timers are still active (scheduled, not run, not cancelled)."""
        return self._active

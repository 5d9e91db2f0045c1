"""The loop's ready queue and timer heap: what `call_soon` and `call_at` fill.

asyncio's contract for these is precise, and code relies on it:

* `call_soon` from another thread is allowed when debug mode is off (the
  callback waits for the loop's next pass); only debug mode checks threads.
* Timers are scheduled on `loop.time()`: a test that replaces `loop.time`
  with a faster clock sees its timers fire.
* `call_soon` returns a `Handle`, `call_at` a `TimerHandle`: asyncio's own
  classes, so reprs and slow-callback warnings read `<Handle ...>`.

So the queue and the heap live here, in the loop, not in the reactor (whose
clock is `time.monotonic()` and whose `call_soon` belongs to its thread).
The reactor still does all the waiting and dispatches I/O; `loop.py`'s
`_run_once` says how one pass interleaves the two. Cancelled handles stay
queued and are skipped when their turn comes (cheaper than searching);
cancelled timers are dropped from the heap lazily, and the heap is rebuilt
when more than half of it is cancelled.

Read next: `fds.py` (readers and writers).
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import time
from asyncio.log import logger
from typing import Any

_COMPACT_AT = 100
"""Rebuild the heap only when it holds at least this many timers (and half are cancelled)."""


class Scheduler:
    """Ready handles and timers of one loop.

    Args:
        loop: the loop the handles belong to; read for `time()`,
            `slow_callback_duration` and, in debug mode, to record the
            running handle (`_current_handle`, which asyncio's exception
            handler reports).
    """

    def __init__(self, loop: Any) -> None:
        self._loop = loop
        self.ready: collections.deque[asyncio.Handle] = collections.deque()
        self._timers: list[tuple[float, int, asyncio.TimerHandle]] = []
        self._sequence = 0  # ties between equal times go first-scheduled-first
        self._cancelled = 0  # an upper bound: cancelled timers still in the heap
        self.debug = False
        self.resolution = time.get_clock_info("monotonic").resolution

    # -- timers ---------------------------------------------------------------

    def add_timer(self, timer: asyncio.TimerHandle) -> None:
        heapq.heappush(self._timers, (timer.when(), self._sequence, timer))
        self._sequence += 1

    def timer_cancelled(self) -> None:
        self._cancelled += 1
        if len(self._timers) >= _COMPACT_AT and self._cancelled * 2 > len(self._timers):
            self._timers = [entry for entry in self._timers if not entry[2].cancelled()]
            heapq.heapify(self._timers)
            self._cancelled = 0

    def mark(self) -> int:
        """A position in time: timers scheduled from now on have a later sequence."""
        return self._sequence

    def timeout(self, now: float) -> float | None:
        """Seconds until the next timer is due (0.0 if it is), or None without timers."""
        timers = self._timers
        while timers and timers[0][2].cancelled():
            heapq.heappop(timers)
            self._cancelled = max(0, self._cancelled - 1)
        return max(0.0, timers[0][0] - now) if timers else None

    def run_due_timers(self, now: float, scheduled_before: int) -> None:
        """Run the timers due by `now` that were scheduled before `scheduled_before` (a `mark()`).

        A timer scheduled during this pass waits for the next pass even when
        it is already due, behind the callbacks queued with it: asyncio's
        order (its loop samples the clock before running a pass's callbacks).
        """
        timers = self._timers
        deferred = []
        end = now + self.resolution
        while timers and timers[0][0] <= end:
            entry = heapq.heappop(timers)
            timer = entry[2]
            if timer.cancelled():
                self._cancelled = max(0, self._cancelled - 1)
            elif entry[1] >= scheduled_before:
                deferred.append(entry)
            else:
                self.run(timer)
        for entry in deferred:
            heapq.heappush(timers, entry)

    def clear(self) -> None:
        """Drop every queued callback and timer without running them (loop.close())."""
        self.ready.clear()
        self._timers.clear()
        self._cancelled = 0

    # -- running --------------------------------------------------------------

    # Discussion: in debug mode asyncio records where each handle was made,
    # which turns the running frames (these) into frame objects; a traceback
    # may then keep such a frame alive after it returns, with its locals. So
    # each function here lets go of its handle before returning, as asyncio's
    # `_run_once` does: else a finished future, and its exception, would stay
    # referenced until the next pass.

    def run_ready(self) -> None:
        """Run the handles queued before this call; what they queue waits for the next."""
        ready = self.ready
        handle: asyncio.Handle | None = None
        if self.debug:
            for _ in range(len(ready)):
                handle = ready.popleft()
                if not handle.cancelled():
                    self.run(handle)
        else:
            # `run()` inlined: one Python call less per callback, the hottest
            # loop of minireactor.aio (the benchmarks' streams section).
            for _ in range(len(ready)):
                handle = ready.popleft()
                if not handle.cancelled():
                    handle._run()
        handle = None  # see the discussion above

    def run_io(self, handle: asyncio.Handle | None) -> None:
        """What the reactor calls for a ready descriptor: the reader's or writer's handle."""
        assert handle is not None
        if not handle.cancelled():
            self.run(handle)
        handle = None  # see the discussion above

    def run(self, handle: asyncio.Handle | None) -> None:
        """Run one handle; in debug mode, record it and warn when it is slow.

        `Handle._run` is asyncio's: it runs the callback in the handle's
        context and hands what it raises to the loop's exception handler.
        """
        assert handle is not None
        if not self.debug:
            handle._run()
            handle = None  # see the discussion above
            return
        loop = self._loop
        loop._current_handle = handle
        started = loop.time()
        try:
            handle._run()
        finally:
            loop._current_handle = None
        elapsed = loop.time() - started
        if elapsed >= loop.slow_callback_duration:
            logger.warning("Executing %s took %.3f seconds", describe(handle), elapsed)
        handle = None  # see the discussion above


def describe(handle: asyncio.Handle) -> str:
    """A handle's repr, or its task's when the handle is a task step (as asyncio logs it)."""
    owner = getattr(getattr(handle, "_callback", None), "__self__", None)
    return repr(owner) if isinstance(owner, asyncio.Task) else str(handle)

"""Exercise 03 - timers: a heap-based `call_later` with cancellation.

Every event loop keeps a queue of timers: "call f(x) in 0.5 s". Build one.
Read README.md first; run the visible tests with `minireactor grade timers`.

The clock is passed in (a function returning seconds), so the tests can use a
fake clock and never sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Timer:
    """One scheduled call, returned by `TimerQueue.call_later`."""

    def __init__(self, when: float, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.when = when
        self.callback = callback
        self.args = args

    def cancel(self) -> None:
        """Stop this call from running (does nothing if it already ran or was cancelled)."""
        raise NotImplementedError("Timer.cancel: mark the timer cancelled (see README, 'Hints')")

    def active(self) -> bool:
        """True until the timer has run or been cancelled."""
        raise NotImplementedError("Timer.active: return whether it may still run")


class TimerQueue:
    """Timers kept in a heap, run by `run_due()` when their time has come."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Schedule `callback(*args)` to run `delay` seconds from now.

        Raises:
            ValueError: `delay` is negative.
        """
        raise NotImplementedError("TimerQueue.call_later: push a Timer on a heap (heapq)")

    def run_due(self) -> int:
        """Run every active timer whose time has come; return how many ran."""
        raise NotImplementedError("TimerQueue.run_due: pop due timers in (time, order) order")

    def next_deadline(self) -> float | None:
        """The time of the earliest active timer, or None when there is none."""
        raise NotImplementedError("TimerQueue.next_deadline: look at the heap's top")

    def __len__(self) -> int:
        """How many timers are still active (scheduled, not run, not cancelled)."""
        raise NotImplementedError("TimerQueue.__len__: count active timers")

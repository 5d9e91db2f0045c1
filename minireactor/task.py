"""LoopingCall: run a function every `interval` seconds.

The obvious loop, `call_later(interval, tick)` at the end of each tick,
drifts: each tick starts a little late (the loop was busy, the function took
time), and the delays add up. `LoopingCall` instead keeps a fixed schedule,
start + k * interval, and always aims for the next point on it that is still
in the future. When the process was too busy to run some ticks, those ticks
are *skipped*, not run in a burst to catch up: a health check that missed
three beats needs to run once now, not four times.

If the function returns a Deferred (or is an `async def`), the loop waits for
it before scheduling the next tick, so two runs never overlap.

Layer: above `defer/`; needs only `call_later` and `seconds`, so tests drive
it with `testing.Clock`. Read next: `threads.py`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .defer import Deferred, maybe_deferred
from .timers import DelayedCallLike, Scheduler

__all__ = ["LoopingCall"]

# How close (as a fraction of the interval) a tick must be to a schedule
# point to count as on it. Float arithmetic makes 3 * 0.1 != 0.1 + 0.1 + 0.1;
# without this, a tick running "exactly" on time could be taken as a hair
# early and run twice.
_TOLERANCE = 0.0


class LoopingCall:
    """Call `f(*args)` every `interval` seconds on `clock`, until `stop()`.

    Attributes:
        running: True between `start()` and the end of the loop.
        interval: the period, set by `start()`.
        calls: how many times `f` has been called.
    """

    def __init__(self, clock: Scheduler, f: Callable[..., Any], *args: Any) -> None:
        self.clock = clock
        self.f = f
        self.args = args
        self.running = False
        self.interval = 0.0
        self.calls = 0
        self._start_time = 0.0
        self._timer: DelayedCallLike | None = None  # the next tick, while waiting for it
        self._done: Deferred[LoopingCall] | None = None

    def start(self, interval: float, now: bool = True) -> Deferred[LoopingCall]:
        """Start the loop; the first call is at once if `now`, else after `interval`.

        Returns:
            A Deferred that fires with this LoopingCall when `stop()` ends the
            loop, or errbacks with the exception if `f` fails (the loop stops).

        Raises:
            RuntimeError: the loop is already running.
            ValueError: `interval` is negative.
        """
        if self.running:
            raise RuntimeError("this LoopingCall is already running; stop() it first")
        if interval < 0:
            raise ValueError(f"interval must be >= 0 seconds, got {interval}")
        self.running = True
        self.interval = interval
        self._start_time = self.clock.seconds()
        done = self._done = Deferred()  # kept locally: a failing first call clears _done
        if now:
            self._tick()
        else:
            self._schedule_next()
        return done

    def stop(self) -> None:
        """End the loop. Does nothing if it is not running.

        If `f`'s Deferred is still pending, the loop ends (and `start()`'s
        Deferred fires) when it does.
        """
        if not self.running:
            return
        self.running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._finish(self)

    def _tick(self) -> None:
        self._timer = None
        self.calls += 1
        maybe_deferred(self.f, *self.args).add_callbacks(self._after_call, self._after_error)

    def _after_call(self, _: Any) -> None:
        if self.running:
            self._schedule_next()
        else:
            self._finish(self)  # stop() was called while f was running

    def _after_error(self, exc: BaseException) -> None:
        self.running = False
        self._finish(exc)

    def _finish(self, result: Any) -> None:
        done, self._done = self._done, None
        if done is None:
            return
        if isinstance(result, BaseException):
            done.errback(result)
        else:
            done.callback(result)

    def _schedule_next(self) -> None:
        """Aim for the next point of start + k * interval after now (skipping missed ones)."""
        now = self.clock.seconds()
        if self.interval == 0:
            delay = 0.0  # as often as possible, but through the loop: I/O still runs
        else:
            ticks_past = math.floor((now - self._start_time) / self.interval)
            next_time = self._start_time + (ticks_past + 1) * self.interval
            if next_time <= now:
                # Floats: 4.3 / 0.1 is 42.99999999999999, so a tick running
                # exactly at 4.3 would aim for 4.3 again and run twice.
                next_time += self.interval
            delay = next_time - now
        self._timer = self.clock.call_later(delay, self._tick)

    def __repr__(self) -> str:
        name = getattr(self.f, "__qualname__", repr(self.f))
        state = f"every {self.interval} s" if self.running else "stopped"
        return f"<LoopingCall {name} {state}>"

"""Measuring a running loop: its lag, a rate, and a downsampled timeline.

The dashboard shows three live numbers about the loop; each is measured
here by something small enough to read in a minute:

* `LagProbe`: a timer that asks to run every 100 ms and notes how late it
  actually ran. While the loop is free the answer is about a millisecond;
  while callbacks queue up (a flood of chat lines, a slow callback) it
  grows, and that is exactly what every client of the server feels.
* `RateMeter`: a rate from a running total sampled now and then, so the
  thing being counted pays nothing per event.
* `Timeline`: folds the tracer's events (`minireactor.trace`) into
  fixed-width buckets saying what share of each the loop spent running
  callbacks and what share waiting for I/O. The tracer records every
  callback; a browser can draw a few hundred buckets, not a million bars.

Layer: beside the reactor, reading what it and its tracer report. Read
next: `dashboard.py`, which puts these on the page.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..trace import Event

__all__ = ["Bucket", "LagProbe", "RateMeter", "Timeline"]


class LagProbe:
    """A repeating timer that measures its own lateness: the loop's lag.

    Args:
        reactor: the reactor to watch (anything with `call_at` and `seconds`).
        interval: seconds between probes.
        window: `lag()` reports the worst lateness seen in this many seconds.
    """

    def __init__(self, reactor: Any, interval: float = 0.1, window: float = 1.0) -> None:
        self._reactor = reactor
        self.interval = interval
        self._samples: deque[tuple[float, float]] = deque()  # (when it ran, how late)
        self._window = window
        self._due = reactor.seconds() + interval
        self._call = reactor.call_at(self._due, self._fire)

    def _fire(self) -> None:
        now = self._reactor.seconds()
        self._samples.append((now, max(0.0, now - self._due)))
        while self._samples and self._samples[0][0] < now - self._window:
            self._samples.popleft()
        # Schedule from now, not from the missed due time: after a long stall
        # we want one late sample, not a burst of catch-up calls.
        self._due = now + self.interval
        self._call = self._reactor.call_at(self._due, self._fire)

    def lag(self) -> float:
        """The worst lateness (seconds) in the last window; 0.0 before the first probe."""
        return max((late for _, late in self._samples), default=0.0)

    def stop(self) -> None:
        if self._call.active():
            self._call.cancel()


class RateMeter:
    """Events per second, from a running total sampled now and then.

    Args:
        window: the rate is averaged over (about) this many seconds.
    """

    def __init__(self, window: float = 2.0) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def sample(self, now: float, total: int) -> None:
        """Record that the total was `total` at time `now` (seconds)."""
        self._samples.append((now, total))
        # Keep one sample at least `window` old, to measure from.
        while len(self._samples) > 2 and self._samples[1][0] <= now - self._window:
            self._samples.popleft()

    def rate(self) -> float:
        """Events per second between the oldest kept sample and the newest."""
        if len(self._samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


@dataclass
class Bucket:
    """What the loop did during one slice of time.

    Attributes:
        index: the slice number (`start // width` on the tracer's clock).
        busy: seconds spent running callbacks and timers.
        wait: seconds spent waiting in the backend for I/O.
        callbacks: how many callbacks (and timers) started in the slice.
        recorded: seconds of the slice during which the tracer was on. The
            shares are of this time, so a slice in which the server was
            starting or restarting is not drawn as if the loop were idle.
    """

    index: int
    busy: float = 0.0
    wait: float = 0.0
    callbacks: int = 0
    recorded: float = 0.0

    def as_list(self) -> list[float]:
        """[index, busy share, wait share, callbacks]: compact for JSON (shares 0 if unrecorded)."""
        if self.recorded <= 0:
            return [self.index, 0.0, 0.0, 0]
        return [
            self.index,
            round(min(1.0, self.busy / self.recorded), 3),
            round(min(1.0, self.wait / self.recorded), 3),
            self.callbacks,
        ]


class Timeline:
    """The last `span` seconds of the loop, in buckets `width` seconds wide.

    Feed it tracer events with `absorb`; read the finished buckets with
    `recent`. A bucket is finished once the clock is a whole bucket past its
    end: the callback doing the feeding is still running and is recorded only
    when it returns, so it may yet land in the bucket just before "now".
    """

    def __init__(self, width: float = 0.1, span: float = 20.0) -> None:
        self.width = width
        self._open: dict[int, Bucket] = {}
        self.done: deque[Bucket] = deque(maxlen=math.ceil(span / width))
        self._recording_since: float | None = None

    def start_recording(self, now: float) -> None:
        """The tracer was switched on at `now`: time from here on is accounted for."""
        self._recording_since = now

    def stop_recording(self, now: float) -> None:
        """The tracer was switched off at `now` (the reactor is stopping)."""
        if self._recording_since is not None:
            self._spread(self._recording_since, now, "recorded")
            self._recording_since = None

    def absorb(self, events: Iterable[Event], now: float) -> list[Bucket]:
        """Add `events`, then return the buckets that finished (oldest first).

        `now` is on the tracer's clock (`time.perf_counter()`).
        """
        maxlen = self.done.maxlen or 1
        limit = int(now // self.width) - 1  # buckets numbered below this are finished
        earliest = (limit - maxlen) * self.width  # older than the span: not worth adding
        for event in events:
            if event.end <= earliest:
                continue
            if event.kind == "wait":
                self._spread(max(event.start, earliest), event.end, "wait")
            elif event.kind in ("callback", "timer"):
                self._spread(max(event.start, earliest), event.end, "busy")
                self._bucket(int(event.start // self.width)).callbacks += 1
        if self._recording_since is not None:
            self._spread(max(self._recording_since, earliest), now, "recorded")
            self._recording_since = now
        first = self.done[-1].index + 1 if self.done else min(self._open, default=limit)
        finished = []
        for index in range(max(first, limit - maxlen), limit):
            bucket = self._open.pop(index, None) or Bucket(index)
            finished.append(bucket)
            self.done.append(bucket)
        for index in [i for i in self._open if i < limit]:
            del self._open[index]  # a late event for a bucket already shown: dropped
        return finished

    def recent(self) -> list[list[float]]:
        """The finished buckets, oldest first, as `Bucket.as_list` rows."""
        return [bucket.as_list() for bucket in self.done]

    def _bucket(self, index: int) -> Bucket:
        bucket = self._open.get(index)
        if bucket is None:
            bucket = self._open[index] = Bucket(index)
        return bucket

    def _spread(self, start: float, end: float, field: str) -> None:
        """Add the interval [start, end) to `field` of every bucket it overlaps."""
        width = self.width
        index = int(start // width)
        while start < end:
            stop = max(start, min(end, (index + 1) * width))  # max(): float rounding
            bucket = self._bucket(index)
            setattr(bucket, field, getattr(bucket, field) + stop - start)
            start = stop
            index += 1

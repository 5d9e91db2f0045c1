"""How long an HTTP client may take: the server's limits and its deadlines.

A server that waits forever for a client can be held by clients that never
finish. Three kinds of slowness are cut off, each with its own rule:

* between requests, a connection may sit `idle_timeout` seconds;
* a request head must be complete `header_timeout` seconds after its first
  byte, however it trickles in ("slowloris");
* a request body must arrive at a minimum average rate ("slow POST"): after
  `body_timeout` seconds plus one second per `body_min_rate` bytes received
  (Apache's `RequestReadTimeout body=20,MinRate=500`), and never stall
  longer than `idle_timeout` between two reads (nginx's `client_body_timeout`
  alone, which a client defeats by sending one byte just in time).

`RequestDeadline` is sans-IO: it turns "what the parser is reading, and how
much of the body came" into "when the client runs out of time" and the 408
message. `HTTPServerProtocol` (`http.py`) arms one lazily re-armed timer
(`LazyTimer`) with it; the lab's blocking servers use it with socket timeouts.

Read next: `http.py`, the server protocol that uses both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from typing import Protocol as TypingProtocol

__all__ = ["Cancellable", "Clock", "LazyTimer", "RequestDeadline", "ServerLimits", "clock_time"]


@dataclass(frozen=True)
class ServerLimits:
    """The limits that keep one client from exhausting the server.

    Attributes:
        max_head_bytes: request line plus headers (over it: 431).
        max_body_bytes: one request body (over it: 413).
        idle_timeout: seconds a connection may sit between requests, or
            stall inside a body, before it is closed. None: forever.
        header_timeout: seconds from the first byte of a request to the end
            of its headers. A slowloris client sends a header line every few
            seconds to keep a connection (and its memory) busy forever; this
            deadline is not extended by such trickles. None: no deadline.
        body_timeout: seconds a request body may take at the least, counted
            from the end of its head (over it: 408). None: no deadline.
        body_min_rate: each `body_min_rate` bytes of body received extend
            `body_timeout` by one second, so an upload faster than this rate
            (bytes per second) is never cut off, however large, while one
            byte every few seconds is. None: `body_timeout` bounds the
            whole body.
        linger_timeout: after an error answer (400, 408, 413, ...), seconds
            to keep reading and discarding what the client still sends
            before closing; see `HTTPServerProtocol._linger`. None: close
            at once, and a client that is still sending may get a reset
            instead of the answer.
    """

    max_head_bytes: int = 16 * 1024
    max_body_bytes: int = 1024 * 1024
    idle_timeout: float | None = 60.0
    header_timeout: float | None = 10.0
    body_timeout: float | None = 20.0
    body_min_rate: float | None = 500.0
    linger_timeout: float | None = 2.0


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None or a <= b else b


class RequestDeadline:
    """When the client runs out of time, from what the parser reads (no clock of its own).

    Call `update()` after each read with the parser's phase: "idle"
    (between requests), "head", "body", or "busy" (a handler is answering,
    so the client owes nothing). It returns the deadline, or None.
    """

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.phase = "idle"
        self.deadline: float | None = None
        self._body_start = 0.0
        self._rate_bound = False  # the body deadline is the rate's, not a stall's

    def update(self, phase: str, body_received: int, now: float) -> float | None:
        """Move to `phase` at time `now`; return the deadline now in force.

        Args:
            phase: "idle", "head", "body" or "busy".
            body_received: bytes of the current body received so far.
            now: the current time on the caller's clock.
        """
        limits = self.limits
        if phase == "busy":
            self.deadline = None  # the handler is slow, not the client
        elif phase == "head":
            if self.phase != "head":  # a trickle of header bytes does not buy more time
                timeout = limits.header_timeout
                self.deadline = None if timeout is None else now + timeout
        elif phase == "body":
            if self.phase != "body":
                self._body_start = now
            self.deadline = self._body_deadline(body_received, now)
        else:
            self.deadline = None if limits.idle_timeout is None else now + limits.idle_timeout
        self.phase = phase
        return self.deadline

    def _body_deadline(self, received: int, now: float) -> float | None:
        limits = self.limits
        stall = None if limits.idle_timeout is None else now + limits.idle_timeout
        whole = None
        if limits.body_timeout is not None:
            whole = self._body_start + limits.body_timeout
            if limits.body_min_rate is not None:
                whole += received / limits.body_min_rate
        deadline = _earliest(stall, whole)
        self._rate_bound = deadline is not None and deadline == whole
        return deadline

    def expired_message(self) -> str | None:
        """The 408 message for a deadline that passed; None: close without answering."""
        limits = self.limits
        if self.phase == "head":
            return f"the request headers took longer than {limits.header_timeout} s"
        if self.phase != "body":
            return None  # idle: nothing was asked, so nothing is answered
        if not self._rate_bound:
            return f"the request body stalled for {limits.idle_timeout} s"
        if limits.body_min_rate is None:
            return f"the request body took longer than {limits.body_timeout} s"
        return (
            f"the request body arrived slower than {limits.body_min_rate:g} bytes/s "
            f"(allowed: {limits.body_timeout} s plus 1 s per {limits.body_min_rate:g} bytes)"
        )


class Cancellable(TypingProtocol):
    """What `clock.call_later` returns: minireactor's DelayedCall, asyncio's TimerHandle."""

    def cancel(self) -> Any: ...


class Clock(TypingProtocol):
    """Anything with `call_later`: a minireactor Reactor or an asyncio loop."""

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Cancellable: ...


class LazyTimer:
    """One timer per connection that calls `expired` once the deadline passes.

    Moving the deadline later does not touch the clock: the timer fires at
    the old time, sees the new deadline and sleeps again. Keep-alive traffic
    therefore does not cancel and create a timer per request; only a deadline
    that moves earlier re-arms it.
    """

    def __init__(self, clock: Clock, now: Callable[[], float], expired: Callable[[], None]):
        self._clock = clock
        self._now = now
        self._expired = expired
        self._deadline: float | None = None
        self._timer: Cancellable | None = None
        self._timer_when = 0.0

    def set(self, deadline: float | None) -> None:
        """Fire at `deadline` (a time on `now`'s clock) instead; None: not at all."""
        self._deadline = deadline
        if deadline is None or (self._timer is not None and self._timer_when <= deadline):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._clock.call_later(max(0.0, deadline - self._now()), self._fire)
        self._timer_when = deadline

    def cancel(self) -> None:
        """Never fire."""
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        if self._deadline is None:
            return  # nothing to time out now; the next set() re-arms
        remaining = self._deadline - self._now()
        if remaining > 0:
            self._timer = self._clock.call_later(remaining, self._fire)
            self._timer_when = self._deadline
        else:
            self._deadline = None
            self._expired()


def clock_time(clock: Clock | None) -> Callable[[], float]:
    """The clock's own time function, to compare its timers with.

    minireactor calls it `seconds()`, asyncio `time()`; both are
    `time.monotonic()` underneath, which serves when there is no clock.
    """
    now: Callable[[], float] = (
        getattr(clock, "seconds", None) or getattr(clock, "time", None) or time.monotonic
    )
    return now

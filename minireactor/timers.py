"""Timers: `DelayedCall` and the heap that orders them.

`Reactor.call_later(delay, f)` returns a `DelayedCall`, a handle the caller can
cancel, postpone (`delay`) or move (`reset`). The reactor keeps every pending
call in a binary heap ordered by due time, so finding the next one is O(1)
and adding one is O(log n): 100,000 pending timers cost no more than 17
comparisons each.

Two details worth reading:

* Ties. Heap entries are `(time, sequence, call)`; the sequence number grows
  with every scheduling, so calls due at the same moment fire in the order
  they were scheduled, and two `DelayedCall`s are never compared.
* Cancelling or moving a call does not search the heap (that would be O(n)).
  The old entry stays where it is and is recognised as stale when it reaches
  the top (its sequence is no longer the call's). When stale entries
  outnumber live ones, the heap is rebuilt, so memory stays bounded.

The typing protocols for "anything that schedules" are written here, once:
`Clock` and `Cancellable` (what an HTTP protocol needs: a Reactor or an
asyncio loop), `Scheduler` and `DelayedCallLike` (what `defer/` and
`task.py` need: also `seconds()` and `active()`; a `testing.Clock` fits).

Read next: `descriptors.py` (`core.py` pops due calls from `TimerQueue` on
each pass).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any, Protocol


class Cancellable(Protocol):
    """What `call_later` returns: minireactor's DelayedCall, asyncio's TimerHandle."""

    def cancel(self) -> Any: ...


class Clock(Protocol):
    """Anything with `call_later`: a minireactor Reactor or an asyncio loop."""

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Cancellable: ...


class DelayedCallLike(Cancellable, Protocol):
    """A `Cancellable` that also says whether it is still pending."""

    def active(self) -> bool: ...


class Scheduler(Protocol):
    """A `Clock` with `seconds()` whose calls have `active()`: a Reactor, a `testing.Clock`."""

    def call_later(self, delay: float, f: Callable[..., Any], *args: Any) -> DelayedCallLike: ...

    def seconds(self) -> float: ...


class DelayedCall:
    """A call scheduled for a time on the reactor's clock.

    Attributes:
        time: when it is due, in `Reactor.seconds()` time.
        func, args: what it will call.
    """

    __slots__ = ("_queue", "_seq", "args", "called", "cancelled", "func", "time")

    def __init__(
        self, queue: TimerQueue, time: float, func: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        self._queue = queue
        self._seq = 0
        self.time = time
        self.func = func
        self.args = args
        self.called = False
        self.cancelled = False

    def active(self) -> bool:
        """True until the call has run or been cancelled."""
        return not (self.called or self.cancelled)

    def cancel(self) -> None:
        """Make sure the call never runs. Cancelling twice is harmless."""
        if self.active():
            self.cancelled = True
            self._queue.forget(self)

    def reset(self, delay: float) -> None:
        """Move the call to `delay` seconds from now."""
        self._require_active("reset")
        self._queue.move(self, self._queue.now() + delay)

    def delay(self, extra: float) -> None:
        """Postpone the call by `extra` seconds (negative brings it forward)."""
        self._require_active("delay")
        self._queue.move(self, self.time + extra)

    def _require_active(self, what: str) -> None:
        if not self.active():
            state = "already ran" if self.called else "was cancelled"
            raise ValueError(f"cannot {what} a DelayedCall that {state}; schedule a new one")

    def __repr__(self) -> str:
        name = getattr(self.func, "__qualname__", repr(self.func))
        state = "called" if self.called else "cancelled" if self.cancelled else "pending"
        return f"<DelayedCall {name} at {self.time:.6f} {state}>"


class TimerQueue:
    """A heap of `DelayedCall`s with lazy removal of cancelled and moved ones."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.now = clock
        self._heap: list[tuple[float, int, DelayedCall]] = []
        self._counter = itertools.count()
        self._live = 0

    def __len__(self) -> int:
        """How many calls are pending (cancelled and stale entries excluded)."""
        return self._live

    def schedule(self, when: float, func: Callable[..., Any], args: tuple[Any, ...]) -> DelayedCall:
        call = DelayedCall(self, when, func, args)
        self._push(call, when)
        self._live += 1
        return call

    def move(self, call: DelayedCall, when: float) -> None:
        self._push(call, when)  # the old entry becomes stale
        self._maybe_compact()

    def forget(self, call: DelayedCall) -> None:
        self._live -= 1
        self._maybe_compact()

    def next_time(self) -> float | None:
        """When the earliest pending call is due, or None when there is none."""
        heap = self._heap
        while heap:
            when, seq, call = heap[0]
            if seq == call._seq and not call.cancelled:
                return when
            heapq.heappop(heap)  # stale: cancelled or moved
        return None

    def pop_due(self, now: float) -> list[DelayedCall]:
        """Remove and return the calls due at or before `now`, in firing order."""
        due = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, seq, call = heapq.heappop(heap)
            if seq == call._seq and not call.cancelled:
                call.called = True
                self._live -= 1
                due.append(call)
        return due

    def clear(self) -> None:
        for _, seq, call in self._heap:
            if seq == call._seq and call.active():
                call.cancelled = True
        self._heap = []
        self._live = 0

    def _push(self, call: DelayedCall, when: float) -> None:
        call.time = when
        call._seq = next(self._counter)
        heapq.heappush(self._heap, (when, call._seq, call))

    def _maybe_compact(self) -> None:
        # Rebuild when at least half the heap is stale; amortised O(1) per entry.
        if len(self._heap) > 64 and self._live < len(self._heap) // 2:
            self._heap = [e for e in self._heap if e[1] == e[2]._seq and not e[2].cancelled]
            heapq.heapify(self._heap)

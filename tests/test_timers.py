"""Timers on every backend: order, ties, cancellation, moving, and scale."""

from __future__ import annotations

import pytest
from conftest import spin

from minireactor import Reactor
from minireactor.timers import TimerQueue

pytestmark = pytest.mark.timeout(30)


def test_timers_fire_in_due_order_and_ties_in_scheduling_order(reactor: Reactor) -> None:
    fired: list[str] = []
    now = reactor.seconds()
    reactor.call_at(now + 0.03, fired.append, "c")
    reactor.call_at(now + 0.01, fired.append, "a1")
    reactor.call_at(now + 0.02, fired.append, "b")
    reactor.call_at(now + 0.01, fired.append, "a2")
    reactor.call_at(now + 0.01, fired.append, "a3")
    spin(reactor, lambda: len(fired) == 5)
    assert fired == ["a1", "a2", "a3", "b", "c"]


def test_cancelled_timers_never_fire(reactor: Reactor) -> None:
    fired: list[int] = []
    calls = [reactor.call_later(0.01, fired.append, i) for i in range(10)]
    for call in calls[::2]:
        call.cancel()
        call.cancel()  # twice is harmless
    done = reactor.call_later(0.05, fired.append, "end")
    spin(reactor, lambda: not done.active())
    assert fired == [1, 3, 5, 7, 9, "end"]
    assert not calls[0].active() and calls[0].cancelled and not calls[0].called


def test_reset_and_delay_move_a_call(reactor: Reactor) -> None:
    fired: list[str] = []
    late = reactor.call_later(0.01, fired.append, "moved")
    early = reactor.call_later(0.03, fired.append, "second")
    late.reset(0.05)
    early.delay(-0.025)
    spin(reactor, lambda: len(fired) == 2)
    assert fired == ["second", "moved"]
    with pytest.raises(ValueError, match="already ran"):
        late.reset(1)


def test_a_timer_can_schedule_another_and_callbacks_run_in_order(reactor: Reactor) -> None:
    order: list[str] = []

    def first() -> None:
        order.append("timer")
        reactor.call_soon(order.append, "soon-from-timer")

    reactor.call_soon(order.append, "soon")
    reactor.call_later(0, first)
    spin(reactor, lambda: len(order) == 3)
    assert order == ["soon", "timer", "soon-from-timer"]


def test_call_soon_preserves_order(reactor: Reactor) -> None:
    seen: list[int] = []
    for i in range(1000):
        reactor.call_soon(seen.append, i)
    spin(reactor, lambda: len(seen) == 1000)
    assert seen == list(range(1000))


def test_100k_pending_timers_heap_stays_logarithmic(reactor: Reactor) -> None:
    """100,000 timers: all fire once, in order; cancelling half keeps memory bounded."""
    import random

    rng = random.Random(7)
    fired: list[float] = []
    now = reactor.seconds()
    calls = [reactor.call_at(now + rng.random() * 0.2, fired.append, i) for i in range(100_000)]
    for call in calls[::2]:
        call.cancel()
    heap = reactor._timers._heap
    assert len(heap) <= 100_000 and len(reactor._timers) == 50_000
    spin(reactor, lambda: len(fired) == 50_000, timeout=60)
    assert sorted(fired) == list(range(1, 100_000, 2))
    times = [calls[int(i)].time for i in fired]
    assert times == sorted(times)


def test_queue_compacts_stale_entries() -> None:
    clock = [0.0]
    queue = TimerQueue(lambda: clock[0])
    calls = [queue.schedule(float(i), print, ()) for i in range(1000)]
    for call in calls[:900]:
        call.cancel()
    assert len(queue) == 100
    assert len(queue._heap) < 300  # rebuilt once stale entries were the majority
    for call in calls[900:]:
        call.reset(5.0)  # each move leaves a stale entry behind...
    assert len(queue._heap) < 400  # ...and compaction keeps them bounded
    due = queue.pop_due(10.0)
    assert due == calls[900:]  # same time: scheduling (here, reset) order

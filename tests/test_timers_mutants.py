"""Exact tests of timers.py's `TimerQueue` and `DelayedCall`, without a reactor.

tests/test_timers.py checks timers through a running reactor, which hides
some bugs: a reactor whose `next_time()` always said "nothing pending" still
fires its timers (it just wakes up more often), and a heap that is never
compacted still works (it only leaks). These tests pin the exact behaviour
that mutation testing (`python scripts/mutation.py timers`) showed was
unchecked: what `next_time()` reports, `len()` after firing, `clear()`, the
compaction threshold that bounds memory, the error messages and `repr`.
"""

from __future__ import annotations

import functools

import pytest

from minireactor.timers import DelayedCall, TimerQueue


def noop() -> None:
    pass


def queue_at(now: list[float]) -> TimerQueue:
    return TimerQueue(lambda: now[0])


def test_next_time_skips_cancelled_and_moved_entries() -> None:
    queue = queue_at([0.0])
    assert queue.next_time() is None
    late = queue.schedule(5.0, noop, ())
    early = queue.schedule(3.0, noop, ())
    assert queue.next_time() == 3.0
    early.cancel()
    assert queue.next_time() == 5.0
    late.delay(2.0)  # the entry at 5.0 is now stale, not cancelled
    assert queue.next_time() == 7.0 and late.time == 7.0
    late.delay(-6.5)
    assert queue.next_time() == 0.5


def test_pop_due_fires_in_order_and_counts_down() -> None:
    queue = queue_at([0.0])
    calls = [queue.schedule(t, noop, (i,)) for i, t in enumerate([2.0, 1.0, 1.0, 3.0])]
    assert len(queue) == 4
    assert calls[0].called is False and calls[0].cancelled is False and calls[0].active()
    due = queue.pop_due(2.0)  # due exactly at `now` counts as due
    assert due == [calls[1], calls[2], calls[0]]  # ties fire in scheduling order
    assert all(call.called and not call.active() for call in due)
    assert len(queue) == 1 and calls[3].active()
    assert queue.pop_due(2.5) == [] and len(queue) == 1
    assert queue.pop_due(3.0) == [calls[3]] and len(queue) == 0


def test_clear_cancels_every_pending_call() -> None:
    queue = queue_at([0.0])
    plain = queue.schedule(1.0, noop, ())
    moved = queue.schedule(2.0, noop, ())
    moved.delay(1.0)
    gone = queue.schedule(3.0, noop, ())
    gone.cancel()
    queue.clear()
    assert plain.cancelled is True and moved.cancelled is True and gone.cancelled is True
    assert len(queue) == 0 and queue.next_time() is None and queue.pop_due(100.0) == []
    fresh = queue.schedule(4.0, noop, ())  # the queue still works afterwards
    assert len(queue) == 1 and queue.next_time() == 4.0 and queue.pop_due(4.0) == [fresh]


def test_the_heap_is_compacted_once_stale_entries_outnumber_live_ones() -> None:
    # 65 entries (over the 64 below which compaction is not worth it):
    # rebuilt as soon as fewer than 65 // 2 = 32 are live, not before.
    queue = queue_at([0.0])
    calls = [queue.schedule(float(i), noop, ()) for i in range(65)]
    for call in calls[:33]:
        call.cancel()
    assert len(queue) == 32 and len(queue._heap) == 65
    calls[33].cancel()
    assert len(queue) == 31 and len(queue._heap) == 31
    assert queue.pop_due(1000.0) == calls[34:]  # the live ones survived the rebuild


def test_a_small_heap_is_never_compacted() -> None:
    queue = queue_at([0.0])
    calls = [queue.schedule(float(i), noop, ()) for i in range(64)]
    for call in calls[:60]:
        call.cancel()
    assert len(queue) == 4 and len(queue._heap) == 64
    assert queue.pop_due(1000.0) == calls[60:]


def test_moving_calls_compacts_the_heap_too() -> None:
    queue = queue_at([0.0])
    calls = [queue.schedule(float(i), noop, ()) for i in range(40)]
    for _ in range(3):
        for call in calls:
            call.delay(100.0)  # each move leaves a stale entry behind
    assert len(queue) == 40 and len(queue._heap) <= 80
    assert queue.pop_due(1000.0) == calls


@pytest.mark.parametrize(
    ("finish", "method", "message"),
    [
        ("run", "reset", "cannot reset a DelayedCall that already ran; schedule a new one"),
        ("run", "delay", "cannot delay a DelayedCall that already ran; schedule a new one"),
        ("cancel", "reset", "cannot reset a DelayedCall that was cancelled; schedule a new one"),
        ("cancel", "delay", "cannot delay a DelayedCall that was cancelled; schedule a new one"),
    ],
)
def test_moving_a_finished_call_says_why_not(finish: str, method: str, message: str) -> None:
    queue = queue_at([0.0])
    call = queue.schedule(1.0, noop, ())
    if finish == "run":
        queue.pop_due(1.0)
    else:
        call.cancel()
    with pytest.raises(ValueError) as info:
        getattr(call, method)(1.0)
    assert str(info.value) == message


def test_reset_counts_from_now() -> None:
    now = [10.0]
    queue = queue_at(now)
    call = queue.schedule(11.0, noop, ())
    now[0] = 10.5
    call.reset(2.0)
    assert call.time == 12.5 and queue.next_time() == 12.5


def test_repr_names_the_function_time_and_state() -> None:
    queue = queue_at([0.0])
    call: DelayedCall = queue.schedule(1.5, noop, ())
    assert repr(call) == "<DelayedCall noop at 1.500000 pending>"
    queue.pop_due(2.0)
    assert repr(call) == "<DelayedCall noop at 1.500000 called>"
    unnamed = functools.partial(noop)
    other = queue.schedule(2.25, unnamed, ())
    other.cancel()
    assert repr(other) == f"<DelayedCall {unnamed!r} at 2.250000 cancelled>"

"""Graded tests for exercise 03 (timers). A fake clock: no test sleeps."""

from __future__ import annotations

from timers import TimerQueue

from minireactor.grader.testing import expect, points


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make() -> tuple[FakeClock, TimerQueue, list[object]]:
    clock = FakeClock()
    return clock, TimerQueue(clock), []


@points(2)
def test_runs_in_deadline_order() -> None:
    clock, queue, log = make()
    queue.call_later(3, log.append, "c")
    queue.call_later(1, log.append, "a")
    queue.call_later(2, log.append, "b")
    clock.advance(5)
    expect(queue.run_due(), 3, "run_due() return value")
    expect(log, ["a", "b", "c"], "the order the callbacks ran in")


@points(1)
def test_ties_run_in_scheduling_order() -> None:
    clock, queue, log = make()
    for name in ["first", "second", "third", "fourth"]:
        queue.call_later(1, log.append, name)
    clock.advance(1)
    queue.run_due()
    expect(log, ["first", "second", "third", "fourth"], "timers due at the same time")


@points(1)
def test_nothing_runs_early() -> None:
    clock, queue, log = make()
    queue.call_later(1, log.append, 1)
    queue.call_later(2, log.append, 2)
    expect(queue.run_due(), 0, "run_due() before anything is due")
    clock.advance(1.5)
    expect(queue.run_due(), 1, "run_due() after 1.5 s")
    expect(log, [1], "what ran after 1.5 s")
    clock.advance(0.5)
    expect(queue.run_due(), 1, "run_due() after 2 s")
    expect(log, [1, 2], "what ran after 2 s")


@points(2)
def test_cancel() -> None:
    clock, queue, log = make()
    keep = queue.call_later(1, log.append, "keep")
    drop = queue.call_later(1, log.append, "drop")
    expect(drop.active(), True, "active() of a new timer")
    drop.cancel()
    drop.cancel()  # a second cancel is harmless
    expect(drop.active(), False, "active() after cancel()")
    clock.advance(1)
    expect(queue.run_due(), 1, "run_due() with one of two timers cancelled")
    expect(log, ["keep"], "what ran")
    expect(keep.active(), False, "active() of a timer that has run")
    keep.cancel()  # cancelling after it ran does nothing
    expect(len(queue), 0, "len() after everything ran")


@points(2)
def test_len_and_next_deadline() -> None:
    _, queue, log = make()
    expect(queue.next_deadline(), None, "next_deadline() of an empty queue")
    early = queue.call_later(1, log.append, 1)
    queue.call_later(5, log.append, 5)
    expect(len(queue), 2, "len() with two timers")
    expect(queue.next_deadline(), 101.0, "next_deadline() (clock at 100)")
    early.cancel()
    expect(len(queue), 1, "len() after cancelling one")
    expect(queue.next_deadline(), 105.0, "next_deadline() must skip cancelled timers")


@points(1)
def test_changes_made_by_callbacks() -> None:
    clock, queue, log = make()

    def first() -> None:
        log.append("first")
        victim.cancel()  # due in this same pass, but cancelled before its turn
        queue.call_later(0, log.append, "scheduled-during-run")

    queue.call_later(1, first)
    victim = queue.call_later(1, log.append, "victim")
    clock.advance(1)
    expect(queue.run_due(), 1, "run_due(): 'victim' was cancelled by 'first'")
    expect(log, ["first"], "a timer added while running waits for the next run_due()")
    expect(queue.run_due(), 1, "the next run_due()")
    expect(log, ["first", "scheduled-during-run"], "what ran")


@points(1)
def test_an_error_does_not_stop_the_others() -> None:
    clock, queue, log = make()

    def broken() -> None:
        raise RuntimeError("boom (raised on purpose by the test)")

    queue.call_later(1, broken)
    queue.call_later(2, log.append, "after")
    clock.advance(2)
    expect(queue.run_due(), 2, "run_due() counts the timer that raised")
    expect(log, ["after"], "timers after a failing one still run")

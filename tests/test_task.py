"""Tests for minireactor.task.LoopingCall, driven by a fake clock."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from minireactor.defer import Deferred, sleep
from minireactor.task import LoopingCall
from minireactor.testing import Clock


def results(d: Deferred[Any]) -> list[Any]:
    box: list[Any] = []
    d.add_both(box.append)
    return box


def test_calls_now_then_every_interval() -> None:
    clock = Clock()
    times: list[float] = []
    loop = LoopingCall(clock, lambda: times.append(clock.seconds()))
    loop.start(1.0)
    assert times == [0.0]
    clock.pump([0.5, 0.5, 1.0, 1.0])
    assert times == [0.0, 1.0, 2.0, 3.0]
    assert loop.calls == 4


def test_now_false_waits_one_interval() -> None:
    clock = Clock()
    times: list[float] = []
    LoopingCall(clock, lambda: times.append(clock.seconds())).start(2.0, now=False)
    assert times == []
    clock.advance(2.0)
    assert times == [2.0]


def test_passes_arguments() -> None:
    clock = Clock()
    seen: list[tuple[int, str]] = []
    LoopingCall(clock, lambda a, b: seen.append((a, b)), 1, "x").start(1)
    assert seen == [(1, "x")]


def test_missed_ticks_are_skipped_not_burst() -> None:
    clock = Clock()
    times: list[float] = []
    loop = LoopingCall(clock, lambda: times.append(clock.seconds()))
    loop.start(1.0)
    clock.advance(3.5)  # the process was "busy": ticks 1, 2 and 3 were missed
    assert times == [0.0, 3.5]  # one late tick, not three
    clock.advance(0.5)
    assert times == [0.0, 3.5, 4.0]  # back on the schedule start + k * interval


def test_late_tick_does_not_make_the_schedule_drift() -> None:
    clock = Clock()
    times: list[float] = []
    LoopingCall(clock, lambda: times.append(clock.seconds())).start(1.0)
    clock.advance(1.25)  # the tick due at 1.0 runs late...
    clock.advance(0.75)  # ...but the next is still due at 2.0, not 2.25
    assert times == [0.0, 1.25, 2.0]


def test_exact_steps_run_every_tick_once() -> None:
    clock = Clock()
    calls: list[float] = []
    LoopingCall(clock, lambda: calls.append(clock.seconds())).start(0.25)
    clock.pump([0.25] * 40)
    assert calls == [i * 0.25 for i in range(41)]


@pytest.mark.timeout(10)
def test_float_rounding_never_runs_a_tick_twice() -> None:
    # 0.1 has no exact binary form: 4.3 / 0.1 == 42.99999999999999, so a tick
    # running exactly at 4.3 could take itself for tick 42 and run again.
    clock = Clock()
    calls: list[float] = []
    LoopingCall(clock, lambda: calls.append(clock.seconds())).start(0.1)
    for k in range(1, 101):
        clock.advance(max(0.0, k * 0.1 - clock.seconds()))
    assert len(calls) == 101
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert min(gaps) > 0.05


def test_stop_fires_the_deferred_with_the_looping_call() -> None:
    clock = Clock()
    loop = LoopingCall(clock, lambda: None)
    box = results(loop.start(1))
    clock.advance(1)
    assert box == [] and loop.running
    loop.stop()
    assert box == [loop] and not loop.running
    assert clock.get_delayed_calls() == []
    loop.stop()  # harmless


def test_cannot_start_twice_or_with_negative_interval() -> None:
    clock = Clock()
    loop = LoopingCall(clock, lambda: None)
    with pytest.raises(ValueError):
        loop.start(-1)
    loop.start(1)
    with pytest.raises(RuntimeError, match="already running"):
        loop.start(1)


def test_error_stops_the_loop_and_errbacks() -> None:
    clock = Clock()
    count = [0]

    def flaky() -> None:
        count[0] += 1
        if count[0] == 3:
            raise ValueError("third time")

    loop = LoopingCall(clock, flaky)
    box = results(loop.start(1))
    clock.pump([1, 1, 1, 1])
    assert count[0] == 3
    assert isinstance(box[0], ValueError)
    assert not loop.running
    assert clock.get_delayed_calls() == []


def test_error_on_the_first_call_errbacks_at_once() -> None:
    loop = LoopingCall(Clock(), lambda: 1 / 0)
    box = results(loop.start(1))
    assert isinstance(box[0], ZeroDivisionError)


def test_waits_for_a_returned_deferred_before_the_next_tick() -> None:
    clock = Clock()
    starts: list[float] = []
    pending: list[Deferred[None]] = []

    def work() -> Deferred[None]:
        starts.append(clock.seconds())
        d: Deferred[None] = Deferred()
        pending.append(d)
        return d

    LoopingCall(clock, work).start(1.0)
    clock.advance(2.5)
    assert starts == [0.0]  # still waiting: no overlapping run
    pending[0].callback(None)
    clock.advance(0.5)
    assert starts == [0.0, 3.0]


def test_async_function_is_awaited() -> None:
    clock = Clock()
    finished: list[float] = []

    async def work() -> None:
        await sleep(clock, 1.5)
        finished.append(clock.seconds())

    loop = LoopingCall(clock, work)
    loop.start(1.0)
    clock.pump([0.5] * 8)
    assert finished == [1.5, 3.5]  # 1.5 s of work, then the next whole second


def test_stop_while_deferred_pending_fires_when_it_finishes() -> None:
    clock = Clock()
    inner: Deferred[None] = Deferred()
    loop = LoopingCall(clock, lambda: inner)
    box = results(loop.start(1))
    loop.stop()
    assert box == []
    inner.callback(None)
    assert box == [loop]
    assert clock.get_delayed_calls() == []


def test_zero_interval_goes_through_the_clock() -> None:
    clock = Clock()
    count = [0]

    def tick() -> None:
        count[0] += 1
        if count[0] == 5:
            loop.stop()

    loop = LoopingCall(clock, tick)
    loop.start(0)
    assert count[0] == 1  # not a synchronous infinite loop
    for _ in range(10):
        clock.advance(0)
    assert count[0] == 5

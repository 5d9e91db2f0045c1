"""Hidden tests for exercise 03 (timers): bigger, seeded, and the edge cases."""

from __future__ import annotations

import random

from timers import TimerQueue

from minireactor.grader.testing import expect, points


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@points(2)
def test_random_schedule_matches_a_sorted_reference() -> None:
    rng = random.Random(20240603)
    clock = FakeClock()
    queue = TimerQueue(clock)
    ran: list[int] = []
    expected: list[tuple[float, int]] = []
    timers = []
    for i in range(2000):
        delay = rng.choice([0.0, 0.5, 1.0, rng.random() * 10])
        timers.append(queue.call_later(delay, ran.append, i))
        expected.append((delay, i))
    cancelled = set(rng.sample(range(2000), 500))
    for i in cancelled:
        timers[i].cancel()
    expect(len(queue), 1500, "len() after 500 cancellations")
    clock.now = 11.0
    expect(queue.run_due(), 1500, "run_due()")
    want = [i for _, i in sorted(expected) if i not in cancelled]
    expect(ran, want, "the order of 1500 timers")
    expect(queue.next_deadline(), None, "next_deadline() when all ran")


@points(1)
def test_negative_delay_is_rejected_and_args_are_passed() -> None:
    clock = FakeClock()
    queue = TimerQueue(clock)
    try:
        queue.call_later(-1, print)
    except ValueError:
        pass
    else:
        raise AssertionError("call_later(-1, ...) should raise ValueError")
    got: list[tuple[int, str]] = []
    queue.call_later(0, lambda a, b: got.append((a, b)), 7, "x")
    queue.run_due()
    expect(got, [(7, "x")], "the arguments given to call_later")

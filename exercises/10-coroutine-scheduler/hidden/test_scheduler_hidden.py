"""Hidden tests for exercise 10: many tasks; Sleep(0) yields."""

from __future__ import annotations

from typing import Any

from scheduler import Scheduler, Sleep

from minireactor.grader.testing import expect, points


@points(1)
def test_a_thousand_tasks() -> None:
    total = [0]

    def worker() -> Any:
        for _ in range(10):
            total[0] += 1
            yield

    sched = Scheduler()
    tasks = [sched.spawn(worker()) for _ in range(1000)]
    sched.run()
    expect(total[0], 10_000, "steps run")
    expect(all(t.done for t in tasks), True, "every task done")


@points(1)
def test_sleep_zero_yields() -> None:
    log: list[str] = []

    def a() -> Any:
        log.append("a1")
        yield Sleep(0)
        log.append("a2")

    def b() -> Any:
        log.append("b1")
        yield
        log.append("b2")

    sched = Scheduler()
    sched.spawn(a())
    sched.spawn(b())
    sched.run()
    expect(log, ["a1", "b1", "a2", "b2"], "the order with Sleep(0)")

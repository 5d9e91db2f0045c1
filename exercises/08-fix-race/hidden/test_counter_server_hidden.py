"""Hidden test for exercise 08: more threads, more increments."""

from __future__ import annotations

import threading

from counter_server import Counter

from minireactor.grader.testing import expect, points


@points(2)
def test_sixteen_threads() -> None:
    counter = Counter()
    barrier = threading.Barrier(16)

    def work() -> None:
        barrier.wait()
        for _ in range(250):
            counter.increment()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    expect(counter.value, 4000, "Counter.value after 16 threads x 250 increments")

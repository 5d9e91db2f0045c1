"""Hidden tests for exercise 09: uneven and tiny ranges."""

from __future__ import annotations

from crunch import parallel_count, split

from minireactor.grader.testing import expect, points


@points(1)
def test_more_chunks_than_numbers() -> None:
    pieces = split(3, 5)
    expect(len(pieces), 5, "pieces of split(3, 5)")
    expect([n for lo, hi in pieces for n in range(lo, hi)], [0, 1, 2], "numbers covered")


@points(1, timeout=30)
def test_small_limit() -> None:
    expect(parallel_count(100, workers=2, chunks=7).total, 25, "primes below 100")

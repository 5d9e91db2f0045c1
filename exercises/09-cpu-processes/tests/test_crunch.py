"""Graded tests for exercise 09 (cpu-processes).

Graded: correct counts, correct pieces, and the work really ran in several
other processes. The speed-up is measured and printed for you to read, but
not graded (a grading machine's CPU count and load are not yours).
"""

from __future__ import annotations

import os
import time

from crunch import count_primes, parallel_count, split

from minireactor.grader.testing import expect, points

LIMIT = 60_000
PRIMES_BELOW_LIMIT = 6057


@points(2)
def test_split_covers_the_range_exactly() -> None:
    expect(split(10, 3), [(0, 4), (4, 7), (7, 10)], "split(10, 3)")
    expect(split(8, 4), [(0, 2), (2, 4), (4, 6), (6, 8)], "split(8, 4)")
    pieces = split(1001, 7)
    expect(len(pieces), 7, "number of pieces of split(1001, 7)")
    covered = [n for lo, hi in pieces for n in range(lo, hi)]
    expect(covered == list(range(1001)), True, "split(1001, 7) covers 0..1000 once, in order")
    sizes = {hi - lo for lo, hi in pieces}
    expect(max(sizes) - min(sizes) <= 1, True, "piece sizes differ by at most one")


@points(3, timeout=40)
def test_parallel_count_is_correct() -> None:
    report = parallel_count(LIMIT, workers=2)
    expect(report.total, PRIMES_BELOW_LIMIT, f"primes below {LIMIT}")


@points(3, timeout=40)
def test_work_runs_in_several_other_processes() -> None:
    report = parallel_count(LIMIT, workers=3, chunks=24)
    expect(os.getpid() in report.pids, False, "whether the test's own process did the work")
    expect(len(report.pids) >= 2, True,
           f"distinct worker pids >= 2 (got {sorted(report.pids)})")


@points(2, timeout=60)
def test_one_worker_agrees_and_speed_up_is_reported() -> None:
    started = time.perf_counter()
    one = parallel_count(LIMIT, workers=1)
    t_one = time.perf_counter() - started
    started = time.perf_counter()
    many = parallel_count(LIMIT, workers=os.cpu_count() or 2)
    t_many = time.perf_counter() - started
    expect(one.total, many.total, "the count with 1 worker vs. with several")
    expect(len(one.pids), 1, "processes used with workers=1")
    # Reported, not graded:
    print(f"1 worker: {t_one:.2f} s; {os.cpu_count()} workers: {t_many:.2f} s; "
          f"speed-up {t_one / max(t_many, 1e-9):.2f}x")
    expect(count_primes(0, 30)[0], 10, "count_primes(0, 30) (given)")

"""Calibration: CPU sizes that keep the workbook's promises on any machine's speed.

These check facts, not timings: whatever `fib(22)` took here, the sizes
chosen from it must make the mixed workload's CPU outweigh its waiting, trip
the slow-callback warning, and stay within what the server serves.
"""

from __future__ import annotations

import pytest

from minireactor.lab import LabError, calibrate
from minireactor.lab.calibrate import (
    HEAVY_SECONDS,
    MAX_N,
    SLOW_CALLBACK,
    Calibration,
    fib_calls,
)
from minireactor.lab.handlers import MAX_FIB

# A slow laptop, this kind of machine, a fast desktop, and one absurdly fast.
SPEEDS = [Calibration(22, s) for s in (0.008, 0.0022, 0.0007, 0.00005)]


def counted_fib(n: int, calls: list[int]) -> int:
    calls[0] += 1
    return n if n < 2 else counted_fib(n - 1, calls) + counted_fib(n - 2, calls)


@pytest.mark.parametrize("n", range(0, 16))
def test_fib_calls_is_exact(n: int) -> None:
    calls = [0]
    counted_fib(n, calls)
    assert fib_calls(n) == calls[0]


def test_calibrate_measures_once_per_process() -> None:
    first = calibrate()
    assert calibrate() is first
    again = calibrate(refresh=True)
    assert again is not first and calibrate() is again
    assert again.base_seconds > 0


@pytest.mark.parametrize("cal", SPEEDS, ids=lambda c: f"fib22={c.base_seconds}")
@pytest.mark.parametrize(("pages", "waiting"), [(20, 0.5), (60, 0.5), (200, 2.0)])
def test_mixed_cpu_outweighs_the_waiting(cal: Calibration, pages: int, waiting: float) -> None:
    n = cal.mixed_cpu(pages, waiting)
    assert pages * cal.seconds(n) >= 2 * waiting  # the computing clearly dominates
    assert cal.seconds(n) >= SLOW_CALLBACK  # each CPU step trips the slow-callback warning
    quiet = cal.mixed_cpu(pages, waiting, warn=False)
    assert quiet <= n and pages * cal.seconds(quiet) >= 2 * waiting
    assert quiet == 2 or pages * cal.seconds(quiet - 1) < 2 * waiting  # the smallest such


@pytest.mark.parametrize("cal", SPEEDS[:3], ids=lambda c: f"fib22={c.base_seconds}")
def test_heavy_request_is_a_good_fraction_of_a_second(cal: Calibration) -> None:
    seconds = cal.seconds(cal.heavy_n)
    ratio = 1.62  # one step of n: the closest n is within one step's ratio of the target
    assert HEAVY_SECONDS / ratio <= seconds <= HEAVY_SECONDS * ratio
    assert cal.heavy_path == f"/fib/{cal.heavy_n}" and cal.heavy_n <= MAX_FIB
    assert str(cal.heavy_n) in cal.describe() and str(cal.slow_n) in cal.describe()


def test_limits_are_kept_and_bad_input_is_explained() -> None:
    fastest = SPEEDS[-1]
    assert fastest.heavy_n <= MAX_FIB  # the server answers 400 above MAX_FIB
    assert fastest.n_for(1e9) == MAX_N
    with pytest.raises(LabError, match="fewer pages"):
        fastest.mixed_cpu(1, 1e6)
    with pytest.raises(LabError, match="pages >= 1"):
        SPEEDS[0].mixed_cpu(0, 0.5)


def test_this_machine_calibration_keeps_the_promises() -> None:
    cal = calibrate()
    n = cal.mixed_cpu(20, 0.5)
    assert 20 * cal.seconds(n) > 2 * 0.5
    assert cal.seconds(cal.slow_n) > SLOW_CALLBACK


@pytest.mark.timeout(90)
def test_slow_n_trips_the_warning_the_workbook_promises(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """In a Jupyter kernel the reactor warns at 0.1 s; fib(slow_n) per page must trip it."""
    import minireactor.core
    from minireactor.lab import fetch_all, internet

    monkeypatch.setattr(minireactor.core, "in_jupyter_kernel", lambda: True)
    cal = calibrate()
    with internet(seed=4, latency=0.01, error_rate=0.0) as net, caplog.at_level("WARNING"):
        report = fetch_all(net.urls(2), "minireactor", 2, 5.0, net=net, cpu=cal.slow_n)
    assert report.ok == 2
    assert any("Slow callback" in r.getMessage() for r in caplog.records)

"""Faults and overload on every backend: soak, shutdown under load, slow clients.

Each test here injects one fault and checks the outcome the reliability
report (RELIABILITY.md) promises. Counts are bounded, traffic stays on
loopback, and nothing waits on wall-clock speed except with wide margins.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import open_fds

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.faults import shutdown_under_load, slow_bodies, slowloris
from benchmarks.soak import run_soak

pytestmark = pytest.mark.timeout(120)


def test_soak_5_seconds_mixed_load(backend: str) -> None:
    result = run_soak(backend, seconds=5.0)
    assert result.errors == []
    assert result.echo_rounds > 50 and result.http_requests > 50 and result.churn_connections > 50
    assert result.fds_after == result.fds_before
    # Not growing once warm: 0.0-0.2 MiB measured over these 5 s (2026-12-03,
    # epoll and threaded, a loaded machine); 2 MiB leaves room for the
    # allocator keeping a few 256 KiB echo payloads, while a leak of a few
    # hundred bytes per request (thousands of requests here) would not fit.
    assert result.rss_end - result.rss_warm < 2 * 2**20


def test_stop_with_many_connections_timers_and_a_busy_thread_is_bounded_and_flushes(
    backend: str,
) -> None:
    before = open_fds()
    result = shutdown_under_load(backend, connections=1000)
    assert result["shutdown_s"] < 10.0  # bounded by shutdown_timeout, not by timers or threads
    assert result["closed_cleanly"] == result["connections"]
    assert result["all_bytes_delivered"]
    assert open_fds() == before


def test_slowloris_does_not_starve_a_normal_client(backend: str) -> None:
    result = slowloris(backend, slow=500, requests=25, header_timeout=2.0)
    assert result["failures"] == 0 and result["requests"] == 25
    # What the code promises is that nobody waits for a slow client's
    # deadline: every request is answered well within the 2 s header timeout
    # (the figures in RELIABILITY.md are a quiet machine's, not a promise).
    assert result["max_ms"] < 1000
    # Every slow connection got its 408 (not a reset, not a silent close) at
    # the header deadline, 2 s after its first byte: not before, and not at
    # the end of the trickle, as a deadline moved by each byte would be.
    assert result["answered_408"] == result["slow_connections"]
    assert result["cut_min_s"] >= 2.0 and result["cut_max_s"] < 2.0 + 2.0, result


def test_slow_bodies_are_cut_off_at_their_deadline(backend: str) -> None:
    # 100 connections send a head, then one body byte a second for 6 s.
    result = slow_bodies(backend, slow=100, requests=25, body_timeout=2.0)
    assert result["failures"] == 0 and result["requests"] == 25
    assert result["max_ms"] < 2000  # nobody waits for a slow client's (2 s) deadline
    # The deadline is 2 s after the head plus 1 s per 500 bytes received (a
    # few ms here): every 408 comes then, never before it, and long before
    # the trickle ends (a deadline each byte moved later would never come).
    assert result["answered_408"] == result["slow_connections"]
    assert result["cut_min_s"] >= 2.0 and result["cut_max_s"] < 2.0 + 2.0, result

"""Graded tests for exercise 07 (async-fetcher), against a local seeded HTTP server."""

from __future__ import annotations

import asyncio

from fetch_server import FetchServer
from fetcher import fetch_all, fetch_one

from minireactor.grader.testing import expect, points


@points(2)
def test_results_come_back_in_input_order() -> None:
    with FetchServer() as server:
        urls = [server.url(f"/item/{i}") for i in range(12)]
        results = asyncio.run(fetch_all(urls, limit=4))
    expect([r.url for r in results], urls, "the URLs of the results, in order")
    expect([r.status for r in results], [200] * 12, "the statuses")
    expect([r.body for r in results], [f"item {i}".encode() for i in range(12)], "the bodies")
    expect([r.error for r in results], [None] * 12, "the errors")


@points(3)
def test_never_more_than_limit_in_flight() -> None:
    with FetchServer() as server:
        urls = [server.url(f"/item/{i}") for i in range(20)]
        asyncio.run(fetch_all(urls, limit=5))
        peak = server.peak
    expect(peak <= 5, True, f"at most 5 requests in flight at the server (peak was {peak})")
    expect(peak, 5, "the peak: with 20 slow URLs, all 5 slots should be used at once")


@points(2)
def test_retries_a_flaky_url() -> None:
    with FetchServer() as server:
        url = server.url("/flaky/1/2")
        result = asyncio.run(fetch_one(url, timeout=2.0, retries=2))
        seen = server.attempts["/flaky/1/2"]
    expect((result.status, result.body, result.error), (200, b"flaky 1", None),
           "(status, body, error) after two 503s")
    expect(result.attempts, 3, "Result.attempts")
    expect(seen, 3, "attempts the server saw")


@points(2)
def test_times_out_and_gives_up() -> None:
    with FetchServer() as server:
        result = asyncio.run(fetch_one(server.url("/slow/1"), timeout=0.2, retries=1))
        seen = server.attempts["/slow/1"]
    expect((result.status, result.error, result.attempts), (None, "timeout", 2),
           "(status, error, attempts) for a URL slower than the timeout")
    expect(seen, 2, "attempts the server saw")


@points(1)
def test_client_errors_are_not_retried() -> None:
    with FetchServer() as server:
        result = asyncio.run(fetch_one(server.url("/missing/1"), timeout=2.0, retries=3))
        seen = server.attempts["/missing/1"]
    expect((result.status, result.error, result.attempts), (404, "http 404", 1),
           "(status, error, attempts) for a 404")
    expect(seen, 1, "attempts the server saw")

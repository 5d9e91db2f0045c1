"""Hidden tests for exercise 07: limit 1, a mixed batch, a connection error, a retry's turn."""

from __future__ import annotations

import asyncio
import socket

from fetch_server import FetchServer
from fetcher import fetch_all, fetch_one

from minireactor.grader.testing import expect, points


@points(1)
def test_limit_one_is_sequential() -> None:
    with FetchServer() as server:
        asyncio.run(fetch_all([server.url(f"/item/{i}") for i in range(5)], limit=1))
        expect(server.peak, 1, "the peak with limit=1")


@points(1)
def test_a_mixed_batch() -> None:
    with FetchServer() as server:
        paths = ["/item/1", "/missing/2", "/flaky/3/1", "/slow/4", "/item/5"]
        results = asyncio.run(fetch_all([server.url(p) for p in paths], limit=3,
                                        timeout=0.3, retries=1))
    expect([r.error for r in results], [None, "http 404", None, "timeout", None], "the errors")
    expect([r.attempts for r in results], [1, 1, 2, 2, 1], "the attempts")


@points(1)
def test_a_connection_error_is_retried_and_named() -> None:
    with socket.socket() as closed:  # a port nobody listens on: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/item/1"
        result = asyncio.run(fetch_one(url, timeout=2.0, retries=2))
    expect((result.status, result.attempts), (None, 3),
           "(status, attempts) when every connection is refused")
    expect(str(result.error).startswith("connection error: "), True,
           f'error starts with "connection error: " (it was {result.error!r})')


@points(1)
def test_a_retry_does_not_hold_its_slot() -> None:
    # limit=1: while /flaky/1/1 fails once and retries, the URLs queued behind
    # it must get the one slot first (the semaphore is taken per attempt).
    with FetchServer() as server:
        paths = ["/flaky/1/1", "/item/2", "/item/3"]
        results = asyncio.run(fetch_all([server.url(p) for p in paths], limit=1,
                                        timeout=2.0, retries=1))
        order = list(server.order)
    expect([r.error for r in results], [None, None, None], "the errors")
    expect(order[0], "/flaky/1/1", "the first request the server saw")
    expect(order.index("/item/2") < len(order) - 1 - order[::-1].index("/flaky/1/1"), True,
           f"/item/2 was served before /flaky/1/1's retry (the server saw {order})")

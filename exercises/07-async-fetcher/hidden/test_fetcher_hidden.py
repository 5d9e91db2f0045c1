"""Hidden tests for exercise 07: limit 1, and a mixed batch."""

from __future__ import annotations

import asyncio

from fetch_server import FetchServer
from fetcher import fetch_all

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

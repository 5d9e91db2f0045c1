# Grader fixture: holds its concurrency slot across every retry of a URL.
# expect-fail:
# hidden-fail: test_a_retry_does_not_hold_its_slot
"""Exercise 07 - async-fetcher: reference solution.

A semaphore bounds the requests in flight: every fetch takes it around each
attempt (not around the whole retry loop, so a URL waiting to retry does not
hold a slot). `gather` keeps the results in input order whatever order they
finish in. Each attempt gets its own timeout through `asyncio.wait_for`,
which cancels the attempt - and closes its connection - when time is up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Result:
    """The outcome of fetching one URL."""

    url: str
    status: int | None  # HTTP status of the last attempt; None if no reply came
    body: bytes
    attempts: int
    error: str | None  # None on success, else "timeout", "http 404", "connection error: ..."


async def http_get(url: str) -> tuple[int, bytes]:
    """GET `url` (http only) and return (status, body). Given: no need to change it."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
    try:
        path = parts.path or "/"
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {parts.hostname}\r\n\r\n".encode())
        await writer.drain()
        response = await reader.read()  # HTTP/1.0: the server closes after the body
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body


async def fetch_one(url: str, *, timeout: float, retries: int) -> Result:
    """Fetch `url`, giving each attempt `timeout` seconds.

    Retry (up to `retries` more attempts) after a timeout, a connection error
    or a 5xx status; never after a 4xx. Status 200 is success.
    """
    return await _fetch(url, None, timeout=timeout, retries=retries)


async def _fetch(
    url: str, slots: asyncio.Semaphore | None, *, timeout: float, retries: int
) -> Result:
    if slots is not None:
        async with slots:  # the bug: the slot is held while this URL retries
            return await _fetch(url, None, timeout=timeout, retries=retries)
    result = Result(url, None, b"", 0, None)
    for _ in range(retries + 1):
        result.attempts += 1
        try:
            status, body = await asyncio.wait_for(http_get(url), timeout)
        except TimeoutError:
            result.status, result.error = None, "timeout"
            continue
        except OSError as exc:
            result.status, result.error = None, f"connection error: {exc}"
            continue
        result.status, result.body = status, body
        result.error = None if status == 200 else f"http {status}"
        if status < 500:
            break  # success, or a client error that a retry will not fix
    return result


async def fetch_all(
    urls: list[str], *, limit: int, timeout: float = 5.0, retries: int = 2
) -> list[Result]:
    """Fetch every URL with at most `limit` requests in flight; results in `urls` order."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    slots = asyncio.Semaphore(limit)
    return list(await asyncio.gather(
        *(_fetch(url, slots, timeout=timeout, retries=retries) for url in urls)
    ))

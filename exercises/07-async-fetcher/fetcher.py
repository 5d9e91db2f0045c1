"""Exercise 07 - async-fetcher: fetch many URLs with asyncio, at most `limit` at a time.

`http_get` is given (a minimal HTTP/1.0 client on asyncio streams). Write
`fetch_one` (timeout + retries) and `fetch_all` (bounded concurrency, results
in input order). Read README.md first; check with `minireactor grade async-fetcher`.
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
    raise NotImplementedError("fetch_one(): asyncio.wait_for(http_get(url), timeout) in a loop")


async def fetch_all(
    urls: list[str], *, limit: int, timeout: float = 5.0, retries: int = 2
) -> list[Result]:
    """Fetch every URL with at most `limit` requests in flight; results in `urls` order."""
    raise NotImplementedError("fetch_all(): an asyncio.Semaphore(limit) and asyncio.gather")

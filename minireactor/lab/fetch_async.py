"""The event-loop fetch strategies: asyncio, aiohttp, minireactor (callbacks and async/await).

One thread, many requests in flight: each strategy starts `concurrency`
*workers* that pull URLs from one shared iterator until it is empty. (Sharing
an iterator is safe here: only one worker runs at a time, and each one only
advances it between awaits.) That bounds the requests in flight exactly, like
the `asyncio.Semaphore` of the classic walkthroughs, and gives every request
a worker name for the timeline plot.

* `asyncio`: standard-library streams, and our own sans-IO `ResponseParser`
  to read the response: no HTTP library at all, one new connection per URL.
* `aiohttp`: the popular asyncio HTTP client (connection pooling included).
* `minireactor`: the same idea with callbacks, on minireactor's `HTTPClient`
  with a fresh connection per request (as urllib and our asyncio version).
  A finished request's Deferred starts the worker's next request: no
  coroutines anywhere.
* `minireactor_async`: the same reactor and client, written with async/await
  on Deferreds (`ensure_deferred`), reading just like the asyncio version.

The CPU step (`cpu=N`) runs on the loop's thread and blocks it: while one
page is being "processed", no other request makes progress.

Read next: `crawl.py`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..protocols.http_parser import ResponseParser
from .procs import require
from .report import Record, classify
from .workers import burn, digest

__all__ = ["run_aiohttp", "run_asyncio", "run_minireactor", "run_minireactor_async"]

Result = tuple[Record, "bytes | None"]
Outcome = tuple["int | None", bytes, "str | None"]  # status, body, error


def _result(url: str, start: float, outcome: Outcome, worker: str, cpu: int, keep: bool) -> Result:
    """Turn (status, body, error) into a Record, after the CPU step."""
    status, body, error = outcome
    if error is None and status is not None and status != 200:
        error = f"http {status}"
    burn(cpu)
    record = Record(url, status, len(body), start, time.monotonic(), worker, error, digest(body))
    return record, (body if keep and error is None else None)


def _request_bytes(url: str) -> tuple[str, int, bool, bytes]:
    """(host, port, use_tls, request) for a GET of `url` on a fresh connection."""
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if tls else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: minireactor-lab\r\n"
        f"Accept-Encoding: identity\r\nConnection: close\r\n\r\n"
    )
    return host, port, tls, head.encode("latin-1")


async def _get_with_streams(url: str) -> Outcome:
    """GET `url` with asyncio streams; our sans-IO parser finds the message's end."""
    host, port, tls, request = _request_bytes(url)
    reader, writer = await asyncio.open_connection(
        host, port, ssl=ssl.create_default_context() if tls else None
    )
    try:
        writer.write(request)
        parser = ResponseParser()
        while True:
            response = parser.next_response()
            if response is not None and response.status >= 200:  # skip "100 Continue"
                return response.status, response.body, None
            if response is not None:
                continue
            data = await reader.read(65536)
            if data:
                parser.feed(data)
                continue
            parser.feed_eof()
            response = parser.next_response()
            if response is None:
                raise ConnectionResetError("the server closed the connection without answering")
            return response.status, response.body, None
    finally:
        writer.close()


async def _workers(
    urls: Sequence[str], concurrency: int, fetch: Callable[[str, str], Awaitable[Result]]
) -> list[Result]:
    """Run `concurrency` asyncio workers over `urls`; results in URL order."""
    results: list[Result | None] = [None] * len(urls)
    todo = iter(enumerate(urls))

    async def worker(name: str) -> None:
        for i, url in todo:
            results[i] = await fetch(url, name)

    await asyncio.gather(*(worker(f"task {w}") for w in range(min(concurrency, len(urls)))))
    return [r for r in results if r is not None]


def run_asyncio(
    urls: Sequence[str], concurrency: int, timeout: float, cpu: int, keep: bool, **_: Any
) -> list[Result]:
    async def fetch(url: str, worker: str) -> Result:
        start = time.monotonic()
        try:
            outcome = await asyncio.wait_for(_get_with_streams(url), timeout)
        except Exception as exc:  # recorded, never raised
            outcome = (None, b"", classify(exc))
        return _result(url, start, outcome, worker, cpu, keep)

    return _run_coroutine(lambda: _workers(urls, concurrency, fetch))


def run_aiohttp(
    urls: Sequence[str], concurrency: int, timeout: float, cpu: int, keep: bool, **_: Any
) -> list[Result]:
    aiohttp = require("aiohttp", "lab")

    async def main() -> list[Result]:
        connector = aiohttp.TCPConnector(limit=concurrency)
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:

            async def fetch(url: str, worker: str) -> Result:
                start = time.monotonic()
                try:
                    async with session.get(url) as response:
                        outcome: Outcome = (response.status, await response.read(), None)
                except Exception as exc:
                    outcome = (None, b"", classify(exc))
                return _result(url, start, outcome, worker, cpu, keep)

            return await _workers(urls, concurrency, fetch)

    return _run_coroutine(main)


def _outcome_of(result: Any) -> Outcome:
    """A minireactor HTTPClient result (a Response or an exception) as (status, body, error)."""
    if isinstance(result, BaseException):
        return None, b"", classify(result)
    return result.status, result.body, None


def run_minireactor(
    urls: Sequence[str],
    concurrency: int,
    timeout: float,
    cpu: int,
    keep: bool,
    backend: str = "auto",
    **_: Any,
) -> list[Result]:
    """Callbacks only: when one request's Deferred fires, its worker starts the next."""
    from ..protocols.http_client import HTTPClient
    from ..reactor import Reactor

    reactor = Reactor(backend=backend)
    client = HTTPClient(reactor, timeout=timeout, max_idle_per_host=0)
    results: list[Result | None] = [None] * len(urls)
    todo = iter(enumerate(urls))
    workers_left = min(concurrency, len(urls))

    def start_next(worker: str) -> None:
        nonlocal workers_left
        item = next(todo, None)
        if item is None:
            workers_left -= 1
            if workers_left == 0:
                client.close()
                reactor.stop()
            return
        i, url = item
        start = reactor.seconds()

        def done(result: Any) -> None:
            results[i] = _result(url, start, _outcome_of(result), worker, cpu, keep)
            # call_soon, not a direct call: a run of instant failures must not recurse.
            reactor.call_soon(start_next, worker)

        client.get(url).add_both(done)

    for w in range(workers_left):
        reactor.call_when_running(start_next, f"worker {w}")
    reactor.run()
    return [r for r in results if r is not None]


def run_minireactor_async(
    urls: Sequence[str],
    concurrency: int,
    timeout: float,
    cpu: int,
    keep: bool,
    backend: str = "auto",
    **_: Any,
) -> list[Result]:
    """async/await on Deferreds: the asyncio version's shape, on minireactor."""
    from ..defer import ensure_deferred, gather
    from ..main import run
    from ..protocols.http_client import HTTPClient

    async def main(reactor: Any) -> list[Result]:
        client = HTTPClient(reactor, timeout=timeout, max_idle_per_host=0)
        results: list[Result | None] = [None] * len(urls)
        todo = iter(enumerate(urls))

        async def worker(name: str) -> None:
            for i, url in todo:
                start = reactor.seconds()
                try:
                    outcome = _outcome_of(await client.get(url))
                except Exception as exc:
                    outcome = _outcome_of(exc)
                results[i] = _result(url, start, outcome, name, cpu, keep)

        count = min(concurrency, len(urls))
        await gather(*(ensure_deferred(worker(f"coroutine {w}")) for w in range(count)))
        client.close()
        return [r for r in results if r is not None]

    result: list[Result] = run(main, backend=backend)
    return result


def _run_coroutine(make: Callable[[], Coroutine[Any, Any, list[Result]]]) -> list[Result]:
    """`asyncio.run(make())`, also from inside a running loop (a Jupyter cell).

    asyncio.run() refuses to start a loop in a thread that already runs one,
    as Jupyter's kernel does; there we run the coroutine on a fresh loop in a
    helper thread and wait for it, so the strategy works the same everywhere.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fetch-asyncio") as pool:
        results: list[Result] = pool.submit(lambda: asyncio.run(make())).result()
        return results

"""Ten ways to download a list of URLs, behind one function: `fetch_all`.

    report = fetch_all(urls, strategy="thread_pool", concurrency=20, timeout=5.0)

The strategies, from the simplest to the most machinery:

==================  ==========================================================
sequential          a for loop over urllib: one request at a time
threads             one `threading.Thread` per URL, at most `concurrency` alive
thread_pool         `ThreadPoolExecutor(concurrency)`: threads reused
multiprocessing     `multiprocessing.Pool(concurrency)`: one process per worker
process_pool        `ProcessPoolExecutor(concurrency)`
asyncio             asyncio streams only (no third-party HTTP library)
aiohttp             asyncio plus aiohttp's client (`pip install 'minireactor[lab]'`)
minireactor         a minireactor reactor, callbacks on Deferreds
minireactor_async   the same reactor, written with async/await
dask                a dask.distributed cluster (`pip install 'minireactor[dask]'`)
==================  ==========================================================

All of them honour the concurrency limit and the per-request timeout, and
record failures instead of raising, so every run yields one `Record` per URL.
The blocking ones are in this file; the event-loop ones in `fetch_async.py`.
`cpu=N` adds `fib(N)` of pure-Python work after each download: watch the
threads stop scaling (the GIL) while the processes keep going.

Read next: `fetch_async.py`; then `crawl.py`, which builds on `fetch_all`.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from . import fetch_async
from .procs import LabError, require
from .report import Record, Report
from .workers import fetch_one, fetch_one_packed

__all__ = ["STRATEGIES", "fetch_all"]

Result = tuple[Record, "bytes | None"]
Runner = Callable[..., list[Result]]


def _sequential(
    urls: Sequence[str], concurrency: int, timeout: float, cpu: int, keep: bool, **_: Any
) -> list[Result]:
    return [fetch_one(url, timeout, cpu, keep) for url in urls]


def _threads(
    urls: Sequence[str], concurrency: int, timeout: float, cpu: int, keep: bool, **_: Any
) -> list[Result]:
    """One new thread per URL; a semaphore keeps at most `concurrency` of them alive."""
    results: list[Result | None] = [None] * len(urls)
    slots = threading.BoundedSemaphore(concurrency)
    threads = []

    def work(i: int, url: str) -> None:
        try:
            results[i] = fetch_one(url, timeout, cpu, keep)  # each thread writes its own slot
        finally:
            slots.release()

    for i, url in enumerate(urls):
        slots.acquire()  # wait here, in the main thread, until a slot is free
        thread = threading.Thread(target=work, args=(i, url), name=f"fetch-{i}", daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return [r for r in results if r is not None]


def _thread_pool(
    urls: Sequence[str], concurrency: int, timeout: float, cpu: int, keep: bool, **_: Any
) -> list[Result]:
    with ThreadPoolExecutor(concurrency, thread_name_prefix="pool") as pool:
        return list(
            pool.map(fetch_one, urls, [timeout] * len(urls), [cpu] * len(urls), [keep] * len(urls))
        )


def _mp_context(start_method: str | None) -> Any:
    return multiprocessing.get_context(start_method)


def _multiprocessing(
    urls: Sequence[str],
    concurrency: int,
    timeout: float,
    cpu: int,
    keep: bool,
    start_method: str | None = None,
    **_: Any,
) -> list[Result]:
    jobs = [(url, timeout, cpu, keep) for url in urls]
    with _mp_context(start_method).Pool(concurrency) as pool:
        return list(pool.imap(fetch_one_packed, jobs))  # imap keeps the order of the URLs


def _process_pool(
    urls: Sequence[str],
    concurrency: int,
    timeout: float,
    cpu: int,
    keep: bool,
    start_method: str | None = None,
    **_: Any,
) -> list[Result]:
    with ProcessPoolExecutor(concurrency, mp_context=_mp_context(start_method)) as pool:
        return list(
            pool.map(fetch_one, urls, [timeout] * len(urls), [cpu] * len(urls), [keep] * len(urls))
        )


def _dask(
    urls: Sequence[str],
    concurrency: int,
    timeout: float,
    cpu: int,
    keep: bool,
    scheduler: str | None = None,
    **_: Any,
) -> list[Result]:
    """Tasks on a dask cluster; at most `concurrency` submitted at any moment."""
    distributed = require("dask.distributed", "dask")
    if scheduler:
        client = distributed.Client(scheduler)
        cluster = None
    else:
        # One worker process with `concurrency` threads: exactly the limit asked for.
        cluster = distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=concurrency,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
        client = distributed.Client(cluster)
    try:
        results: dict[str, Result] = {}
        pending = iter(urls)
        window = distributed.as_completed()
        for url in [u for _, u in zip(range(concurrency), pending, strict=False)]:
            window.add(client.submit(fetch_one, url, timeout, cpu, keep, pure=False))
        for future in window:
            record, body = future.result()
            results[record.url] = (record, body)
            following = next(pending, None)
            if following is not None:
                window.add(client.submit(fetch_one, following, timeout, cpu, keep, pure=False))
        return [results[url] for url in urls]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


STRATEGIES: dict[str, Runner] = {
    "sequential": _sequential,
    "threads": _threads,
    "thread_pool": _thread_pool,
    "multiprocessing": _multiprocessing,
    "process_pool": _process_pool,
    "asyncio": fetch_async.run_asyncio,
    "aiohttp": fetch_async.run_aiohttp,
    "minireactor": fetch_async.run_minireactor,
    "minireactor_async": fetch_async.run_minireactor_async,
    "dask": _dask,
}
"""Every fetch strategy by name (each runs `(urls, concurrency, timeout, cpu, keep, **options)`)."""


def fetch_all(
    urls: Sequence[str],
    strategy: str = "thread_pool",
    concurrency: int = 10,
    timeout: float = 5.0,
    *,
    cpu: int = 0,
    keep_bodies: bool = False,
    net: Any = None,
    **options: Any,
) -> Report:
    """Fetch every URL with one strategy; return a `Report` (failures recorded, not raised).

    Args:
        urls: http:// (or https://, except on minireactor) URLs; duplicates are allowed.
        strategy: a name from `STRATEGIES`.
        concurrency: the most requests in progress at once (the number of
            threads, processes or tasks; 1 for sequential).
        timeout: seconds allowed for each request.
        cpu: burn `fib(cpu)` of CPU after each download (0: none).
        keep_bodies: keep each successful body in `report.bodies`.
        net: the `Internet` being fetched from; its statistics for this run
            are reset first and stored in `report.server`.
        **options: strategy-specific: `start_method` (process strategies),
            `scheduler` (dask: an existing scheduler's address), `backend`
            (minireactor strategies).

    Raises:
        LabError: unknown strategy or bad limits; MissingDependency when the
            strategy's optional library is not installed.
    """
    runner = STRATEGIES.get(strategy)
    if runner is None:
        raise LabError(f"unknown strategy {strategy!r}; choose from: {', '.join(STRATEGIES)}")
    if concurrency < 1 or timeout <= 0:
        raise LabError(f"concurrency must be >= 1 and timeout > 0 (got {concurrency}, {timeout})")
    if strategy == "sequential":
        concurrency = 1
    urls = list(urls)
    if net is not None:
        net.reset()
    start = time.monotonic()
    results = runner(urls, concurrency, timeout, cpu, keep_bodies, **options) if urls else []
    wall = time.monotonic() - start
    report = Report(strategy, concurrency, [r for r, _ in results], wall, start)
    if keep_bodies:
        report.bodies = {r.url: body for r, body in results if body is not None}
    if net is not None:
        report.server = net.stats()
    return report


def read_url_file(path: str) -> list[str]:
    """The http(s) URLs in a text file, one a line ("#" starts a comment).

    Raises:
        LabError: the file is missing, empty, or holds something that is not a URL.
    """
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.split("#", 1)[0].strip() for line in f]
    except OSError as exc:
        raise LabError(f"cannot read URL file {path}: {exc.strerror}") from None
    urls = [line for line in lines if line]
    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if bad or not urls:
        raise LabError(f"{path}: expected one http(s):// URL per line, found {bad[:1] or 'none'}")
    return urls

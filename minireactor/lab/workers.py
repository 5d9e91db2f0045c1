"""Blocking work done by one worker: fetch one URL, burn some CPU.

These functions live in an importable module, not in a notebook, because
process pools under the "spawn" start method (macOS, Windows, and Linux from
Python 3.14) start a fresh interpreter that must import the function it is
asked to run. A function defined in a notebook cell cannot be found there.

`fetch_one` uses urllib, the standard library's blocking HTTP client, and
returns what it saw as a `Record` (never raising), plus the body if asked.
`burn` is the CPU-bound companion step: a pure-Python Fibonacci, which holds
the GIL for its whole run. Add it to each page (`cpu=N`) and threads stop
helping, while processes keep scaling.

Read next: `fetch.py`, which hands these to threads and processes.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import urllib.error
import urllib.request
from functools import cache
from urllib.parse import urlsplit

from .report import Record, classify

__all__ = ["burn", "digest", "fetch_one", "fib"]


def fib(n: int) -> int:
    """The n-th Fibonacci number, computed the slow way on purpose (CPU work)."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def burn(cpu: int) -> None:
    """Do `fib(cpu)`'s worth of pure-Python work (0: nothing)."""
    if cpu > 0:
        fib(cpu)


def digest(body: bytes) -> str:
    """A short fingerprint of a body, to check it without keeping it."""
    return hashlib.sha256(body).hexdigest()[:16]


def worker_name() -> str:
    """Who is running this: "pid 1234/ThreadName"."""
    return f"pid {os.getpid()}/{threading.current_thread().name}"


@cache
def _opener(loopback: bool) -> urllib.request.OpenerDirector:
    # Loopback URLs must never go through an HTTP proxy set in the environment.
    if loopback:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def fetch_one(
    url: str, timeout: float, cpu: int = 0, keep_body: bool = False
) -> tuple[Record, bytes | None]:
    """GET `url` with urllib; never raises.

    Args:
        timeout: seconds for connecting and for each read.
        cpu: after the download, burn `fib(cpu)` of CPU (0: none).
        keep_body: return the body as well as the record.

    Returns:
        (record, body or None).
    """
    start = time.monotonic()
    status: int | None = None
    body = b""
    error: str | None = None
    host = urlsplit(url).hostname or ""
    opener = _opener(host in ("127.0.0.1", "localhost", "::1"))
    try:
        with opener.open(url, timeout=timeout) as response:
            status = response.status
            body = response.read()
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"http {exc.code}"
        exc.close()
    except Exception as exc:  # every failure becomes a record, none stops the run
        error = classify(exc)
    burn(cpu)
    record = Record(url, status, len(body), start, time.monotonic(), worker_name(), error)
    record.digest = digest(body) if body else ""
    return record, (body if keep_body and error is None else None)


def fetch_one_packed(args: tuple[str, float, int, bool]) -> tuple[Record, bytes | None]:
    """`fetch_one` taking one tuple (for `Pool.imap`, which passes one argument)."""
    return fetch_one(*args)

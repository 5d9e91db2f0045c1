"""The lab's blocking HTTP servers keep the server protocol's deadlines.

`lab.handlers.serve_http_blocking` (the iterative, thread, pool and prefork
models) drives the same `RequestParser` as `HTTPServerProtocol`, and the same
`RequestDeadline`, through socket timeouts: a slow head or a slow body gets a
408 at its deadline instead of holding a worker thread forever.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from minireactor.lab.handlers import serve_http_blocking
from minireactor.protocols.http_parser import ResponseParser
from minireactor.protocols.http_timeouts import ServerLimits

pytestmark = pytest.mark.timeout(30)


@contextmanager
def blocking_server(limits: ServerLimits) -> Iterator[tuple[str, int]]:
    """Serve one connection at a time on a thread (the iterative model)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            serve_http_blocking(conn, limits=limits)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()
    finally:
        stop.set()
        thread.join(10)
        listener.close()


def trickle(
    address: tuple[str, int], head: bytes, piece: bytes, pace: float
) -> tuple[bytes, float]:
    """Send `head`, then `piece` every `pace` s until answered; (answer, seconds to it)."""
    with socket.create_connection(address) as sock:
        sock.sendall(head)
        start = time.monotonic()
        sock.settimeout(pace)
        while time.monotonic() - start < 10:
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except TimeoutError:
                sock.sendall(piece)
        answered = time.monotonic() - start
        sock.settimeout(5)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks), answered


def statuses(data: bytes) -> list[int]:
    parser = ResponseParser()
    parser.feed(data)
    parser.feed_eof()
    result = []
    while (response := parser.next_response()) is not None:
        result.append(response.status)
    return result


def test_a_slow_body_gets_a_408_at_its_deadline() -> None:
    limits = ServerLimits(idle_timeout=10, body_timeout=1.0, body_min_rate=500)
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    with blocking_server(limits) as address:
        data, answered = trickle(address, head, b"x", 0.2)
    assert statuses(data) == [408] and b"slower than 500 bytes/s" in data
    assert 1.0 <= answered < 3.0, answered  # a per-byte deadline would never answer


def test_a_slow_head_gets_a_408_at_its_deadline() -> None:
    limits = ServerLimits(idle_timeout=10, header_timeout=1.0)
    with blocking_server(limits) as address:
        data, answered = trickle(address, b"GET / HTTP/1.1\r\n", b"X-Slow: 1\r\n", 0.2)
    assert statuses(data) == [408] and b"headers took longer than 1.0 s" in data
    assert 1.0 <= answered < 3.0, answered


def test_quick_requests_are_answered_and_an_idle_connection_closed_quietly() -> None:
    limits = ServerLimits(idle_timeout=0.5)
    hello = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    with blocking_server(limits) as address, socket.create_connection(address) as sock:
        sock.sendall(hello + hello)
        sock.settimeout(5)
        start = time.monotonic()
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        closed_after = time.monotonic() - start
    assert statuses(b"".join(chunks)) == [200, 200]  # and no 408 for the quiet close
    assert 0.5 <= closed_after < 3.0

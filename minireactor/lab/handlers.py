"""The server workloads: the same handlers for every concurrency model.

Two workloads, so that models are compared on identical work:

* **echo**: send back every byte received (no parsing at all: pure I/O cost).
* **http**: HTTP/1.1 with three routes: `GET /` answers "hello", `GET /page/N`
  a 2 KiB HTML page, `GET /fib/N` the N-th Fibonacci number, computed slowly
  in pure Python (CPU-bound: Beazley's fib server, where the GIL shows).

`http_app(request) -> Response` is the one handler. The event-loop models
give it to `HTTPServerProtocol`; the blocking models (iterative, threads,
pools, prefork) drive the same sans-IO `RequestParser` from a blocking socket
in `serve_http_blocking`. `expected_body(path)` lets the load generator check
every response it gets.

Read next: `servers.py`, which runs these under each model.
"""

from __future__ import annotations

import socket
from typing import Any

from ..protocol import Protocol
from ..protocols.http_messages import HTTPParseError, Request, Response
from ..protocols.http_parser import RequestParser
from ..protocols.http_writer import ResponseWriter
from .pages import SiteConfig, page_body
from .workers import fib

__all__ = [
    "EchoProtocol",
    "encode_response",
    "expected_body",
    "http_app",
    "serve_echo_blocking",
    "serve_http_blocking",
]

PAGES = SiteConfig(seed=0, latency=0.0, size=2048)
"""The pages served at /page/N (seed 0, 2 KiB each)."""
MAX_FIB = 36
"""The largest N served at /fib/N: fib(36) takes seconds even on a fast machine.

Experiments size N from this machine's speed (`calibrate.py`), not by guessing."""


def http_app(request: Request) -> Response:
    """The HTTP workload's one handler: /, /page/N, /fib/N."""
    path = request.target.split("?", 1)[0]
    if request.method not in ("GET", "HEAD"):
        return Response(405, {"Allow": "GET, HEAD"}, b"only GET here\n")
    status, body = route(path)
    content_type = "text/html; charset=utf-8" if path.startswith("/page/") else "text/plain"
    return Response(status, {"Content-Type": content_type}, body)


def route(path: str) -> tuple[int, bytes]:
    """(status, body) for `path`: the pure part of the handler."""
    if path == "/":
        return 200, b"hello"
    kind, _, number = path[1:].partition("/")
    if kind in ("page", "fib") and number.isdigit():
        n = int(number)
        if kind == "page":
            return 200, page_body(PAGES, n)
        if n <= MAX_FIB:
            return 200, str(fib(n)).encode()
        return 400, f"fib/N is served for N <= {MAX_FIB}\n".encode()
    return 404, b"try /, /page/N or /fib/N\n"


def expected_body(path: str) -> bytes:
    """What a correct server answers to GET `path` (for the load generator's checks)."""
    return route(path)[1]


class _Collect:
    """A stand-in transport that keeps what `ResponseWriter` writes."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.chunks.append(data)

    def writelines(self, chunks: list[bytes]) -> None:
        self.chunks += chunks


def encode_response(response: Response, close: bool, request: Request | None = None) -> bytes:
    """A response as bytes, for the blocking models.

    The event-loop models' `HTTPServerProtocol` encodes with `ResponseWriter`;
    so do these, so every model sends the same bytes (Date and Server
    included) at the same cost, and a comparison measures only the model.
    """
    out = _Collect()
    answered = request or Request("GET", "/", "HTTP/1.1")
    ResponseWriter().write(out, answered, response, keep_alive=not close)
    return b"".join(out.chunks)


def serve_http_blocking(conn: socket.socket, keep_alive: bool = True) -> None:
    """Answer HTTP requests on one blocking socket until it closes.

    Args:
        keep_alive: False answers "Connection: close" to every request. Every
            server model keeps connections alive (the client decides; see servers.py).
    """
    parser = RequestParser()
    with conn:
        while True:
            try:
                request = parser.next_request()
            except HTTPParseError as exc:
                conn.sendall(encode_response(Response(exc.status, body=str(exc)), close=True))
                return
            if request is None:
                data = conn.recv(65536)
                if not data:
                    return
                parser.feed(data)
                continue
            close = not (keep_alive and request.keep_alive)
            conn.sendall(encode_response(http_app(request), close, request))
            if close:
                return


def serve_echo_blocking(conn: socket.socket) -> None:
    """Echo on one blocking socket until the client closes."""
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


class EchoProtocol(Protocol):
    """Echo as a protocol: the same class runs on minireactor and on asyncio."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

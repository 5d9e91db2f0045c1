"""Tests for minireactor/protocols/http.py (the server) and http_client.py.

The server protocol uses asyncio's method names, so it is tested first on
asyncio's own loop (run in a background thread) with real clients: urllib,
httpx, aiohttp, curl and raw sockets. The same checks then run on minireactor
over every backend via the `reactor` fixture, and the client is tested
against http.server, aiohttp and our own server.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from minireactor.protocols.http import (
    HTTPServerProtocol,
    Request,
    Response,
    ServerLimits,
    server_factory,
)
from minireactor.protocols.http_parser import ResponseParser

CURL = shutil.which("curl")

# -- handlers shared by the tests -------------------------------------------------------


def app(request: Request) -> Response | None:
    """A small application exercising each way of answering."""
    if request.path == "/hello":
        return Response(200, body="hello")
    if request.path == "/echo":
        return Response(200, {"X-Method": request.method}, request.body)
    if request.path == "/headers":
        return Response(200, body=repr(sorted(request.headers.items())))
    if request.path == "/boom":
        raise RuntimeError("handler bug (expected by the test)")
    if request.path == "/split":
        return Response(200, {"X-Bad": "a\r\nInjected: yes"}, b"")
    if request.path == "/close":
        return Response(200, {"Connection": "close"}, b"bye")
    if request.path == "/nocontent":
        return Response(204, body=b"ignored")
    if request.path.startswith("/later/"):
        # Answer after a delay without blocking the loop: return None now,
        # call request.respond() from a timer.
        delay = float(request.path.rsplit("/", 1)[1])
        request_clock(request).call_later(delay, request.respond, Response(200, body=request.path))
        return None
    return Response(404, body="not found")


_clocks: dict[int, Any] = {}


def request_clock(request: Request) -> Any:
    """The loop serving the current test (one per thread in these tests)."""
    return _clocks[threading.get_ident()]


# -- an asyncio server in a background thread ----------------------------------------------


@contextmanager
def asyncio_server(
    handler: Callable[[Request], Response | None] = app, **options: Any
) -> Iterator[tuple[str, int]]:
    """Serve `handler` with HTTPServerProtocol on asyncio's loop; yield (host, port)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    address: list[tuple[str, int]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        _clocks[threading.get_ident()] = loop
        server = loop.run_until_complete(
            loop.create_server(
                lambda: HTTPServerProtocol(handler, clock=loop, **options), "127.0.0.1", 0
            )
        )
        address.append(server.sockets[0].getsockname()[:2])
        started.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "asyncio server did not start"
    try:
        yield address[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def raw_exchange(address: tuple[str, int], data: bytes, timeout: float = 5.0) -> bytes:
    """Send `data`, half-close, and read everything until the server closes."""
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def parse_responses(data: bytes, methods: list[str] | None = None) -> list[Response]:
    """Split a byte stream from the server into responses."""
    parser = ResponseParser()
    parser.feed(data)
    parser.feed_eof()
    responses = []
    for method in methods or ["GET"] * 100:
        response = parser.next_response(method)
        if response is None:
            break
        responses.append(response)
    return responses


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


# -- checks that run against any server address ----------------------------------------------
# Each takes (host, port) and uses blocking clients, so the same function runs
# against the asyncio server (in its thread) and the minireactor server (whose
# reactor the test thread spins while the check runs in a worker thread).


def check_urllib(address: tuple[str, int]) -> None:
    base = f"http://{address[0]}:{address[1]}"
    with urllib.request.urlopen(base + "/hello", timeout=5) as reply:
        assert reply.status == 200 and reply.read() == b"hello"
        assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert reply.headers["Date"] and reply.headers["Server"] == "minireactor"
    post = urllib.request.Request(base + "/echo", data=b"x" * 100_000, method="PUT")
    with urllib.request.urlopen(post, timeout=5) as reply:
        assert reply.read() == b"x" * 100_000 and reply.headers["X-Method"] == "PUT"


def check_httpx_keep_alive(address: tuple[str, int]) -> None:
    base = f"http://{address[0]}:{address[1]}"
    ports = set()
    with httpx.Client(base_url=base, timeout=5) as client:
        for i in range(20):
            reply = client.post("/echo", content=str(i).encode())
            assert reply.status_code == 200 and reply.content == str(i).encode()
            ports.add(reply.extensions["network_stream"].get_extra_info("client_addr"))
        assert client.head("/hello").headers["content-length"] == "5"
        assert client.get("/missing").status_code == 404
        assert client.get("/nocontent").status_code == 204
        assert client.get("/later/0.01").text == "/later/0.01"
    assert len(ports) == 1  # one connection carried every request


def check_pipelining(address: tuple[str, int]) -> None:
    # The slow request comes first; its answer must still come first.
    requests = b"".join(
        f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        for path in ["/later/0.05", "/hello", "/later/0", "/echo"]
    )
    data = raw_exchange(address, requests + b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    responses = parse_responses(data, ["GET"] * 4 + ["HEAD"])
    assert [r.body for r in responses] == [b"/later/0.05", b"hello", b"/later/0", b"", b""]
    assert responses[4].headers["content-length"] == "5"


def check_errors(address: tuple[str, int]) -> None:
    cases = [
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20_000 + b"\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n", 500),
        (b"GET /split HTTP/1.1\r\nHost: x\r\n\r\n", 500),
    ]
    for raw, status in cases:
        # A good request first: the error answer follows it, then the close.
        data = raw_exchange(address, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n" + raw + raw)
        responses = parse_responses(data)
        assert [r.status for r in responses] == [200, status], raw[:40]
        assert responses[1].headers["connection"] == "close"
        assert b"Injected" not in data


def check_connection_rules(address: tuple[str, int]) -> None:
    hello = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
    # Connection: close from the client, from the handler, and HTTP/1.0 default.
    for first in [
        b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /hello HTTP/1.0\r\n\r\n",
    ]:
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(first + hello)  # the second request must be ignored
            responses = parse_responses(read_until_closed(sock))
        assert len(responses) == 1 and responses[0].status == 200
    # HTTP/1.0 with keep-alive gets "Connection: keep-alive" and stays open.
    data = raw_exchange(address, b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + hello)
    first, second = parse_responses(data)
    assert first.headers["connection"] == "keep-alive" and second.body == b"hello"


def check_curl(address: tuple[str, int]) -> None:
    if CURL is None:
        return
    base = f"http://{address[0]}:{address[1]}"

    def curl(*args: str) -> str:
        return subprocess.run(
            [CURL, "-sS", "--max-time", "5", *args], capture_output=True, text=True, check=True
        ).stdout

    assert curl(base + "/hello", base + "/hello") == "hellohello"
    assert curl("-0", base + "/hello") == "hello"  # HTTP/1.0
    assert "Content-Length: 5" in curl("-I", base + "/hello")
    body = "y" * 3000
    assert curl("-H", "Transfer-Encoding: chunked", "--data-binary", body, base + "/echo") == body
    # Expect: 100-continue makes curl wait for our interim answer (or 1 s).
    assert curl("-H", "Expect: 100-continue", "--data-binary", body, base + "/echo") == body


ALL_CHECKS = [
    check_urllib,
    check_httpx_keep_alive,
    check_pipelining,
    check_errors,
    check_connection_rules,
    check_curl,
]


# -- on asyncio's loop ---------------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__[6:])
def test_asyncio_server(check: Callable[[tuple[str, int]], None]) -> None:
    with asyncio_server() as address:
        check(address)


@pytest.mark.timeout(30)
def test_asyncio_server_with_aiohttp_client() -> None:
    aiohttp = pytest.importorskip("aiohttp")

    async def fetch_many(base: str) -> list[bytes]:
        async with aiohttp.ClientSession() as session:

            async def one(i: int) -> bytes:
                async with session.post(base + "/echo", data=b"%d" % i) as reply:
                    assert reply.status == 200
                    return bytes(await reply.read())

            return await asyncio.gather(*(one(i) for i in range(50)))

    with asyncio_server() as (host, port):
        bodies = asyncio.run(fetch_many(f"http://{host}:{port}"))
    assert bodies == [b"%d" % i for i in range(50)]


def slowloris(address: tuple[str, int], lines: int = 50, pace: float = 0.1) -> bytes:
    """Send a request head one header line every `pace` s; return what the server says."""
    with socket.create_connection(address) as sock:
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(pace)
        for _ in range(lines):
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # the server answered before the head was complete
            except TimeoutError:
                sock.sendall(b"X-Slow: 1\r\n")
        sock.settimeout(5)
        return read_until_closed(sock)


@pytest.mark.timeout(30)
def test_header_timeout_stops_slowloris() -> None:
    # Trickling header lines (every 0.1 s for up to 5 s) does not extend the 0.3 s deadline.
    limits = ServerLimits(header_timeout=0.3, idle_timeout=5)
    with asyncio_server(limits=limits) as address:
        responses = parse_responses(slowloris(address))
    assert [r.status for r in responses] == [408]
    assert b"headers took longer than 0.3 s" in responses[0].body


@pytest.mark.timeout(30)
def test_idle_timeout_closes_quietly() -> None:
    limits = ServerLimits(idle_timeout=0.2)
    with asyncio_server(limits=limits) as address, socket.create_connection(address) as sock:
        sock.settimeout(5)
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_until_closed(sock)  # returns once the idle timer closes it
    assert [r.body for r in parse_responses(data)] == [b"hello"]


@pytest.mark.timeout(30)
def test_late_respond_after_client_left_is_ignored() -> None:
    answered = threading.Event()

    def handler(request: Request) -> Response | None:
        if request.path != "/slow":
            return app(request)

        def later() -> None:
            request.respond(Response(200, body="too late"))  # the client is gone: dropped
            answered.set()

        request_clock(request).call_later(0.2, later)
        return None

    with asyncio_server(handler) as address:
        with socket.create_connection(address) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answered.wait(5)
        check_urllib(address)  # and the server goes on serving


def test_server_factory_rejects_unknown_limits() -> None:
    with pytest.raises(TypeError):
        server_factory(app, max_bodybytes=10)
    factory = server_factory(app, max_body_bytes=10)
    protocol = factory.build_protocol(None)
    assert isinstance(protocol, HTTPServerProtocol) and protocol.limits.max_body_bytes == 10

"""Tests for protocols/http.py (the server), http_client_protocol.py and http_client.py.

The server protocol uses asyncio's method names, so it is tested first on
asyncio's own loop (run in a background thread) with real clients: urllib,
httpx, aiohttp, curl and raw sockets. The same checks then run on minireactor
over every backend via the `reactor` fixture, and the client is tested
against http.server, aiohttp and our own server.
"""

from __future__ import annotations

import asyncio
import http.server
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from conftest import spin

from minireactor import Factory, Protocol, Reactor, defer
from minireactor.protocols.http import (
    HTTPError,
    HTTPServerProtocol,
    Request,
    Response,
    ServerLimits,
    server_factory,
)
from minireactor.protocols.http_client import (
    HTTPClient,
    HTTPClientProtocol,
    HTTPTimeoutError,
    ResponseNotReceived,
    TooManyRedirects,
    fetch,
)
from minireactor.protocols.http_parser import ResponseParser
from minireactor.testing import Clock, StringTransport

CURL = shutil.which("curl")

# -- handlers shared by the tests -------------------------------------------------------


def make_app(clock: Any) -> Callable[[Request], Any]:
    """A small application exercising each way of answering; `clock` arms its timers."""

    def app(request: Request) -> Any:
        if request.path == "/hello":
            return Response(200, body="hello")
        if request.path == "/echo":
            return Response(200, {"X-Method": request.method}, request.body)
        if request.path == "/boom":
            raise RuntimeError("handler bug (expected by the test)")
        if request.path == "/split":
            return Response(200, {"X-Bad": "a\r\nInjected: yes"}, b"")
        if request.path == "/close":
            return Response(200, {"Connection": "close"}, b"bye")
        if request.path == "/nocontent":
            return Response(204, body=b"ignored")
        if request.path.startswith("/later/"):
            # Answer after a delay without blocking the loop: return None
            # now, call request.respond() from a timer.
            delay = float(request.path.rsplit("/", 1)[1])
            clock.call_later(delay, request.respond, Response(200, body=request.path))
            return None
        if request.path.startswith("/async/"):
            return answer_later(clock, request)  # a coroutine
        if request.path.startswith("/redirect/"):
            hops = int(request.path.rsplit("/", 1)[1])
            location = f"/redirect/{hops - 1}" if hops > 0 else "/hello"
            return Response(int(request.query or 302), {"Location": location}, b"")
        return Response(404, body="not found")

    return app


async def answer_later(clock: Any, request: Request) -> Response:
    await defer.sleep(clock, float(request.path.rsplit("/", 1)[1]))
    return Response(200, body=request.path)


# -- an asyncio server in a background thread ----------------------------------------------


@contextmanager
def asyncio_server(
    handler: Callable[[Request], Any] | None = None, **options: Any
) -> Iterator[tuple[str, int]]:
    """Serve `handler` with HTTPServerProtocol on asyncio's loop; yield (host, port)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    address: list[tuple[str, int]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        serve = handler or make_app(loop)
        server = loop.run_until_complete(
            loop.create_server(
                lambda: HTTPServerProtocol(serve, clock=loop, **options), "127.0.0.1", 0
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
        assert client.get("/async/0.01").text == "/async/0.01"
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
        pytest.skip("curl is not installed (apt-get install curl)")
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
        check(address)  # asyncio's loop serves in its own thread


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


def slowloris(address: tuple[str, int], lines: int = 50, pace: float = 0.1) -> tuple[bytes, float]:
    """Send a request head one header line every `pace` s.

    Returns what the server said and how long after the first byte its
    answer arrived: a deadline that each trickle extended would answer only
    after the `lines * pace` s of trickling, if at all.
    """
    with socket.create_connection(address) as sock:
        start = time.monotonic()
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(pace)
        for _ in range(lines):
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # the server answered before the head was complete
            except TimeoutError:
                sock.sendall(b"X-Slow: 1\r\n")
        answered = time.monotonic() - start
        sock.settimeout(5)
        return read_until_closed(sock), answered


@pytest.mark.timeout(30)
def test_header_timeout_stops_slowloris() -> None:
    # Trickling header lines (every 0.1 s for up to 5 s) does not extend the 0.3 s deadline.
    limits = ServerLimits(header_timeout=0.3, idle_timeout=5)
    with asyncio_server(limits=limits) as address:
        data, answered = slowloris(address)
    responses = parse_responses(data)
    assert [r.status for r in responses] == [408]
    assert b"headers took longer than 0.3 s" in responses[0].body
    # Not before the deadline, and long before the trickle (5 s) would end.
    # The upper margin is for a loaded machine; a deadline extended by each
    # trickle would answer only after 5 s.
    assert 0.3 <= answered < 2.5, answered


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

    def handler(request: Request) -> Any:
        loop = asyncio.get_running_loop()  # handlers run on the server's loop
        if request.path != "/slow":
            return make_app(loop)(request)

        def later() -> None:
            request.respond(Response(200, body="too late"))  # the client is gone: dropped
            answered.set()

        loop.call_later(0.2, later)
        return None

    with asyncio_server(handler) as address:
        with socket.create_connection(address) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answered.wait(5)
        check_urllib(address)  # and the server goes on serving


def test_server_factory_rejects_unknown_limits() -> None:
    with pytest.raises(TypeError):
        server_factory(make_app(None), max_bodybytes=10)
    factory = server_factory(make_app(None), max_body_bytes=10)
    protocol = factory.build_protocol(None)
    assert isinstance(protocol, HTTPServerProtocol) and protocol.limits.max_body_bytes == 10


# -- the same checks on minireactor, every backend ----------------------------------------------


@contextmanager
def minireactor_server(
    reactor: Reactor, handler: Callable[[Request], Any] | None = None, **limits: Any
) -> Iterator[tuple[str, int]]:
    factory = server_factory(handler or make_app(reactor), clock=reactor, **limits)
    port = reactor.listen_tcp(0, factory)
    try:
        yield port.address
    finally:
        port.stop_listening()


def base_url(address: tuple[Any, ...]) -> str:
    return f"http://{address[0]}:{address[1]}"


def in_thread(reactor: Reactor, func: Callable[..., Any], *args: Any, timeout: float = 30) -> Any:
    """Run blocking `func` in a worker thread while this thread spins the reactor."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(func, *args)
        spin(reactor, until=future.done, timeout=timeout)
        return future.result()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__[6:])
def test_minireactor_server(reactor: Reactor, check: Callable[[tuple[str, int]], None]) -> None:
    with minireactor_server(reactor) as address:
        in_thread(reactor, check, address)


@pytest.mark.timeout(30)
def test_minireactor_server_timeouts(reactor: Reactor) -> None:
    with minireactor_server(reactor, header_timeout=0.3, idle_timeout=0.5) as address:
        data, answered = in_thread(reactor, slowloris, address)
        [timed_out] = parse_responses(data)
        assert timed_out.status == 408 and 0.3 <= answered < 2.5, answered
        stalled_body = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nabc"
        [stalled] = parse_responses(in_thread(reactor, raw_exchange_open, address, stalled_body))
        assert stalled.status == 408 and b"body stalled" in stalled.body


def upload_too_large(address: tuple[str, int], size: int) -> bytes:
    """Send a request head and a `size`-byte body as a client that does not look back would."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode())
        sock.sendall(b"x" * size)  # a server that closed on the 413 would reset this
        sock.shutdown(socket.SHUT_WR)
        return read_until_closed(sock)


@pytest.mark.timeout(30)
def test_error_answer_survives_a_client_that_keeps_sending(reactor: Reactor) -> None:
    # The 413 goes out after the first KiB; the client still sends 4 MiB. Closing
    # then would reset the connection and destroy the 413 (see _linger).
    with minireactor_server(reactor, max_body_bytes=1024) as address:
        [answer] = parse_responses(in_thread(reactor, upload_too_large, address, 4 * 1024 * 1024))
    assert answer.status == 413


@pytest.mark.timeout(30)
def test_error_answer_survives_on_asyncio_too() -> None:
    with asyncio_server(limits=ServerLimits(max_body_bytes=1024)) as address:
        [answer] = parse_responses(upload_too_large(address, 4 * 1024 * 1024))
    assert answer.status == 413


def test_error_answer_lingers_then_closes() -> None:
    clock = Clock()
    protocol = HTTPServerProtocol(
        make_app(clock), clock=clock, limits=ServerLimits(linger_timeout=2)
    )
    transport = StringTransport()
    transport.connect(protocol)
    protocol.data_received(b"NONSENSE\r\n\r\n")
    answer = transport.value()
    assert answer.startswith(b"HTTP/1.1 400 ") and transport.eof_written and not transport.closing
    protocol.data_received(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")  # dropped, not answered
    assert transport.value() == answer
    clock.advance(1.9)
    assert not transport.closing
    clock.advance(0.1)
    assert transport.closing  # the client never closed: we stop waiting
    quick = HTTPServerProtocol(make_app(clock), clock=clock)
    other = StringTransport()
    other.connect(quick)
    quick.data_received(b"NONSENSE\r\n\r\n")
    assert not quick.eof_received()  # the client closed: so do we, at once


def raw_exchange_open(address: tuple[str, int], data: bytes) -> bytes:
    """Send `data` and keep our side open: read until the server closes."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(data)
        return read_until_closed(sock)


# -- the client ---------------------------------------------------------------------------------


def wait(reactor: Reactor, d: defer.Deferred[Any], timeout: float = 10) -> Any:
    """Spin the reactor until `d` fires; return its result or raise its error."""
    outcome: list[Any] = []
    d.add_both(outcome.append)
    spin(reactor, until=lambda: bool(outcome), timeout=timeout)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


class CountingFactory(Factory[HTTPServerProtocol]):
    """server_factory's protocols, counting the connections made."""

    def __init__(self, reactor: Reactor) -> None:
        super().__init__()
        self.inner = server_factory(make_app(reactor), clock=reactor)
        self.connections = 0

    def build_protocol(self, addr: Any) -> HTTPServerProtocol:
        self.connections += 1
        return self.inner.build_protocol(addr)


@pytest.mark.timeout(30)
def test_client_reuses_connections(reactor: Reactor) -> None:
    counting = CountingFactory(reactor)
    port = reactor.listen_tcp(0, counting)
    base = base_url(port.address)
    client = HTTPClient(reactor)
    for i in range(5):
        response = wait(reactor, client.request("POST", base + "/echo", body=b"%d" % i))
        assert (response.status, response.body) == (200, b"%d" % i)
        assert response.url == base + "/echo"
    head = wait(reactor, client.request("HEAD", base + "/hello"))
    assert head.body == b"" and head.headers["content-length"] == "5"
    assert wait(reactor, client.get(base + "/nocontent")).status == 204
    assert counting.connections == 1
    # Concurrent requests need more connections; afterwards they are pooled.
    many = wait(reactor, defer.gather(*(client.get(base + "/later/0.05") for _ in range(4))))
    assert [r.body for r in many] == [b"/later/0.05"] * 4
    assert counting.connections == 4
    client.close()
    port.stop_listening()


@pytest.mark.timeout(30)
def test_client_redirects_and_timeouts(reactor: Reactor) -> None:
    with minireactor_server(reactor) as address:
        base = base_url(address)
        client = HTTPClient(reactor)
        assert wait(reactor, client.get(base + "/redirect/2")).status == 302  # off by default
        followed = wait(reactor, client.get(base + "/redirect/2", follow_redirects=True))
        assert (followed.body, followed.url) == (b"hello", base + "/hello")
        posted = client.request("POST", base + "/redirect/0?303", body=b"x", follow_redirects=True)
        assert wait(reactor, posted).body == b"hello"  # 303: POST became GET
        with pytest.raises(TooManyRedirects):
            wait(reactor, client.get(base + "/redirect/20", follow_redirects=True))
        with pytest.raises(HTTPTimeoutError, match=r"within 0\.1 s"):
            wait(reactor, client.get(base + "/later/5", timeout=0.1))
        assert wait(reactor, client.get(base + "/hello")).body == b"hello"  # still fine
        client.close()


@pytest.mark.timeout(30)
def test_client_errors(reactor: Reactor) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    free = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    with pytest.raises(ConnectionRefusedError):
        wait(reactor, fetch(reactor, f"http://127.0.0.1:{free}/"))
    with pytest.raises(HTTPError, match="only http://"):
        wait(reactor, fetch(reactor, "https://example.com/"))


class DropSecond(Protocol):
    """Answers the first request on a connection, then closes on the next one."""

    answered = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.answered:
            self.transport.close()  # the keep-alive race: the server gave up just now
        else:
            self.answered = True
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


@pytest.mark.timeout(30)
def test_client_retries_a_stale_connection_once(reactor: Reactor) -> None:
    port = reactor.listen_tcp(0, Factory.for_protocol(DropSecond))
    base = base_url(port.address) + "/"
    client = HTTPClient(reactor)
    assert wait(reactor, client.get(base)).body == b"ok"
    assert wait(reactor, client.get(base)).body == b"ok"  # retried on a new connection
    with pytest.raises(ResponseNotReceived):  # POST is not retried: it might run twice
        wait(reactor, client.request("POST", base, body=b"x"))
    port.stop_listening()


@pytest.mark.timeout(30)
def test_client_with_coroutines(reactor: Reactor) -> None:
    async def main(base: str) -> list[bytes]:
        client = HTTPClient(reactor)
        first = await client.get(base + "/hello")
        second = await client.get(base + "/async/0.01")
        client.close()
        return [first.body, second.body]

    with minireactor_server(reactor) as address:
        bodies = wait(reactor, defer.ensure_deferred(main(base_url(address))))
    assert bodies == [b"hello", b"/async/0.01"]


@pytest.mark.timeout(30)
def test_client_against_http_server(reactor: Reactor) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def do_GET(self) -> None:
            body = self.path.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = base_url(server.server_address[:2])
        client = HTTPClient(reactor)
        for path in ["/a", "/b?c=d"]:
            response = wait(reactor, client.get(base + path))
            assert (response.status, response.body) == (200, path.encode())
        client.close()
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.timeout(30)
def test_client_against_aiohttp_server(reactor: Reactor) -> None:
    web = pytest.importorskip("aiohttp.web")

    async def chunked(request: Any) -> Any:
        response = web.StreamResponse()
        await response.prepare(request)  # no length: aiohttp sends chunks
        for part in (b"one ", b"two ", b"three"):
            await response.write(part)
        await response.write_eof()
        return response

    async def hi(request: Any) -> Any:
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/hi", hi)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        client = HTTPClient(reactor)
        assert (
            wait(reactor, client.get(f"http://127.0.0.1:{port}/chunked")).body == b"one two three"
        )
        assert wait(reactor, client.get(f"http://127.0.0.1:{port}/hi")).text() == "hi"
        client.close()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def test_client_protocol_rejects_a_second_request_in_flight() -> None:
    protocol = HTTPClientProtocol()
    protocol.request("GET", "/", {"Host": "x"})
    with pytest.raises(HTTPError, match="busy"):
        protocol.request("GET", "/", {"Host": "x"})
    with pytest.raises(HTTPError, match="CR or LF"):
        HTTPClientProtocol().request("GET", "/", {"Host": "x\r\nEvil: 1"})


# -- deadlines on a fake clock: exactly when a slow client is cut off -------------------------


def fake_server(**limits: Any) -> tuple[Clock, HTTPServerProtocol, StringTransport]:
    clock = Clock()
    protocol = HTTPServerProtocol(make_app(clock), clock=clock, limits=ServerLimits(**limits))
    transport = StringTransport()
    transport.connect(protocol)
    return clock, protocol, transport


def trickle_until_answered(
    clock: Clock,
    protocol: HTTPServerProtocol,
    transport: StringTransport,
    piece: bytes,
    pace: float,
    until: float,
) -> float | None:
    """Send `piece` every `pace` s (in 10 ms ticks); the time the answer began, or None."""
    ticks_per_piece = round(pace / 0.01)
    for tick in range(1, round(until / 0.01) + 1):
        clock.advance(0.01)
        if transport.value():
            return round(clock.seconds(), 2)
        if tick % ticks_per_piece == 0:
            protocol.data_received(piece)
    return None


def test_header_deadline_counts_from_the_first_byte_not_the_last() -> None:
    clock, protocol, transport = fake_server(header_timeout=1.0, idle_timeout=10)
    protocol.data_received(b"GET /hello HTTP/1.1\r\n")
    answered = trickle_until_answered(clock, protocol, transport, b"X-Slow: 1\r\n", 0.2, 5.0)
    assert answered is not None and 1.0 <= answered <= 1.01  # not 1.2, 1.4, ... per trickle
    assert transport.value().startswith(b"HTTP/1.1 408 ") and b"headers took longer" in (
        transport.value()
    )


def test_a_slow_body_is_cut_off_by_its_minimum_rate() -> None:
    # 1 byte every 0.5 s: 2 bytes/s, far below 100 bytes/s. The deadline is
    # 2 s after the head plus 1 s per 100 bytes: 2.05 s once 5 bytes came.
    clock, protocol, transport = fake_server(
        idle_timeout=10, body_timeout=2.0, body_min_rate=100.0, linger_timeout=1.0
    )
    protocol.data_received(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
    protocol.data_received(b"x")
    answered = trickle_until_answered(clock, protocol, transport, b"x", 0.5, 10.0)
    assert answered is not None and 2.05 <= answered <= 2.06  # the tick that reaches 2.05
    answer = transport.value()
    assert answer.startswith(b"HTTP/1.1 408 ") and b"slower than 100 bytes/s" in answer
    assert transport.eof_written and not transport.closing  # a lingering close
    clock.advance(1.0)
    assert transport.closing


def test_a_body_faster_than_the_minimum_rate_is_never_cut_off() -> None:
    # 20 bytes every 0.1 s (200 bytes/s) for 5 s: past body_timeout, but
    # each byte buys 10 ms more.
    clock, protocol, transport = fake_server(idle_timeout=10, body_timeout=1.0, body_min_rate=100)
    protocol.data_received(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(50):
        clock.advance(0.1)
        protocol.data_received(b"y" * 20)
    [answer] = parse_responses(transport.value())
    assert answer.status == 200 and answer.body == b"y" * 1000


def test_without_a_rate_body_timeout_bounds_the_whole_body() -> None:
    clock, protocol, transport = fake_server(idle_timeout=10, body_timeout=1.0, body_min_rate=None)
    protocol.data_received(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
    answered = trickle_until_answered(clock, protocol, transport, b"z" * 1000, 0.1, 5.0)
    assert answered is not None and 1.0 <= answered <= 1.01  # however fast the bytes came
    assert b"body took longer than 1.0 s" in transport.value()


def test_each_request_on_a_connection_gets_its_own_body_deadline() -> None:
    clock, protocol, transport = fake_server(idle_timeout=10, body_timeout=1.0, body_min_rate=None)
    for n in range(3):  # each body takes 0.8 s: 2.4 s in all, each within its 1 s
        protocol.data_received(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n")
        for _ in range(8):
            clock.advance(0.1)
            protocol.data_received(b"%d" % n)
    assert [r.status for r in parse_responses(transport.value())] == [200, 200, 200]
    assert not transport.closing


def test_a_stalled_body_is_still_cut_off_by_the_idle_timeout() -> None:
    clock, protocol, transport = fake_server(idle_timeout=0.5, body_timeout=20.0)
    protocol.data_received(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
    clock.advance(0.49)
    assert transport.value() == b""
    clock.advance(0.01)
    assert b"body stalled for 0.5 s" in transport.value()


def test_a_head_that_completes_in_time_is_answered_and_the_deadline_rearmed() -> None:
    clock, protocol, transport = fake_server(header_timeout=1.0, idle_timeout=10)
    protocol.data_received(b"GET /hello HTTP/1.1\r\n")
    clock.advance(0.9)
    protocol.data_received(b"Host: x\r\n\r\n")
    protocol.data_received(b"GET /hello HTTP/1.1\r\n")  # the next head starts at 0.9
    clock.advance(0.99)
    assert [r.status for r in parse_responses(transport.value())] == [200]
    clock.advance(0.01)
    assert [r.status for r in parse_responses(transport.value())] == [200, 408]

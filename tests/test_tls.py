"""Tests for tls.py and tls_endpoints.py: TLS over MemoryBIO, every backend, trustme certs."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import trustme
from conftest import spin

from minireactor import (
    ClientFactory,
    ConnectTimeoutError,
    Factory,
    Protocol,
    Reactor,
    tls_endpoints,
)
from minireactor.tls_endpoints import connect_tls, listen_tls

pytestmark = pytest.mark.timeout(60)


class Echo(Protocol):
    """An echo server that respects flow control: it stops reading while
    its own writes are paused, so a fast client cannot bloat its buffer."""

    instances: ClassVar[list[Echo]] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.lost: list[BaseException | None] = []
        Echo.instances.append(self)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.append(exc)


class Client(Protocol):
    """Sends `payload` in chunks while the transport lets it; closes when all came back."""

    def __init__(self, payload: bytes, chunk: int = 256 * 1024) -> None:
        self.payload, self.chunk = payload, chunk
        self.sent = 0
        self.paused = False
        self.pauses = 0
        self.received = bytearray()
        self.digest = hashlib.sha256()
        self.count = 0
        self.lost: list[BaseException | None] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.produce()

    def produce(self) -> None:
        while not self.paused and self.sent < len(self.payload):
            self.transport.write(self.payload[self.sent : self.sent + self.chunk])
            self.sent += self.chunk

    def pause_writing(self) -> None:
        self.paused = True
        self.pauses += 1

    def resume_writing(self) -> None:
        self.paused = False
        self.produce()

    def data_received(self, data: bytes) -> None:
        self.digest.update(data)
        self.count += len(data)
        if len(self.payload) <= 65536:
            self.received += data
        if self.count >= len(self.payload):
            self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.append(exc)


class Recorder(ClientFactory[Any]):
    def __init__(self, payload: bytes = b"") -> None:
        super().__init__()
        self.payload = payload
        self.protocols: list[Client] = []
        self.failed: list[BaseException] = []
        self.ended: list[BaseException | None] = []

    def build_protocol(self, addr: Any) -> Client:
        self.protocols.append(Client(self.payload))
        return self.protocols[-1]

    def client_connection_failed(self, connector: Any, exc: BaseException) -> None:
        self.failed.append(exc)

    def client_connection_lost(self, connector: Any, exc: BaseException | None) -> None:
        self.ended.append(exc)


@pytest.fixture
def server(reactor: Reactor, server_context: ssl.SSLContext) -> Iterator[int]:
    Echo.instances = []
    port = listen_tls(reactor, 0, Factory.for_protocol(Echo), server_context)
    yield port.address[1]


def connect(
    reactor: Reactor, port: int, payload: bytes, ctx: ssl.SSLContext | None, **kw: Any
) -> Recorder:
    factory = Recorder(payload)
    connect_tls(reactor, "127.0.0.1", port, factory, ctx, **kw)
    return factory


def test_echo_and_clean_close(
    reactor: Reactor, server: int, client_context: ssl.SSLContext
) -> None:
    factory = connect(reactor, server, b"secret", client_context, server_hostname="localhost")
    spin(reactor, lambda: bool(factory.ended) and bool(Echo.instances[0].lost))
    client = factory.protocols[0]
    assert bytes(client.received) == b"secret"
    assert client.lost == [None] and factory.ended == [None]
    assert Echo.instances[0].lost == [None]  # our close_notify reached it
    info = client.transport.get_extra_info
    assert ("DNS", "localhost") in info("peercert")["subjectAltName"]
    assert info("version") in ("TLSv1.2", "TLSv1.3")
    assert info("peername")[0] == "127.0.0.1"
    assert client.transport.can_write_eof() is False
    with pytest.raises(NotImplementedError, match="close_notify"):
        client.transport.write_eof()


def test_sixteen_mebibytes_echo_with_flow_control(
    reactor: Reactor, server: int, client_context: ssl.SSLContext
) -> None:
    payload = bytes(range(256)) * (16 * 4096)
    factory = connect(reactor, server, payload, client_context, server_hostname="localhost")
    spin(reactor, lambda: bool(factory.ended), timeout=50)
    client = factory.protocols[0]
    assert client.count == len(payload)
    assert client.digest.hexdigest() == hashlib.sha256(payload).hexdigest()
    assert client.pauses >= 1  # pause_writing reached the protocol through TLS
    assert factory.ended == [None]


def test_wrong_hostname_fails_verification(
    reactor: Reactor, server: int, client_context: ssl.SSLContext
) -> None:
    factory = connect(reactor, server, b"x", client_context, server_hostname="example.org")
    spin(reactor, lambda: bool(factory.failed))
    assert isinstance(factory.failed[0], ssl.SSLCertVerificationError)
    assert "example.org" in str(factory.failed[0])
    assert factory.protocols == []  # never connected, never built
    # The server shrugged it off and still serves.
    good = connect(reactor, server, b"ok", client_context, server_hostname="localhost")
    spin(reactor, lambda: bool(good.ended))
    assert bytes(good.protocols[0].received) == b"ok"


def test_default_context_verifies_against_system_cas(reactor: Reactor, server: int) -> None:
    factory = connect(reactor, server, b"x", None, server_hostname="localhost")
    spin(reactor, lambda: bool(factory.failed))
    assert isinstance(factory.failed[0], ssl.SSLCertVerificationError)
    assert "unable to get local issuer" in str(factory.failed[0])


def test_expired_certificate_is_rejected(
    reactor: Reactor, ca: trustme.CA, client_context: ssl.SSLContext
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    expired = ca.issue_cert(
        "localhost",
        not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=1),
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    expired.configure_cert(ctx)
    port = listen_tls(reactor, 0, Factory.for_protocol(Echo), ctx).address[1]
    factory = connect(reactor, port, b"x", client_context, server_hostname="localhost")
    spin(reactor, lambda: bool(factory.failed))
    assert isinstance(factory.failed[0], ssl.SSLCertVerificationError)
    assert "expired" in str(factory.failed[0])


def test_plain_tcp_client_is_logged_not_fatal(
    reactor: Reactor, server: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="minireactor")
    raw = socket.create_connection(("127.0.0.1", server))
    raw.sendall(b"GET / HTTP/1.0\r\n\r\n")  # not a TLS ClientHello
    raw.setblocking(False)
    spin(reactor, lambda: "TLS handshake with" in caplog.text)
    raw.close()
    assert Echo.instances == []


def test_handshake_timeouts(
    reactor: Reactor, monkeypatch: pytest.MonkeyPatch, server_context: ssl.SSLContext
) -> None:
    # Server side: a client that connects and says nothing is dropped.
    monkeypatch.setattr(tls_endpoints, "HANDSHAKE_TIMEOUT", 0.2)
    port = listen_tls(reactor, 0, Factory.for_protocol(Echo), server_context).address[1]
    silent = socket.create_connection(("127.0.0.1", port))
    silent.setblocking(False)
    closed: list[bytes] = []

    def peek() -> bool:
        try:
            closed.append(silent.recv(100))
        except BlockingIOError:
            return False
        return True

    spin(reactor, peek, timeout=5)
    assert closed == [b""]
    silent.close()
    # Client side: a server that accepts and never answers.
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen()
    factory = connect(reactor, mute.getsockname()[1], b"x", None, timeout=0.2)
    spin(reactor, lambda: bool(factory.failed), timeout=5)
    assert isinstance(factory.failed[0], ConnectTimeoutError)
    mute.close()


def test_client_context_refused_for_server(
    reactor: Reactor, client_context: ssl.SSLContext
) -> None:
    with pytest.raises(ValueError, match="server context"):
        listen_tls(reactor, 0, Factory.for_protocol(Echo), client_context)


def test_interop_client_against_asyncio_server(
    reactor: Reactor, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    class AsyncioEcho(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data[::-1])

    async def serve() -> None:
        srv = await loop.create_server(AsyncioEcho, "127.0.0.1", 0, ssl=server_context)
        holder["port"] = srv.sockets[0].getsockname()[1]
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(serve()), loop.run_forever()))
    thread.start()
    try:
        assert started.wait(10)
        factory = connect(
            reactor, holder["port"], b"stressed", client_context, server_hostname="localhost"
        )
        spin(reactor, lambda: bool(factory.ended))
        assert bytes(factory.protocols[0].received) == b"desserts"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_interop_server_with_stdlib_blocking_client(
    reactor: Reactor, server: int, client_context: ssl.SSLContext
) -> None:
    answers: list[bytes] = []

    def blocking_client() -> None:
        raw = socket.create_connection(("127.0.0.1", server), timeout=10)
        with client_context.wrap_socket(raw, server_hostname="localhost") as tls_sock:
            tls_sock.sendall(b"from the stdlib")
            data = b""
            while len(data) < 15:
                data += tls_sock.recv(100)
            answers.append(data)

    thread = threading.Thread(target=blocking_client)
    thread.start()
    spin(reactor, lambda: not thread.is_alive(), timeout=20)
    thread.join()
    assert answers == [b"from the stdlib"]
    spin(reactor, lambda: bool(Echo.instances[0].lost))


def test_shutdown_closes_tls_connections(
    backend: str, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    reactor = Reactor(backend=backend)
    Echo.instances = []
    port = listen_tls(reactor, 0, Factory.for_protocol(Echo), server_context).address[1]

    class StopWhenEchoed(Client):
        def data_received(self, data: bytes) -> None:
            reactor.stop()  # both sides connected: shut down with the connection open

    factory = Recorder()
    factory.build_protocol = lambda addr: StopWhenEchoed(b"ping")  # type: ignore[method-assign]
    connect_tls(reactor, "127.0.0.1", port, factory, client_context, server_hostname="localhost")
    reactor.run()
    assert factory.ended == [None]
    assert Echo.instances[0].lost == [None]

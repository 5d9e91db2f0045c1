"""The skeleton's closing state machine (transport.py), pinned for TLS and child processes.

Every transport shares one machine::

    open --close()--> closing --flushed--> lost (the end is told once)
    open/closing --abort(exc) or a protocol error--> lost

TCP, UDP and stdio are pinned in their own test files; these tests pin the
same rules for the two transports whose closing is their own: a TLS session
(close_notify, then the TCP connection underneath) and a child process
(stdin closed and SIGTERM; abort is SIGKILL). Each test names the bug it
catches.
"""

from __future__ import annotations

import signal
import socket
import ssl
from typing import Any

import pytest
from conftest import open_fds, spin

from minireactor import ClientFactory, Factory, Protocol, Reactor
from minireactor.process import ProcessProtocol, spawn_process
from minireactor.tcp import TCPTransport
from minireactor.tls import TLSTransport
from minireactor.tls_endpoints import connect_tls, listen_tls

pytestmark = pytest.mark.timeout(60)

IGNORES_TERM = ["sh", "-c", 'trap "" TERM; echo ready; exec sleep 30']
"""A child that shrugs off SIGTERM (the ignored signal survives exec), so only abort() ends it."""


# -- TLS ------------------------------------------------------------------------


class Peer(Protocol):
    """Echoes (server side) or collects (client side); b"boom" raises; records every end."""

    instances: list[Peer] = []  # noqa: RUF012 (reset by each test that uses it)
    reads = True  # False: pause reading at once, so the other side's writes pile up

    def __init__(self, echo: bool = True) -> None:
        self.echo = echo
        self.transport: Any = None
        self.received = bytearray()
        self.lost: list[BaseException | None] = []
        self.closing_when_lost: bool | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        Peer.instances.append(self)
        if not self.reads:
            transport.pause_reading()

    def data_received(self, data: bytes) -> None:
        if data == b"boom":
            raise RuntimeError("bug in data_received")
        self.received += data
        if self.echo:
            self.transport.write(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.append(exc)
        self.closing_when_lost = self.transport.is_closing()


class Clients(ClientFactory[Any]):
    """Keeps each client `Peer` and what the connector reported."""

    def __init__(self) -> None:
        super().__init__()
        self.protocols: list[Peer] = []
        self.failed: list[BaseException] = []
        self.ended: list[BaseException | None] = []

    def build_protocol(self, addr: Any) -> Peer:
        self.protocols.append(Peer(echo=False))
        return self.protocols[-1]

    def client_connection_failed(self, connector: Any, exc: BaseException) -> None:
        self.failed.append(exc)

    def client_connection_lost(self, connector: Any, exc: BaseException | None) -> None:
        self.ended.append(exc)


def tls_pair(
    reactor: Reactor, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> tuple[Clients, Peer, Peer]:
    """A connected (factory, client, server) over TLS, handshake done on both sides."""
    Peer.instances = []
    port = listen_tls(reactor, 0, Factory.for_protocol(Peer), server_context).address[1]
    return tls_client(reactor, port, client_context)


def tls_client(
    reactor: Reactor, port: int, client_context: ssl.SSLContext
) -> tuple[Clients, Peer, Peer]:
    """One more client of the `Peer` server on `port`, with its server side."""
    known = set(map(id, Peer.instances))
    factory = Clients()
    connect_tls(reactor, "127.0.0.1", port, factory, client_context, server_hostname="localhost")
    spin(reactor, lambda: len(Peer.instances) == len(known) + 2)
    client = factory.protocols[0]
    (server,) = (p for p in Peer.instances if id(p) not in known and p is not client)
    if server.reads:
        # One round trip: the server's session tickets are read too (a socket
        # closed with unread data sends a reset, not a clean end).
        client.transport.write(b"hello")
        spin(reactor, lambda: client.received == b"hello")
    return factory, client, server


def test_tls_close_twice_ends_each_side_once(
    reactor: Reactor, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    # Catches: a second close() or a second connection_lost from TCP ending us twice.
    factory, client, server = tls_pair(reactor, server_context, client_context)
    client.transport.close()
    client.transport.close()
    client.transport.write(b"after close: ignored")
    assert client.transport.is_closing()
    spin(reactor, lambda: bool(client.lost and server.lost))
    for _ in range(5):
        reactor.iterate(0.01)
    assert (client.lost, server.lost, factory.ended, factory.failed) == ([None], [None], [None], [])


def test_tls_abort_after_close_ends_at_once_with_its_reason(
    reactor: Reactor,
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Catches: abort() ignored because close() already set "closing"; the
    # session would then wait for a flush that never comes.
    monkeypatch.setattr(Peer, "reads", False)  # the server never reads: our buffer stays full
    factory, client, _server = tls_pair(reactor, server_context, client_context)
    client.transport.write(b"x" * (12 << 20))
    for _ in range(20):
        reactor.iterate(0.01)
    assert client.transport.get_write_buffer_size() > 0  # the kernel's buffers are full
    client.transport.close()
    for _ in range(10):
        reactor.iterate(0.01)
    assert client.lost == []  # close() waits for the flush
    reason = ConnectionAbortedError("given up")
    client.transport.abort(reason)
    spin(reactor, lambda: bool(client.lost), timeout=2)
    assert (client.lost, factory.ended) == ([reason], [reason])
    assert client.closing_when_lost


def test_tls_protocol_error_closes_only_that_connection(
    reactor: Reactor,
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Catches: the error not closing the connection, closing them all, or
    # losing its reason on the way through the TCP transport underneath.
    _factory, first, first_server = tls_pair(reactor, server_context, client_context)
    port = first_server.transport.get_extra_info("sockname")[1]
    _factory, second, second_server = tls_client(reactor, port, client_context)
    first.transport.write(b"boom")
    spin(reactor, lambda: bool(first.lost and first_server.lost))
    assert len(first_server.lost) == 1
    assert isinstance(first_server.lost[0], RuntimeError)
    assert "bug in data_received" in caplog.text
    # Lost is closing too, even for the client, whose peer simply went away.
    assert first.closing_when_lost and first_server.closing_when_lost
    second.transport.write(b" again")
    spin(reactor, lambda: second.received == b"hello again")
    assert second.lost == second_server.lost == []


def test_tls_shutdown_during_the_handshake_fails_the_connect_once(
    backend: str, client_context: ssl.SSLContext
) -> None:
    # Catches: on_lost (client_connection_lost) told after a handshake that
    # never finished, or the failure told twice, or the session not closed.
    reactor = Reactor(backend=backend)
    mute = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    factory = Clients()
    connect_tls(
        reactor,
        "127.0.0.1",
        mute.getsockname()[1],
        factory,
        client_context,
        server_hostname="localhost",
    )
    reactor.call_later(0.2, reactor.stop)
    try:
        reactor.run()  # shutdown: close() every owned transport, our TLS session included
    finally:
        mute.close()
    assert len(factory.failed) == 1, factory.failed
    assert isinstance(factory.failed[0], ConnectionError)
    assert (factory.ended, factory.protocols) == ([], [])


def test_tls_abort_before_connection_made_fails_the_handshake(
    reactor: Reactor, client_context: ssl.SSLContext
) -> None:
    # Catches: abort() crashing with no TCP transport yet, or being forgotten
    # once TCP arrives (the handshake would then go ahead).
    failed: list[BaseException] = []
    built: list[Peer] = []

    def make_protocol() -> Peer:
        built.append(Peer())
        return built[-1]

    tls = TLSTransport(reactor, client_context, False, "localhost", make_protocol, failed.append, 5)
    reason = ConnectionAbortedError("not wanted after all")
    tls.abort(reason)
    assert tls.is_closing()
    ours, theirs = socket.socketpair()
    TCPTransport(reactor, ours, tls)
    spin(reactor, lambda: bool(failed), timeout=2)
    assert (failed, built) == ([reason], [])
    theirs.settimeout(2)
    assert theirs.recv(100) == b""  # no ClientHello: closed unsent
    theirs.close()


# -- child processes --------------------------------------------------------------


class Child(ProcessProtocol):
    """Records callbacks in order, the output, and every signal the transport sends."""

    def __init__(self, on_made: Any = None) -> None:
        self.events: list[str] = []
        self.out = bytearray()
        self.ended: int | None = None
        self.signals: list[str | int] = []
        self.on_made = on_made

    def connection_made(self, transport: Any) -> None:
        self.events.append("connection_made")
        self.transport = transport
        real = transport.signal_process

        def spy(sig: str | int) -> None:
            self.signals.append(sig)
            real(sig)

        transport.signal_process = spy
        if self.on_made is not None:
            self.on_made(transport)

    def out_received(self, data: bytes) -> None:
        self.out += data

    def process_exited(self, returncode: int) -> None:
        self.events.append("process_exited")

    def process_ended(self, returncode: int) -> None:
        self.events.append("process_ended")
        self.ended = returncode


ONCE = ["connection_made", "process_exited", "process_ended"]


def test_process_close_twice_terms_once_then_abort_kills_at_once(reactor: Reactor) -> None:
    # Catches: close() not idempotent (SIGTERM per call), abort() ignored
    # after close(), or abort() leaving a descriptor open.
    before = open_fds()
    child = Child()
    transport = spawn_process(reactor, child, IGNORES_TERM)
    spin(reactor, lambda: child.out == b"ready\n")
    transport.close()
    transport.close()
    assert child.signals == ["TERM"]
    assert transport.is_closing()
    for _ in range(10):
        reactor.iterate(0.01)
    assert child.ended is None  # SIGTERM ignored: still running
    transport.abort()
    assert (child.signals, child.ended, child.events) == (["TERM", "KILL"], -9, ONCE)
    transport.abort()
    transport.close()
    assert (child.signals, child.events) == (["TERM", "KILL"], ONCE)
    assert open_fds() == before


def test_process_output_is_read_after_close_until_the_child_ends(reactor: Reactor) -> None:
    # Catches: close() stopping the reading of stdout, as close() does for a socket.
    child = Child()
    script = 'trap "" TERM; echo ready; cat >/dev/null; echo bye; exit 7'
    transport = spawn_process(reactor, child, ["sh", "-c", script])
    spin(reactor, lambda: child.out == b"ready\n")
    assert not transport.is_closing()
    transport.close()  # stdin closed: cat sees EOF, the shell says bye
    assert transport.is_closing()
    spin(reactor, lambda: child.ended is not None)
    assert (bytes(child.out), child.ended, child.events) == (b"ready\nbye\n", 7, ONCE)


def test_process_ended_once_then_close_and_abort_do_nothing(reactor: Reactor) -> None:
    # Catches: a missing "already lost" guard ending the child a second time.
    child = Child()
    transport = spawn_process(reactor, child, ["sh", "-c", "exit 4"])
    spin(reactor, lambda: child.ended is not None)
    assert transport.is_closing()  # its stdin is closed with the rest
    transport.close()
    transport.abort()
    for _ in range(5):
        reactor.iterate(0.01)
    assert (child.ended, child.events, child.signals) == (4, ONCE, [])


def test_process_abort_after_its_output_closed_ends_it_once(reactor: Reactor) -> None:
    # Catches: the end path run twice, once by the reap inside abort() (the
    # child exited and its pipes are closed: that is the end) and once by abort().
    child = Child()
    script = "echo ready; exec >&- 2>&- sleep 30"  # output closed, still running
    transport = spawn_process(reactor, child, ["sh", "-c", script])
    spin(reactor, lambda: child.out == b"ready\n")
    for _ in range(10):
        reactor.iterate(0.01)  # the end of file on both pipes is read
    assert child.events == ["connection_made"]
    transport.abort()
    assert (child.ended, child.events) == (-9, ONCE)


def test_process_aborted_from_connection_made(reactor: Reactor) -> None:
    # Catches: abort() inside connection_made not ending the child at once,
    # or leaving a descriptor open.
    before = open_fds()
    child = Child(on_made=lambda transport: transport.abort())
    spawn_process(reactor, child, ["sleep", "30"])
    assert (child.ended, child.events, child.signals) == (-9, ONCE, ["KILL"])
    for _ in range(3):
        reactor.iterate(0.01)
    assert child.events == ONCE
    assert open_fds() == before


def test_shutdown_kills_a_child_that_ignores_sigterm(backend: str) -> None:
    # Catches: the reactor's abort() after shutdown_timeout doing nothing
    # because its close() already marked the child closing.
    reactor = Reactor(backend=backend, shutdown_timeout=0.3)

    class StopWhenReady(Child):
        def out_received(self, data: bytes) -> None:
            super().out_received(data)
            reactor.stop()  # the trap is set: shut down with the child running

    child = StopWhenReady()
    reactor.call_when_running(lambda: spawn_process(reactor, child, IGNORES_TERM))
    reactor.run()  # close(): stdin closed and SIGTERM; 0.3 s later abort(): SIGKILL
    assert (child.signals, child.ended, child.events) == (["TERM", "KILL"], -signal.SIGKILL, ONCE)

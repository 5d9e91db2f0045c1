"""The reactor's own methods for every transport, on every backend.

Each transport module has its own detailed tests; these check the methods a
student actually calls (`reactor.listen_unix`, `reactor.spawn_process`, ...)
and that one protocol class serves over all the stream transports.
"""

from __future__ import annotations

import ssl
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import spin
from support import Collector, RecordingClientFactory, echo_factory

from minireactor import Reactor
from minireactor.process import ProcessProtocol
from minireactor.udp import DatagramProtocol

pytestmark = pytest.mark.timeout(60)


class CloseWhenEchoed(Collector):
    """For transports that cannot half-close (TLS): close once the echo is back."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.received == self.payload:
            self.transport.close()


def round_trip(
    reactor: Reactor, connect: Any, payload: bytes = b"one protocol", half_close: bool = True
) -> bytes:
    if half_close:
        client = RecordingClientFactory(lambda: Collector(payload, half_close=True))
    else:
        client = RecordingClientFactory(lambda: CloseWhenEchoed(payload))
    connect(client)
    spin(
        reactor,
        lambda: bool(client.failed) or (bool(client.protocols) and client.protocols[0].done),
    )
    assert not client.failed, client.failed
    return bytes(client.protocols[0].received)


def test_tcp(reactor: Reactor) -> None:
    port = reactor.listen_tcp(0, echo_factory())
    assert round_trip(reactor, lambda f: reactor.connect_tcp(*port.address, f)) == b"one protocol"


def test_unix(reactor: Reactor, tmp_path: Path) -> None:
    path = tmp_path / "echo.sock"
    port = reactor.listen_unix(path, echo_factory())
    assert round_trip(reactor, lambda f: reactor.connect_unix(path, f)) == b"one protocol"
    port.stop_listening()
    assert not path.exists()


def test_tls(reactor: Reactor) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    port = reactor.listen_tls(0, echo_factory(), server_ctx)

    def connect(factory: Any) -> None:
        reactor.connect_tls(
            "127.0.0.1", port.address[1], factory, client_ctx, server_hostname="localhost"
        )

    assert round_trip(reactor, connect, half_close=False) == b"one protocol"


def test_udp(reactor: Reactor) -> None:
    got: list[tuple[bytes, Any]] = []

    class Echo(DatagramProtocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: Any) -> None:
            self.transport.sendto(data, addr)

    class Client(DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            got.append((data, addr))

    server = reactor.listen_udp(0, Echo())
    client = reactor.listen_udp(0, Client())
    client.sendto(b"ping", server.get_extra_info("sockname"))
    spin(reactor, lambda: bool(got))
    assert got[0] == (b"ping", server.get_extra_info("sockname"))


def test_spawn_process(reactor: Reactor) -> None:
    class Cat(ProcessProtocol):
        def __init__(self) -> None:
            self.out = bytearray()
            self.ended: int | None = None

        def connection_made(self, transport: Any) -> None:
            transport.write(b"through a pipe")
            transport.close_stdin()

        def out_received(self, data: bytes) -> None:
            self.out += data

        def process_ended(self, returncode: int) -> None:
            self.ended = returncode

    proto = Cat()
    code = "import sys; sys.stdout.write(sys.stdin.read())"
    reactor.spawn_process(proto, [sys.executable, "-c", code])
    spin(reactor, lambda: proto.ended is not None)
    assert proto.out == b"through a pipe" and proto.ended == 0

"""A peer's reset, made deterministic: it must arrive as ConnectionResetError.

tests/test_tcp.py::test_peer_reset_arrives_as_connection_lost accepts every
outcome (a failed connect, a clean EOF, a reset) because its server resets
the connection as soon as it is accepted, racing the client's connect. Here
the reset comes only after both sides are connected and the client has said
so, and nothing is in flight: the client must see exactly one
`connection_lost(ConnectionResetError)`, on every backend.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

import pytest
from conftest import spin

from minireactor import Factory, Protocol, Reactor
from minireactor.protocol import ClientFactory

pytestmark = pytest.mark.timeout(30)


class ResetOnRequest(Protocol):
    """Resets the connection (SO_LINGER 0, then close) when the client says "reset"."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if data == b"reset":
            sock = self.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()


class Watcher(Protocol):
    def __init__(self) -> None:
        self.lost: list[BaseException | None] = []
        self.received = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(b"reset")

    def data_received(self, data: bytes) -> None:
        self.received += data

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.append(exc)


def test_a_reset_after_connecting_is_a_connection_reset_error(reactor: Reactor) -> None:
    port = reactor.listen_tcp(0, Factory.for_protocol(ResetOnRequest))
    watchers: list[Watcher] = []

    def make() -> Watcher:
        watchers.append(Watcher())
        return watchers[-1]

    reactor.connect_tcp(*port.address, ClientFactory.for_protocol(make))
    spin(reactor, lambda: bool(watchers) and bool(watchers[0].lost))
    [watcher] = watchers
    assert watcher.received == b""
    assert len(watcher.lost) == 1 and isinstance(watcher.lost[0], ConnectionResetError), (
        watcher.lost
    )

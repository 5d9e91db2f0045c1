"""Tests for minireactor/unix.py: Unix-domain stream sockets, on every backend."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import spin

from minireactor import AddressInUseError, ClientFactory, Factory, Protocol, Reactor
from minireactor.unix import MAX_PATH_BYTES, connect_unix, listen_unix

pytestmark = pytest.mark.timeout(30)


class Echo(Protocol):
    seen: ClassVar[list[Any]] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        Echo.seen.append(transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class Client(Protocol):
    """Sends `payload`, collects the echo, closes once it has it all."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.received = bytearray()
        self.lost: list[BaseException | None] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.payload)

    def data_received(self, data: bytes) -> None:
        self.received += data
        if len(self.received) >= len(self.payload):
            self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.append(exc)


class Recorder(ClientFactory[Any]):
    def __init__(self, payload: bytes = b"") -> None:
        super().__init__()
        self.payload = payload
        self.protocols: list[Client] = []
        self.failed: list[BaseException] = []

    def build_protocol(self, addr: Any) -> Client:
        proto = Client(self.payload)
        self.protocols.append(proto)
        return proto

    def client_connection_failed(self, connector: Any, exc: BaseException) -> None:
        self.failed.append(exc)


def echo_once(reactor: Reactor, path: Path, payload: bytes) -> Client:
    factory = Recorder(payload)
    connect_unix(reactor, path, factory)
    spin(reactor, lambda: bool(factory.protocols and factory.protocols[0].lost), timeout=20)
    return factory.protocols[0]


def test_echo_and_extra_info(reactor: Reactor, tmp_path: Path) -> None:
    path = tmp_path / "echo.sock"
    port = listen_unix(reactor, path, Factory.for_protocol(Echo))
    assert port.address == str(path)
    client = echo_once(reactor, path, b"hello over a path")
    assert bytes(client.received) == b"hello over a path"
    assert client.lost == [None]
    assert client.transport.get_extra_info("peername") == str(path)
    assert client.transport.get_extra_info("socket").family == socket.AF_UNIX
    assert Echo.seen[-1].get_extra_info("sockname") == str(path)
    port.stop_listening()


def test_one_mebibyte_echo(reactor: Reactor, tmp_path: Path) -> None:
    path = tmp_path / "big.sock"
    listen_unix(reactor, path, Factory.for_protocol(Echo))
    payload = os.urandom(1 << 20)
    client = echo_once(reactor, path, payload)
    assert bytes(client.received) == payload


def test_mode_and_file_removed_on_stop(reactor: Reactor, tmp_path: Path) -> None:
    path = tmp_path / "mode.sock"
    port = listen_unix(reactor, path, Factory.for_protocol(Echo), mode=0o600)
    assert path.is_socket()
    assert path.stat().st_mode & 0o777 == 0o600
    port.stop_listening()
    assert not path.exists()
    port.stop_listening()  # idempotent


def test_stale_socket_file_is_replaced(reactor: Reactor, tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    crashed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    crashed.bind(str(path))  # bound, never listening, then gone: a crashed server
    crashed.close()
    assert path.is_socket()
    listen_unix(reactor, path, Factory.for_protocol(Echo))
    assert bytes(echo_once(reactor, path, b"fresh").received) == b"fresh"


def test_live_socket_is_not_stolen(reactor: Reactor, tmp_path: Path) -> None:
    path = tmp_path / "live.sock"
    first = listen_unix(reactor, path, Factory.for_protocol(Echo))
    with pytest.raises(AddressInUseError, match="already listening") as info:
        listen_unix(reactor, path, Factory.for_protocol(Echo))
    assert str(path) in str(info.value)
    assert bytes(echo_once(reactor, path, b"still mine").received) == b"still mine"
    first.stop_listening()


def test_regular_file_is_not_deleted(reactor: Reactor, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("precious")
    with pytest.raises(AddressInUseError, match="not a socket"):
        listen_unix(reactor, path, Factory.for_protocol(Echo))
    assert path.read_text() == "precious"


def test_connect_to_missing_path_fails_cleanly(reactor: Reactor, tmp_path: Path) -> None:
    factory = Recorder(b"x")
    connect_unix(reactor, tmp_path / "nobody.sock", factory)
    spin(reactor, lambda: bool(factory.failed))
    assert isinstance(factory.failed[0], FileNotFoundError)
    assert factory.protocols == []


def test_path_too_long_is_a_clear_error(reactor: Reactor, tmp_path: Path) -> None:
    path = tmp_path / ("x" * (MAX_PATH_BYTES + 1))
    with pytest.raises(ValueError, match="107-byte limit"):
        listen_unix(reactor, path, Factory.for_protocol(Echo))
    with pytest.raises(ValueError, match="shorter path"):
        connect_unix(reactor, path, Recorder())


def test_close_removes_listener_file(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "shutdown.sock"
    reactor = Reactor(backend=backend)
    listen_unix(reactor, path, Factory.for_protocol(Echo))
    reactor.close()
    assert not path.exists()


def test_connect_to_a_full_listener_fails_instead_of_pretending(
    reactor: Reactor, tmp_path: Path
) -> None:
    """A Unix listener whose queue is full makes connect() return EAGAIN and the
    socket writable without being connected: that must be a failed connect."""
    from support import Collector, RecordingClientFactory

    path = str(tmp_path / "full.sock")
    full = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    full.bind(path)
    full.listen(0)
    fillers = []
    try:
        while True:  # fill the accept queue until connect() would block
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            fillers.append(s)
            try:
                s.connect(path)
            except BlockingIOError:
                break
            if len(fillers) > 64:
                pytest.skip("this kernel queued 64 connections on a backlog-0 listener")
        client = RecordingClientFactory(Collector)
        connect_unix(reactor, path, client, timeout=0.5)
        spin(reactor, lambda: bool(client.failed or client.protocols))
        assert client.failed and not client.protocols
    finally:
        for s in fillers:
            s.close()
        full.close()

"""One protocol, every loop: the same class served by every engine, same client results.

`EchoUpper` below is written once, with asyncio's method names. It is served

* by minireactor on every backend (`reactor.listen_tcp`),
* by minireactor hosted on a running asyncio loop (`backend="asyncio"`),
* by minireactor.aio on every evented backend (`loop.create_server`),
* by the standard library's own asyncio loop (`loop.create_server`),

and one plain blocking client (in a thread, so it cannot favour any loop)
talks to each. The transcripts must be identical. This is the example the
docs quote (docs/asyncio-conformance.md, "One protocol, every loop").
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
from conftest import BACKENDS, spin

import minireactor
import minireactor.aio
import minireactor.jupyter
from minireactor import Factory, Protocol, Reactor

pytestmark = pytest.mark.timeout(60)
EVENTED = [b for b in BACKENDS if b != "threaded"]


class EchoUpper(Protocol):
    """Replies to each line with it in capitals; says goodbye when the client stops sending."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""
        transport.write(b"hello\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            self.transport.write(line.upper() + b"\n")

    def eof_received(self) -> bool:
        self.transport.write(b"bye " + self.buffer + b"\n")
        self.transport.close()
        return True  # we close ourselves, after the goodbye


def client(address: tuple[str, int]) -> bytes:
    """Send lines (split awkwardly across writes), half-close, read everything."""
    with socket.create_connection(address, timeout=10) as sock:
        for chunk in (b"one\ntw", b"o\n", b"three\nunfinished"):
            sock.sendall(chunk)
        sock.shutdown(socket.SHUT_WR)
        transcript = b""
        while data := sock.recv(4096):
            transcript += data
    return transcript


EXPECTED = b"hello\nONE\nTWO\nTHREE\nbye unfinished\n"


def in_thread(func: Callable[[], bytes]) -> tuple[threading.Thread, list[bytes]]:
    result: list[bytes] = []
    thread = threading.Thread(target=lambda: result.append(func()))
    thread.start()
    return thread, result


@pytest.mark.parametrize("backend", BACKENDS)
def test_minireactor(backend: str) -> None:
    reactor = Reactor(backend=backend)
    try:
        port = reactor.listen_tcp(0, Factory.for_protocol(EchoUpper))
        thread, result = in_thread(lambda: client(port.address))
        spin(reactor, lambda: not thread.is_alive())
        assert result == [EXPECTED]
    finally:
        reactor.close()


def test_minireactor_hosted_on_asyncio() -> None:
    async def main() -> bytes:
        reactor = minireactor.jupyter.start()
        port = reactor.listen_tcp(0, Factory.for_protocol(EchoUpper))
        transcript = await asyncio.to_thread(client, port.address)
        reactor.stop()
        return transcript

    assert asyncio.run(main()) == EXPECTED


async def serve_with_asyncio() -> bytes:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoUpper, "127.0.0.1", 0)
    async with server:
        return await asyncio.to_thread(client, server.sockets[0].getsockname()[:2])


@pytest.mark.parametrize("backend", EVENTED)
def test_minireactor_aio(backend: str) -> None:
    with asyncio.Runner(loop_factory=lambda: minireactor.aio.new_event_loop(backend)) as r:
        assert r.run(serve_with_asyncio()) == EXPECTED


def test_stdlib_asyncio() -> None:
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as r:
        assert r.run(serve_with_asyncio()) == EXPECTED

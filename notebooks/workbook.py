"""Small helpers shared by the workbook notebooks.

Everything a notebook *teaches* is written out in the notebook itself; this
file only holds what would be noise there: the quick-mode switch that keeps
the automated notebook tests short, and a setup check for notebook 00.

Quick mode: set the environment variable MINIREACTOR_QUICK=1 (the notebook
tests do, in notebooks/conftest.py) and every experiment shrinks to a size
that still shows the effect, in seconds instead of minutes.
"""

from __future__ import annotations

import importlib
import os
import socket
import time

QUICK = os.environ.get("MINIREACTOR_QUICK", "") not in ("", "0")
"""True in quick mode (MINIREACTOR_QUICK=1): experiments run smaller."""


def sized(full, quick):
    """`full` normally, `quick` in quick mode: the size of one experiment."""
    return quick if QUICK else full


def version_of(module: str) -> str | None:
    """The version of an installed module, or None when it is not installed."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return str(getattr(mod, "__version__", "installed"))


def echo_round_trips(backend: str, rounds: int = 1000, size: int = 64) -> float:
    """Seconds for `rounds` request/echo round trips on one minireactor backend.

    A minireactor echo server and a plain blocking client socket share one
    thread: the client sends, then drives the reactor with `iterate()` until
    its echo is back. Raises AssertionError if any byte comes back wrong.
    """
    from minireactor import Factory, Protocol, Reactor

    class Echo(Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data)

    reactor = Reactor(backend)
    try:
        port = reactor.listen_tcp(0, Factory.for_protocol(Echo))
        client = socket.create_connection(port.address)
        client.setblocking(False)
        message = bytes(range(size % 256)) * (size // 256) + bytes(size % 256)
        start = time.perf_counter()
        with client:
            for _ in range(rounds):
                client.sendall(message)
                got = b""
                while len(got) < size:
                    reactor.iterate(0.1)
                    try:
                        got += client.recv(65536)
                    except BlockingIOError:
                        pass
                assert got == message, "the echo came back different"
        return time.perf_counter() - start
    finally:
        reactor.close()

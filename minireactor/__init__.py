"""minireactor: a Twisted-style reactor in pure Python, written to be read.

Start here::

    import minireactor
    from minireactor import Reactor, Protocol, Factory

    class Echo(Protocol):
        def connection_made(self, transport):
            self.transport = transport
        def data_received(self, data):
            self.transport.write(data)

    reactor = Reactor()                      # the best backend on this machine
    port = reactor.listen_tcp(0, Factory.for_protocol(Echo))
    print("echo server on", port.address)
    reactor.run()                            # until reactor.stop()

`minireactor.run(main)` is the one-liner: it makes a reactor, runs
`main(reactor)` (a function or an `async def`) to completion, and returns
its result.

Reading order (the README's, drawn in docs/architecture.md): `protocol.py`
(what you write), `core.py` (the loop), `timers.py`, `backends/`,
`interface.py`, `transport.py`, `tcp.py`, `listener.py`, `connector.py`,
the other transports, `reactor.py` (the facade), then `defer/`,
`protocols/` and `aio/`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .backends import available_backends
from .errors import (
    AddressInUseError,
    BackendError,
    ConnectionLimitError,
    ConnectTimeoutError,
    FileDescriptorTooLarge,
    IdleTimeoutError,
    MiniReactorError,
    ReactorAlreadyRunning,
    ReactorNotRestartable,
    WrongThreadError,
)
from .protocol import BaseProtocol, ClientFactory, Factory, Protocol
from .reactor import Reactor
from .timers import DelayedCall

if TYPE_CHECKING:  # what the lazy names below are, for type checkers
    from .defer import Deferred, ensure_deferred
    from .main import run
    from .process import ProcessProtocol
    from .stdio import StandardIO
    from .udp import DatagramProtocol

__version__ = "0.1.0"

# Imported on first use: these pull in asyncio, subprocess or ssl, which a
# plain reactor does not need.
_LAZY = {
    "run": "main",
    "Deferred": "defer",
    "ensure_deferred": "defer",
    "DatagramProtocol": "udp",
    "ProcessProtocol": "process",
    "StandardIO": "stdio",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'minireactor' has no attribute {name!r}")


__all__ = [  # noqa: RUF022 (the lazy names follow the eager ones)
    "AddressInUseError",
    "BackendError",
    "BaseProtocol",
    "ClientFactory",
    "ConnectTimeoutError",
    "ConnectionLimitError",
    "DelayedCall",
    "Factory",
    "FileDescriptorTooLarge",
    "IdleTimeoutError",
    "MiniReactorError",
    "Protocol",
    "Reactor",
    "ReactorAlreadyRunning",
    "ReactorNotRestartable",
    "WrongThreadError",
    "available_backends",
    "DatagramProtocol",
    "Deferred",
    "ProcessProtocol",
    "StandardIO",
    "ensure_deferred",
    "run",
]

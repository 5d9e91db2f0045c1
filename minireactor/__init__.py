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

Reading order: `protocol.py` (what you write), `reactor.py` (the loop),
`timers.py`, `backends/` (select, poll, epoll, kqueue, threaded), `tcp.py`.
"""

from __future__ import annotations

from .backends import available_backends
from .errors import (
    AddressInUseError,
    BackendError,
    ConnectionLimitError,
    ConnectTimeoutError,
    FileDescriptorTooLarge,
    MiniReactorError,
    ReactorAlreadyRunning,
    ReactorNotRestartable,
    WrongThreadError,
)
from .protocol import BaseProtocol, ClientFactory, Factory, Protocol
from .reactor import Reactor
from .timers import DelayedCall

__version__ = "0.1.0"

__all__ = [
    "AddressInUseError",
    "BackendError",
    "BaseProtocol",
    "ClientFactory",
    "ConnectTimeoutError",
    "ConnectionLimitError",
    "DelayedCall",
    "Factory",
    "FileDescriptorTooLarge",
    "MiniReactorError",
    "Protocol",
    "Reactor",
    "ReactorAlreadyRunning",
    "ReactorNotRestartable",
    "WrongThreadError",
    "available_backends",
]

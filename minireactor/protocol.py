"""Protocols and factories: the objects user code writes.

A *protocol* is the code that speaks a wire format. It never touches a socket:
its transport hands it bytes and carries its replies. Method names are
asyncio's, so one protocol class runs on minireactor and on asyncio's own
loop (`loop.create_server(EchoProtocol, ...)`) unchanged.

The callback order on one connection is a small state machine, the same one
asyncio documents::

    connection_made -> data_received* -> eof_received? -> connection_lost

`pause_writing` / `resume_writing` may come anywhere between `connection_made`
and `connection_lost`, and always in pairs.

A *factory* makes one protocol per connection (Twisted's idea); a
`ClientFactory` also hears about connections that fail or end.

Read next: `core.py`, the loop that ends up calling these methods (through
`tcp.py`, the transport that drives them).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from .connector import Connector


class BaseProtocol:
    """The callbacks every stream or datagram protocol shares (all do nothing)."""

    def connection_made(self, transport: Any) -> None:
        """Called once, when the connection is ready; keep `transport` to reply."""

    def connection_lost(self, exc: BaseException | None) -> None:
        """Called once, last: `exc` is None on a clean close, else why it ended."""

    def pause_writing(self) -> None:
        """The transport's write buffer passed its high-water mark: stop producing."""

    def resume_writing(self) -> None:
        """The write buffer drained below its low-water mark: produce again."""


class Protocol(BaseProtocol):
    """A stream protocol (TCP, Unix sockets, TLS, pipes)."""

    def data_received(self, data: bytes) -> None:
        """Called with each chunk of bytes as it arrives (chunks fall anywhere)."""

    def eof_received(self) -> bool | None:
        """The peer closed its write side. Return True to keep ours open."""
        return None


P = TypeVar("P")


class Factory(Generic[P]):
    """Builds one protocol per connection.

    Set `protocol` to a class (or any callable); `build_protocol` calls it with
    the arguments given to `for_protocol` and, when it can, sets the new
    protocol's `factory` attribute so the protocol can reach shared state.
    """

    protocol: Any = Protocol

    def __init__(self) -> None:
        self._args: tuple[Any, ...] = ()
        self._kwargs: dict[str, Any] = {}

    @classmethod
    def for_protocol(cls, protocol: Any, *args: Any, **kwargs: Any) -> Factory[Any]:
        """Return a factory of this class that builds `protocol(*args, **kwargs)`."""
        factory = cls()
        factory.protocol = protocol
        factory._args = args
        factory._kwargs = kwargs
        return factory

    def build_protocol(self, addr: Any) -> P:
        """Return a new protocol for a connection from/to `addr`."""
        proto = self.protocol(*self._args, **self._kwargs)
        # __slots__ or a read-only attribute: the factory link is optional.
        with contextlib.suppress(AttributeError):
            proto.factory = self
        return proto  # type: ignore[no-any-return]


class ClientFactory(Factory[P]):
    """A factory for outgoing connections, told when they fail or end."""

    def client_connection_failed(self, connector: Connector, exc: BaseException) -> None:
        """The connection could not be made (refused, timed out, unreachable)."""

    def client_connection_lost(self, connector: Connector, exc: BaseException | None) -> None:
        """A connection this factory made has ended (`exc` None when clean)."""

"""Listening and connecting with TLS: a TCP connection, then a handshake.

`tls.py` builds the TLS layer; this file puts one on each connection a
`listener.Port` accepts (`listen_tls`) and on the connection a
`connector.Connector` makes (`connect_tls`)::

    listen_tls:   Port      -> _ServerSide.build_protocol   -> TLSTransport -> your protocol
    connect_tls:  Connector -> TLSConnector.build_protocol  -> TLSTransport -> your protocol

The TCP side never knows: to it the `TLSTransport` is just the protocol the
factory built. `reactor.listen_tls` and `reactor.connect_tls` (`reactor.py`)
call the two functions here.

Layer: beside `listener.py` and `connector.py`, over `tls.py`. Read `tls.py`
first; read `pipes.py` next.
"""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING, Any

from .connector import Connector, notify_factory
from .listener import Port, bind_tcp
from .tls import TLSTransport

if TYPE_CHECKING:
    from .interface import Loop

log = logging.getLogger("minireactor")

HANDSHAKE_TIMEOUT = 30.0
"""Seconds a server waits for a client to finish its handshake."""

__all__ = ["TLSConnector", "connect_tls", "listen_tls"]


class _ServerSide:
    """The factory the `Port` sees: each connection gets a TLS layer first."""

    def __init__(self, reactor: Loop, factory: Any, context: ssl.SSLContext) -> None:
        self._reactor, self._factory, self._context = reactor, factory, context

    def build_protocol(self, addr: Any) -> TLSTransport:
        def failed(exc: BaseException) -> None:
            # Scanners and mistyped URLs do this all day: worth a line, not a traceback.
            log.info("TLS handshake with %s failed: %s", addr, exc)

        return TLSTransport(
            self._reactor,
            self._context,
            True,
            None,
            lambda: self._factory.build_protocol(addr),
            failed,
            HANDSHAKE_TIMEOUT,
        )


class TLSConnector:
    """An outgoing TLS connection: a `Connector`, then a handshake.

    The user's factory hears `client_connection_failed(self, exc)` if either
    fails, and `client_connection_lost(self, exc)` when an established
    connection ends. `transport` is the `TLSTransport` once the handshake
    has succeeded.
    """

    def __init__(
        self,
        reactor: Loop,
        host: str,
        port: int,
        factory: Any,
        context: ssl.SSLContext,
        server_hostname: str,
        timeout: float,
    ) -> None:
        self._reactor = reactor
        self._factory = factory
        self._context = context
        self._timeout = timeout
        self.host, self.port, self.server_hostname = host, port, server_hostname
        self.transport: TLSTransport | None = None
        self._tls: TLSTransport | None = None
        self._tcp = Connector(reactor, host, port, self, timeout)

    # The Connector treats us as its client factory:
    def build_protocol(self, addr: Any) -> TLSTransport:
        def made() -> Any:
            proto = self._factory.build_protocol(addr)
            self.transport = self._tls
            return proto

        self._tls = TLSTransport(
            self._reactor,
            self._context,
            False,
            self.server_hostname,
            made,
            lambda exc: self._notify("client_connection_failed", exc),
            self._timeout,
        )
        self._tls.on_lost = lambda exc: self._notify("client_connection_lost", exc)
        return self._tls

    def client_connection_failed(self, connector: Any, exc: BaseException) -> None:
        self._notify("client_connection_failed", exc)

    def client_connection_lost(self, connector: Any, exc: BaseException | None) -> None:
        pass  # the TLS layer reports the end itself (it knows about handshakes)

    def _notify(self, method: str, exc: BaseException | None) -> None:
        notify_factory(self._factory, method, self, exc)

    def stop_connecting(self) -> None:
        """Give up while connecting or during the handshake."""
        if self._tls is None:
            self._tcp.stop_connecting()
        elif self.transport is None:
            self._tls._fail(ConnectionAbortedError(f"TLS connection to {self.host} was stopped"))

    def disconnect(self) -> None:
        """Close the connection, or stop connecting if still trying."""
        if self.transport is not None:
            self.transport.close()
        else:
            self.stop_connecting()

    def __repr__(self) -> str:
        return f"<TLSConnector {self.host}:{self.port} ({self.server_hostname})>"


def listen_tls(
    reactor: Loop,
    port: int,
    factory: Any,
    ssl_context: ssl.SSLContext,
    interface: str = "127.0.0.1",
    backlog: int = 128,
) -> Port:
    """Listen for TLS connections: `listen_tcp` with a TLS layer on each.

    Args:
        ssl_context: a server context with a certificate, e.g.
            `ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)` then
            `load_cert_chain(certfile, keyfile)`.

    Raises:
        ValueError: `ssl_context` is a client context.
    """
    if ssl_context.protocol == ssl.PROTOCOL_TLS_CLIENT:
        raise ValueError(
            "listen_tls() needs a server context: use "
            "ssl.create_default_context(ssl.Purpose.CLIENT_AUTH) and load_cert_chain()"
        )
    server_side = _ServerSide(reactor, factory, ssl_context)
    return Port(reactor, bind_tcp(port, interface, backlog), server_side, backlog)


def connect_tls(
    reactor: Loop,
    host: str,
    port: int,
    factory: Any,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    timeout: float = 30.0,
) -> TLSConnector:
    """Connect to (host, port) and start TLS; the outcome reaches `factory`.

    Args:
        ssl_context: None means `ssl.create_default_context()`: the system's
            trusted CAs, certificates and host names verified.
        server_hostname: the name the certificate must carry (and SNI);
            defaults to `host`.
        timeout: seconds for the TCP connect, and again for the handshake.
    """
    context = ssl_context if ssl_context is not None else ssl.create_default_context()
    name = server_hostname if server_hostname is not None else host
    return TLSConnector(reactor, host, port, factory, context, name, timeout)

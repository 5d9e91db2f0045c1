"""Accepting connections for `loop.create_server()` on the reactor.

asyncio's `Server` object (inherited, `asyncio.base_events.Server`) owns the
listening sockets and calls `loop._start_serving(...)` for each. The loop
answers with a `Listener`: it asks the reactor to call it when the socket is
readable, accepts every waiting connection, and gives each one a protocol
and a `SocketTransport` (or, with `ssl=`, asyncio's `SSLProtocol` on top of
one).

When the process runs out of descriptors, accept() fails while the socket
stays readable; a listener that kept its reader would spin. We report the
error to the loop's exception handler, stop watching the socket, and try
again after `ACCEPT_RETRY_DELAY` (1 s), as asyncio does.

Connections are accepted, and their protocols made, in the `contextvars`
context of the code that started the server (as asyncio does), so a
server's protocols see the context variables set around `create_server`.

Read next: `loop.py`, `_start_serving` and `_stop_serving`.
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import functools
import socket
from asyncio import constants, trsock
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..reactor import Reactor

if TYPE_CHECKING:
    import ssl

_OUT_OF_DESCRIPTORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class Listener:
    """One listening socket served by the reactor on behalf of an asyncio `Server`.

    Args:
        loop: the loop (public API: tasks, timers, the exception handler).
        reactor: watches the listening socket.
        make_transport: `(conn, protocol, extra=, server=)` -> a transport.
        make_ssl_transport: the same with TLS (asyncio's `_make_ssl_transport` signature).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        reactor: Reactor,
        make_transport: Callable[..., Any],
        make_ssl_transport: Callable[..., Any],
        protocol_factory: Any,
        sock: socket.socket,
        sslcontext: ssl.SSLContext | None,
        server: Any,
        backlog: int,
        ssl_handshake_timeout: float | None,
        ssl_shutdown_timeout: float | None,
    ) -> None:
        self._loop = loop
        self._reactor = reactor
        self._make_transport = make_transport
        self._make_ssl_transport = make_ssl_transport
        self._on_readable = functools.partial(contextvars.copy_context().run, self._accept_ready)
        self._protocol_factory = protocol_factory
        self.sock = sock
        self._sslcontext = sslcontext
        self._server = server
        self._backlog = backlog
        self._ssl_timeouts = (ssl_handshake_timeout, ssl_shutdown_timeout)
        self._retry: Any = None

    def start(self) -> None:
        self._retry = None
        self._reactor.add_reader(self.sock.fileno(), self._on_readable)

    def stop(self) -> None:
        """Stop accepting (the caller closes the socket)."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self._reactor.remove_reader(self.sock.fileno())

    def _accept_ready(self) -> None:
        # Accept all that are waiting, up to the backlog: a burst of
        # connections costs one loop pass, not one pass each.
        for _ in range(self._backlog):
            try:
                conn, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return  # none left (or the client gave up while queued)
            except OSError as exc:
                self._accept_failed(exc)
                return
            conn.setblocking(False)
            self._connection_accepted(conn, addr)

    def _accept_failed(self, exc: OSError) -> None:
        context: dict[str, Any] = {"exception": exc, "socket": trsock.TransportSocket(self.sock)}
        if exc.errno not in _OUT_OF_DESCRIPTORS:
            context["message"] = "socket.accept() failed"
            self._loop.call_exception_handler(context)
            return
        context["message"] = "socket.accept() out of system resource"
        self._loop.call_exception_handler(context)
        self._reactor.remove_reader(self.sock.fileno())
        self._retry = self._loop.call_later(constants.ACCEPT_RETRY_DELAY, self.start)

    def _connection_accepted(self, conn: socket.socket, addr: Any) -> None:
        extra = {"peername": addr}
        if self._sslcontext is not None:
            # The TLS handshake takes several passes: run it as a task.
            self._loop.create_task(self._accept_tls(conn, extra, self._sslcontext))
            return
        try:
            protocol = self._protocol_factory()
            self._make_transport(conn, protocol, extra=extra, server=self._server)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            conn.close()
            self._report(exc, "Error on transport creation for incoming connection")

    async def _accept_tls(
        self, conn: socket.socket, extra: dict[str, Any], sslcontext: ssl.SSLContext
    ) -> None:
        transport = None
        try:
            protocol = self._protocol_factory()
            waiter = self._loop.create_future()
            transport = self._make_ssl_transport(
                conn,
                protocol,
                sslcontext,
                waiter,
                server_side=True,
                extra=extra,
                server=self._server,
                ssl_handshake_timeout=self._ssl_timeouts[0],
                ssl_shutdown_timeout=self._ssl_timeouts[1],
            )
            try:
                await waiter
            except BaseException:
                transport.close()
                raise
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            if transport is None:
                conn.close()
            self._report(exc, "Error on transport creation for incoming connection")

    def _report(self, exc: BaseException, message: str) -> None:
        # asyncio reports failures of an incoming connection only in debug
        # mode: a client that vanishes mid-handshake is routine for a server.
        if self._loop.get_debug():
            self._loop.call_exception_handler({"message": message, "exception": exc})

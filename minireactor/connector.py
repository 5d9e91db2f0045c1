"""Connecting: a non-blocking connect(), reported to a client factory.

`socket.connect()` on a non-blocking socket returns at once with
EINPROGRESS; the kernel finishes the TCP handshake in the background and
then marks the socket *writable*. So a `Connector` starts the connect, asks
the reactor to watch for writability, and on that event reads SO_ERROR to
learn whether it worked. A timer bounds the wait. A name that resolves to
several addresses (localhost: ::1 and 127.0.0.1) is tried address by
address.

The factory hears the outcome: `build_protocol` then, much later,
`client_connection_lost`; or `client_connection_failed` with the reason
(ConnectionRefusedError, ConnectTimeoutError, ...).

Read next: `unix.py` and `tls_endpoints.py`, which reuse this class.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from .errors import ConnectTimeoutError
from .tcp import TCPTransport

if TYPE_CHECKING:
    from .interface import Loop
    from .timers import DelayedCall

log = logging.getLogger("minireactor")


def notify_factory(factory: Any, method: str, connector: Any, exc: BaseException | None) -> None:
    """Call a client factory's `method(connector, exc)` if it has one; log what it raises."""
    hook = getattr(factory, method, None)
    if hook is not None:
        try:
            hook(connector, exc)
        except Exception:
            log.exception("Unhandled error in %r.%s", factory, method)


class Connector:
    """An outgoing TCP connection attempt, and the connection it makes.

    The outcome reaches the factory: `build_protocol` on success, then
    `client_connection_lost` when the connection ends; or
    `client_connection_failed` when it cannot be made. `transport` is set once
    connected.
    """

    def __init__(
        self,
        reactor: Loop,
        host: str,
        port: int,
        factory: Any,
        timeout: float,
        addresses: list[tuple[int, Any]] | None = None,
    ) -> None:
        self._reactor = reactor
        self._factory = factory
        self.host, self.port = host, port
        self.transport: TCPTransport | None = None
        self._sock: socket.socket | None = None
        self._timer: DelayedCall | None = None
        self._done = False
        if addresses is None:
            try:
                # Literal addresses resolve at once; names use the system
                # resolver, which blocks (fine for localhost; see
                # defer_to_thread otherwise).
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                reactor.call_soon(self._fail, exc)
                return
            addresses = [(info[0], info[4]) for info in infos]
        self._addresses = addresses
        reactor.own(self)
        self._timer = reactor.call_later(timeout, self._timed_out, timeout)
        self._try_next(None)

    def _try_next(self, last_error: BaseException | None) -> None:
        """Try the next resolved address, or fail with the last error."""
        self._close_socket()
        if not self._addresses:
            self._fail(last_error or OSError(f"no address for {self.describe()}"))
            return
        family, addr = self._addresses.pop(0)
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        self._sock = sock
        err = sock.connect_ex(addr)
        if err in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            # The kernel reports completion (or failure) as "writable".
            self._reactor.add_writer(sock, self._connect_ready, addr)
        else:
            self._reactor.call_soon(self._try_next, OSError(err, os.strerror(err)))

    def _connect_ready(self, addr: Any) -> None:
        sock = self._sock
        assert sock is not None
        self._reactor.remove_writer(sock)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if not err:
            # "Writable" does not always mean "connected": a Unix socket whose
            # listener's queue was full reports writable without connecting.
            try:
                sock.getpeername()
            except OSError as exc:
                err = exc.errno or errno.ENOTCONN
        if err:
            self._try_next(OSError(err, os.strerror(err)))  # e.g. ConnectionRefusedError
            return
        self._finish()
        self._sock = None  # the transport owns it now
        try:
            protocol = self._factory.build_protocol(addr)
        except Exception as exc:
            log.exception("%r.build_protocol failed", self._factory)
            sock.close()
            self._notify("client_connection_failed", exc)
            return
        self.transport = TCPTransport(self._reactor, sock, protocol, on_lost=self._lost)

    def _timed_out(self, timeout: float) -> None:
        self._timer = None
        self._fail(
            ConnectTimeoutError(f"connecting to {self.describe()} timed out after {timeout} s")
        )

    def _fail(self, exc: BaseException) -> None:
        if self._done:
            return
        self._close_socket()
        self._finish()
        self._notify("client_connection_failed", exc)

    def _lost(self, exc: BaseException | None) -> None:
        self._notify("client_connection_lost", exc)

    def _notify(self, method: str, exc: BaseException | None) -> None:
        notify_factory(self._factory, method, self, exc)

    def _finish(self) -> None:
        self._done = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._reactor.disown(self)

    def _close_socket(self) -> None:
        if self._sock is not None:
            self._reactor.remove_writer(self._sock)
            self._sock.close()
            self._sock = None

    def stop_connecting(self) -> None:
        """Give up a connection attempt still in progress."""
        if not self._done:
            self._fail(ConnectionAbortedError(f"connecting to {self.describe()} was stopped"))

    def disconnect(self) -> None:
        """Close the connection, or stop connecting if still trying."""
        if self.transport is not None:
            self.transport.close()
        else:
            self.stop_connecting()

    # A pending connector is closed like a connection when the reactor shuts down.
    def close(self) -> None:
        self.stop_connecting()

    def abort(self) -> None:
        self.stop_connecting()

    def describe(self) -> str:
        """Where this connects to, for messages: "host:port"."""
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"

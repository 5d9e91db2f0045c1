"""What every socket transport of `minireactor.aio` shares: the socket, its context, closing.

A transport owns one non-blocking socket. It asks the reactor (not a
selector) to call it when the socket is readable or writable, and turns
that into asyncio's protocol callbacks, in asyncio's documented order::

    connection_made -> (data_received | buffer_updated)* -> eof_received? -> connection_lost

How this differs from `minireactor.tcp.TCPTransport`: the protocol-facing
behaviour is asyncio's to the letter, because real asyncio code (streams,
aiohttp, `sslproto`) depends on it. `connection_made` arrives on the next
loop pass, not inside the constructor; `BufferedProtocol` is supported
(`sslproto` needs it); `set_protocol` works mid-connection (`start_tls`,
`loop.sendfile`); writes after `write_eof()` raise.

Flow control (`pause_writing` above the high-water mark, `resume_writing`
at the low-water mark) is inherited from asyncio's `_FlowControlMixin`;
`loop.sendfile()`'s fallback path requires transports to be one.

Protocol callbacks run in the `contextvars` context in which the transport
was made (a copy of it, as asyncio does): the context of the code that
called `create_connection`, or of the one that started the server. The
reactor calls our readers and writers through `context.run`.

Read next: `transports.py` (streams), `datagram.py` (UDP, same skeleton).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import socket
import warnings
from asyncio import futures, transports, trsock
from asyncio.log import logger
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .compat import server_attach, server_detach
from .fds import Descriptors


def _address_of(getter: Callable[[], Any]) -> Any:
    """`sock.getsockname()` or `getpeername()`, or None when the socket has none."""
    try:
        return getter()
    except OSError:
        return None


def set_result_unless_cancelled(fut: futures.Future[Any], result: Any) -> None:
    """Resolve a waiter, unless whoever awaited it has given up (cancelled it)."""
    if not fut.cancelled():
        fut.set_result(result)


class SocketTransportBase(transports._FlowControlMixin):
    """What stream and datagram transports share: the socket, extra info, closing.

    Subclasses create `_buffer` (anything with `len()`, `clear()`) and start
    reading with `_watch_reads()` once `connection_made` has run.
    """

    max_size = 64 * 1024
    """The most one recv() may return (why not more: see `tcp.MAX_READ`)."""

    _sock: socket.socket | None = None  # class default: __del__ must work if __init__ failed
    _buffer: Any
    if TYPE_CHECKING:
        # Set and provided by asyncio's _FlowControlMixin (not in typeshed).
        _extra: dict[str, Any]
        _protocol_paused: bool

        def _maybe_pause_protocol(self) -> None: ...
        def _maybe_resume_protocol(self) -> None: ...

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        io: Descriptors,
        sock: socket.socket,
        protocol: Any,
        extra: dict[str, Any] | None,
        server: Any,
    ) -> None:
        super().__init__(extra, loop)
        self._loop: asyncio.AbstractEventLoop = loop
        self._reactor = io.reactor
        self._context = contextvars.copy_context()
        self._extra["socket"] = trsock.TransportSocket(sock)
        self._extra["sockname"] = _address_of(sock.getsockname)
        if "peername" not in self._extra:
            self._extra["peername"] = _address_of(sock.getpeername)
        self._sock = sock
        self._sock_fd = sock.fileno()
        self._reader: Callable[[], None] | None = None  # what the reactor calls, if reading
        self._read_ready_cb: Callable[[], None] = self._read_ready
        self._protocol: Any = None
        self._protocol_connected = False
        self.set_protocol(protocol)
        self._server = server
        self._conn_lost = 0  # > 0 once connection_lost is scheduled; counts later writes
        self._closing = False
        self._paused = False
        if server is not None:
            server_attach(server, self)
        io.transports[self._sock_fd] = self

    def _read_ready(self) -> None:
        raise NotImplementedError

    # -- reading ------------------------------------------------------------

    def _watch_reads(self) -> None:
        """Ask the reactor to call us when the socket is readable."""
        if self.is_reading():
            self._reader = functools.partial(self._context.run, self._read_ready_cb)
            self._reactor.add_reader(self._sock_fd, self._reader)

    def _unwatch_reads(self) -> None:
        if self._reader is not None:
            self._reader = None
            self._reactor.remove_reader(self._sock_fd)

    def is_reading(self) -> bool:
        return not self._closing and not self._paused

    def pause_reading(self) -> None:
        if self.is_reading():
            self._paused = True
            self._unwatch_reads()

    def resume_reading(self) -> None:
        if self._closing or not self._paused:
            return
        self._paused = False
        self._watch_reads()

    # -- protocol -----------------------------------------------------------

    def set_protocol(self, protocol: Any) -> None:
        self._protocol = protocol
        self._protocol_connected = True

    def get_protocol(self) -> Any:
        return self._protocol

    # -- closing ------------------------------------------------------------

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Stop reading; once the write buffer is flushed, close the socket."""
        if self._closing:
            return
        self._closing = True
        self._unwatch_reads()
        if not self._buffer:
            self._conn_lost += 1
            self._loop.call_soon(self._call_connection_lost, None)

    def abort(self) -> None:
        """Close at once, dropping whatever is still buffered."""
        self._force_close(None)

    def _fatal_error(self, exc: BaseException, message: str) -> None:
        # OSErrors (a reset, a broken pipe) are the network's doing and reach
        # the protocol through connection_lost; anything else is a bug that
        # the loop's exception handler should show.
        if isinstance(exc, OSError):
            if self._loop.get_debug():
                logger.debug("%r: %s", self, message, exc_info=True)
        else:
            self._loop.call_exception_handler(
                {
                    "message": message,
                    "exception": exc,
                    "transport": self,
                    "protocol": self._protocol,
                }
            )
        self._force_close(exc)

    def _force_close(self, exc: BaseException | None) -> None:
        if self._conn_lost:
            return
        if self._buffer:
            self._buffer.clear()
            self._reactor.remove_writer(self._sock_fd)
        if not self._closing:
            self._closing = True
            self._unwatch_reads()
        self._conn_lost += 1
        self._loop.call_soon(self._call_connection_lost, exc)

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        try:
            if self._protocol_connected:
                self._protocol.connection_lost(exc)
        finally:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
            self._protocol = None
            server, self._server = self._server, None
            if server is not None:
                server_detach(server, self)

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if self._sock is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            self._sock.close()

    def __repr__(self) -> str:
        state = "closed" if self._sock is None else "closing" if self._closing else "open"
        reading = "polling" if self._reader is not None else "idle"
        writing = "polling" if self._buffer else "idle"
        return (
            f"<{type(self).__name__} {state} fd={self._sock_fd} read={reading} "
            f"write=<{writing}, bufsize={self.get_write_buffer_size()}>>"
        )

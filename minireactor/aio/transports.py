"""Socket transports for `minireactor.aio`: asyncio's transport API on the reactor.

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

Read next: `datagram.py` (UDP, same skeleton), then `servers.py` (accept).
"""

from __future__ import annotations

import socket
import warnings
from asyncio import constants, futures, protocols, transports, trsock
from asyncio.log import logger
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loop import MiniReactorEventLoop

_STREAM_FAMILIES = (socket.AF_INET, socket.AF_INET6)


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
        loop: MiniReactorEventLoop,
        sock: socket.socket,
        protocol: Any,
        extra: dict[str, Any] | None,
        server: Any,
    ) -> None:
        super().__init__(extra, loop)
        self._loop: MiniReactorEventLoop = loop
        self._reactor = loop._reactor
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
            server._attach()
        loop._transports[self._sock_fd] = self

    def _read_ready(self) -> None:
        raise NotImplementedError

    # -- reading ------------------------------------------------------------

    def _watch_reads(self) -> None:
        """Ask the reactor to call us when the socket is readable."""
        if self.is_reading():
            self._reader = self._read_ready_cb
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
                server._detach()

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


class SocketTransport(SocketTransportBase):
    """A stream (TCP or Unix) connection, for `Protocol` and `BufferedProtocol`."""

    _start_tls_compatible = True
    _sendfile_compatible = constants._SendfileMode.TRY_NATIVE

    def __init__(
        self,
        loop: MiniReactorEventLoop,
        sock: socket.socket,
        protocol: Any,
        waiter: futures.Future[Any] | None = None,
        extra: dict[str, Any] | None = None,
        server: Any = None,
    ) -> None:
        self._buffer = bytearray()
        super().__init__(loop, sock, protocol, extra, server)
        self._eof = False  # write_eof() was called
        self._empty_waiter: futures.Future[None] | None = None  # loop.sendfile() in progress
        if sock.family in _STREAM_FAMILIES:
            # Small writes go out at once instead of waiting for an ACK (Nagle).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Three separate callbacks, as asyncio does: reading starts only after
        # connection_made, and the waiter wakes last, whatever they raise.
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self._watch_reads)
        if waiter is not None:
            loop.call_soon(set_result_unless_cancelled, waiter, None)

    def set_protocol(self, protocol: Any) -> None:
        # A BufferedProtocol lends us its buffer (recv_into, no copy); a plain
        # Protocol gets a fresh bytes object per read.
        if isinstance(protocol, protocols.BufferedProtocol):
            self._read_ready_cb = self._read_ready_into
        else:
            self._read_ready_cb = self._read_ready
        super().set_protocol(protocol)
        if self._reader is not None:  # switch callbacks while reading (start_tls)
            self._reader = self._read_ready_cb
            self._reactor.add_reader(self._sock_fd, self._reader)

    # -- reading ------------------------------------------------------------

    def _read_ready(self) -> None:
        assert self._sock is not None  # the reactor only calls us while open
        try:
            data = self._sock.recv(self.max_size)
        except (BlockingIOError, InterruptedError):
            return  # a spurious wake-up
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not data:
            self._read_eof()
            return
        try:
            self._protocol.data_received(data)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.data_received() call failed.")

    def _read_ready_into(self) -> None:
        assert self._sock is not None
        try:
            buf = self._protocol.get_buffer(-1)
            if not len(buf):
                raise RuntimeError("get_buffer() returned an empty buffer")
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.get_buffer() call failed.")
            return
        try:
            nbytes = self._sock.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not nbytes:
            self._read_eof()
            return
        try:
            self._protocol.buffer_updated(nbytes)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.buffer_updated() call failed.")

    def _read_eof(self) -> None:
        """The peer shut its write side; the protocol decides whether we close."""
        if self._loop.get_debug():
            logger.debug("%r received EOF", self)
        try:
            keep_open = self._protocol.eof_received()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.eof_received() call failed.")
            return
        if keep_open:
            self._unwatch_reads()  # nothing more will come; we may still write
        else:
            self.close()

    # -- writing ------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send `data` now if the kernel takes it; buffer what it does not."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        if self._eof:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._empty_waiter is not None:
            raise RuntimeError("unable to write; sendfile is in progress")
        if not data:
            return
        if self._conn_lost:
            if self._conn_lost >= constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                logger.warning("socket.send() raised exception.")
            self._conn_lost += 1
            return
        if not self._buffer:
            assert self._sock is not None
            try:
                sent = self._sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on socket transport")
                return
            if sent == len(data):
                return  # the common case: the kernel took it all
            data = memoryview(data)[sent:]
            self._reactor.add_writer(self._sock_fd, self._write_ready)
        self._buffer += data
        self._maybe_pause_protocol()

    def _write_ready(self) -> None:
        assert self._sock is not None
        try:
            sent = self._sock.send(self._buffer)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._reactor.remove_writer(self._sock_fd)
            self._buffer.clear()
            self._fatal_error(exc, "Fatal write error on socket transport")
            if self._empty_waiter is not None:
                self._empty_waiter.set_exception(exc)
            return
        del self._buffer[:sent]  # bytearray drops a prefix cheaply
        self._maybe_resume_protocol()  # the protocol may write more right here
        if self._buffer:
            return
        self._reactor.remove_writer(self._sock_fd)
        if self._empty_waiter is not None:
            self._empty_waiter.set_result(None)
        if self._closing:
            self._call_connection_lost(None)
        elif self._eof:
            self._sock.shutdown(socket.SHUT_WR)

    def write_eof(self) -> None:
        """Shut our write side once the buffer is flushed; reading goes on."""
        if self._closing or self._eof:
            return
        self._eof = True
        if not self._buffer and self._sock is not None:
            self._sock.shutdown(socket.SHUT_WR)

    def can_write_eof(self) -> bool:
        return True

    def get_write_buffer_size(self) -> int:
        return len(self._buffer)

    # -- loop.sendfile() support ----------------------------------------------

    def _make_empty_waiter(self) -> futures.Future[None]:
        """A future that completes when the write buffer is empty."""
        if self._empty_waiter is not None:
            raise RuntimeError("Empty waiter is already set")
        self._empty_waiter = self._loop.create_future()
        if not self._buffer:
            self._empty_waiter.set_result(None)
        return self._empty_waiter

    def _reset_empty_waiter(self) -> None:
        self._empty_waiter = None

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        super()._call_connection_lost(exc)
        if self._empty_waiter is not None:
            self._empty_waiter.set_exception(ConnectionError("Connection is closed by peer"))

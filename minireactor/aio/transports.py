"""The stream transport of `minireactor.aio`: asyncio's transport API on the reactor.

What a transport is, its callback order and how it differs from
`minireactor.tcp.TCPTransport` is said once, in `transport_base.py`. This
file adds the stream side: reading (`data_received` or, for a
`BufferedProtocol`, `buffer_updated`), the write buffer and `write_eof()`.

Read next: `datagram.py` (UDP, same skeleton), then `servers.py` (accept).
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
from asyncio import constants, futures, protocols, sslproto
from asyncio.log import logger
from typing import Any

from .fds import Descriptors
from .transport_base import SocketTransportBase, set_result_unless_cancelled

_STREAM_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class SocketTransport(SocketTransportBase):
    """A stream (TCP or Unix) connection, for `Protocol` and `BufferedProtocol`."""

    _start_tls_compatible = True
    _sendfile_compatible = constants._SendfileMode.TRY_NATIVE

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        io: Descriptors,
        sock: socket.socket,
        protocol: Any,
        waiter: futures.Future[Any] | None = None,
        extra: dict[str, Any] | None = None,
        server: Any = None,
    ) -> None:
        self._buffer = bytearray()
        super().__init__(loop, io, sock, protocol, extra, server)
        self._writer = functools.partial(self._context.run, self._write_ready)
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
            self._reader = functools.partial(self._context.run, self._read_ready_cb)
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
            self._reactor.add_writer(self._sock_fd, self._writer)
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


def make_ssl_transport(
    loop: asyncio.AbstractEventLoop,
    io: Descriptors,
    rawsock: socket.socket,
    protocol: Any,
    sslcontext: ssl.SSLContext,
    waiter: Any = None,
    *,
    server_side: bool = False,
    server_hostname: str | None = None,
    extra: Any = None,
    server: Any = None,
    ssl_handshake_timeout: float | None = constants.SSL_HANDSHAKE_TIMEOUT,
    ssl_shutdown_timeout: float | None = constants.SSL_SHUTDOWN_TIMEOUT,
) -> Any:
    """TLS as composition: asyncio's SSLProtocol speaks TLS over our plain transport.

    Returns the transport the application sees (the SSLProtocol's own).
    """
    ssl_protocol = sslproto.SSLProtocol(
        loop,
        protocol,
        sslcontext,
        waiter,
        server_side,
        server_hostname,
        ssl_handshake_timeout=ssl_handshake_timeout,  # type: ignore[arg-type]
        ssl_shutdown_timeout=ssl_shutdown_timeout,
    )
    SocketTransport(loop, io, rawsock, ssl_protocol, extra=extra, server=server)
    return ssl_protocol._app_transport

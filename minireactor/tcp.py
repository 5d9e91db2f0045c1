"""TCP: the stream transport (one connected socket; Unix sockets use it too).

A `TCPTransport` owns one connected, non-blocking socket. It reads when the
reactor says the socket is readable and hands the bytes to its protocol; it
sends what the protocol writes straight away, and only when the kernel's
send buffer is full does it keep the rest and ask the reactor to say when the
socket is writable again. It never touches a backend: it asks the loop core
for reader and writer interest (`add_reader`, `add_writer`, through
`interface.Loop`). Closing, aborting, `connection_lost` and what happens
when the protocol raises are the shared skeleton's (`transport.py`).

Flow control, both ways:

* The protocol writes too fast: once more than the high-water mark (64 KiB)
  is buffered, `protocol.pause_writing()`; once the buffer drains to the
  low-water mark (high // 4), `protocol.resume_writing()`.
* The protocol ignores `pause_writing()` and keeps writing: once more than
  `max_buffer_size` (16 MiB) is buffered, the connection is aborted with a
  `ConnectionLimitError` that says so, before one peer that never reads can
  eat the server's memory. A single large write is always accepted.
* The protocol reads too slowly: `transport.pause_reading()` stops reading,
  the kernel's buffers fill, and TCP's window tells the peer to wait.

Listening ports are in `listener.py` and outgoing connectors in
`connector.py`; both hand each new connection a protocol from a factory
(`protocol.py`) and a `TCPTransport` from here.

Read next: `listener.py` (accepting, and running out of descriptors).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import ConnectionLimitError
from .transport import Transport

if TYPE_CHECKING:
    from .interface import Loop
    from .trace import Trace

log = logging.getLogger("minireactor")

HIGH_WATER = 64 * 1024
"""Default write-buffer size above which the protocol is asked to pause."""
MAX_READ = 64 * 1024
"""The most one recv() may return; bigger means fewer calls per megabyte.

Not bigger: recv(n) first allocates n bytes, and past glibc's mmap threshold
(128 KiB) that can cost an mmap, mremap and munmap per read. At 256 KiB the
echo benchmark's CPU per request swung from 13 to 67 us between runs."""
MAX_BUFFER = 16 * 1024 * 1024
"""Default hard limit: a protocol that keeps writing past `pause_writing()` is cut off here."""


class TCPTransport(Transport):
    """One TCP connection, seen from the protocol (asyncio's transport API).

    Args:
        reactor: the reactor that drives this connection.
        sock: a connected socket; the transport makes it non-blocking and owns it.
        protocol: gets `connection_made(self)` at once, then data and events.
        on_lost: called with the close reason after `protocol.connection_lost`.

    Attributes:
        max_buffer_size: the hard limit on buffered bytes for a protocol that
            writes on after `pause_writing()`; set it per transport to change it.
    """

    max_buffer_size = MAX_BUFFER

    def __init__(
        self,
        reactor: Loop,
        sock: socket.socket,
        protocol: Any,
        on_lost: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            # Small writes go out at once; echo and request/response would
            # otherwise wait for Nagle's algorithm.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().__init__(reactor, protocol)
        self._sock = sock
        self._fd = sock.fileno()
        self._on_lost = on_lost
        self._buffer = bytearray()
        self._high, self._low = HIGH_WATER, HIGH_WATER // 4
        self._eof_requested = False  # write_eof() was called
        self._eof_received = False
        self._reading_paused = False
        self._writing_paused = False  # we told the protocol pause_writing()
        self._extra: dict[str, Any] = {"socket": sock, "reactor": reactor}
        # The reactor's tracer while it traces (Reactor.set_tracer keeps this
        # up to date): one attribute on self is the cheapest check per read.
        self.tracer: Trace | None = reactor.tracer
        try:
            self._extra["peername"] = sock.getpeername()
            self._extra["sockname"] = sock.getsockname()
        except OSError:
            pass  # the peer already left; connection_lost will follow
        reactor.own(self)
        try:
            protocol.connection_made(self)
        except Exception as exc:
            self._protocol_failed("connection_made", exc)
            return
        if not self._closing and not self._reading_paused:  # paused in connection_made
            try:
                reactor.add_reader(self._fd, self._read_ready)
            except Exception as exc:  # e.g. select's FD_SETSIZE, or no thread to spare
                log.error("cannot watch %r, closing it: %s", self, exc)
                self._force_close(exc)

    # -- reading ------------------------------------------------------------

    def _read_ready(self) -> None:
        try:
            data = self._sock.recv(MAX_READ)
        except (BlockingIOError, InterruptedError):
            return  # a spurious wake-up: nothing to read after all
        except OSError as exc:
            self._force_close(exc)
            return
        if self.tracer is not None:
            self.tracer.io("read", self._protocol, len(data))
        if data:
            try:
                self._protocol.data_received(data)
            except Exception as exc:
                self._protocol_failed("data_received", exc)
        else:
            self._read_eof()

    def _read_eof(self) -> None:
        """The peer shut its write side: ask the protocol whether we go on."""
        self._eof_received = True
        self._reactor.remove_reader(self._fd)
        try:
            keep_open = self._protocol.eof_received()
        except Exception as exc:
            self._protocol_failed("eof_received", exc)
            return
        if not keep_open or self._eof_requested:
            self.close()

    def pause_reading(self) -> None:
        """Stop calling `data_received` until `resume_reading()`."""
        if not self._reading_paused and not self._closing:
            self._reading_paused = True
            self._reactor.remove_reader(self._fd)

    def resume_reading(self) -> None:
        """Undo `pause_reading()`."""
        if self._reading_paused:
            self._reading_paused = False
            if not self._closing and not self._eof_received:
                self._reactor.add_reader(self._fd, self._read_ready)

    def is_reading(self) -> bool:
        return not (self._reading_paused or self._closing or self._eof_received)

    # -- writing ------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send `data`; what the kernel cannot take now is buffered.

        Writes after `close()`, `abort()` or `write_eof()` are ignored.

        Raises:
            TypeError: `data` is not bytes-like (encode text first).
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"write() takes bytes, not {type(data).__name__}; encode text first, "
                f"e.g. transport.write(text.encode())"
            )
        if not data or self._closing or self._eof_requested:
            return
        if not self._buffer:
            # Fast path: nothing queued, so try the kernel at once.
            try:
                sent = self._sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._force_close(exc)
                return
            if self.tracer is not None:
                self.tracer.io("write", self._protocol, sent)
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
            self._reactor.add_writer(self._fd, self._write_ready)
        self._buffer += data
        if len(self._buffer) > self._high:
            if not self._writing_paused:
                self._writing_paused = True
                self._tell("pause_writing")
            elif len(self._buffer) > self.max_buffer_size:
                self._over_limit()

    def _over_limit(self) -> None:
        """The protocol wrote on after `pause_writing()` past the hard limit."""
        exc = ConnectionLimitError(
            f"write buffer passed {self.max_buffer_size} bytes: the peer is not reading and "
            f"{type(self._protocol).__name__} kept writing after pause_writing(). Stop writing "
            f"until resume_writing(), or raise transport.max_buffer_size."
        )
        log.warning("closing %r: %s", self, exc)
        self._force_close(exc)

    def writelines(self, chunks: Any) -> None:
        """Write each chunk in turn (joined first: one system call, not many)."""
        self.write(b"".join(chunks))

    def _write_ready(self) -> None:
        try:
            sent = self._sock.send(self._buffer)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._force_close(exc)
            return
        if self.tracer is not None:
            self.tracer.io("write", self._protocol, sent)
        del self._buffer[:sent]  # cheap: bytearray drops a prefix without copying
        if self._writing_paused and len(self._buffer) <= self._low:
            self._writing_paused = False
            self._tell("resume_writing")
        if not self._buffer:
            self._reactor.remove_writer(self._fd)
            if self._closing:
                self._reactor.call_soon(self._connection_lost, None)
            elif self._eof_requested:
                self._shutdown_write()

    def write_eof(self) -> None:
        """Close our write side after the buffer is flushed; reading goes on."""
        if self._closing or self._eof_requested:
            return
        self._eof_requested = True
        if not self._buffer:
            self._shutdown_write()

    def _shutdown_write(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            self._force_close(exc)
            return
        if self._eof_received:
            self.close()  # both directions are finished

    def can_write_eof(self) -> bool:
        return True

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the marks for `pause_writing` (above `high`) and `resume_writing` (at `low`).

        Raises:
            ValueError: unless 0 <= low <= high.
        """
        if high is None:
            high = HIGH_WATER if low is None else 4 * low
        if low is None:
            low = high // 4
        if not 0 <= low <= high:
            raise ValueError(f"need 0 <= low <= high, got high={high!r} low={low!r}")
        self._high, self._low = high, low
        if not self._writing_paused and len(self._buffer) > high:
            self._writing_paused = True
            self._tell("pause_writing")

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._low, self._high

    def get_write_buffer_size(self) -> int:
        """Bytes written by the protocol and not yet taken by the kernel."""
        return len(self._buffer)

    # -- closing: the skeleton's hooks (transport.py) ---------------------------

    def _stop_reading(self) -> None:
        self._reactor.remove_reader(self._fd)

    def _buffered(self) -> bool:
        return bool(self._buffer)

    def _discard_buffer(self) -> None:
        if self._buffer:
            self._buffer.clear()
        self._reactor.remove_writer(self._fd)

    def _release(self) -> None:
        self._sock.close()

    def _after_lost(self, exc: BaseException | None) -> None:
        if self._on_lost is not None:
            self._on_lost(exc)

    # -- information --------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """'peername', 'sockname', 'socket' or 'reactor'; `default` for anything else."""
        return self._extra.get(name, default)

    def __repr__(self) -> str:
        state = "closed" if self._lost else "closing" if self._closing else "open"
        return f"<TCPTransport fd={self._fd} {state} peer={self._extra.get('peername')}>"

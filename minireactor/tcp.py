"""TCP: the stream transport, listening ports and outgoing connectors.

A `TCPTransport` owns one connected, non-blocking socket. It reads when the
reactor says the socket is readable and hands the bytes to its protocol; it
sends what the protocol writes straight away, and only when the kernel's
send buffer is full does it keep the rest and ask the reactor to say when the
socket is writable again. It never touches a backend: it asks the reactor for
reader and writer interest (`add_reader`, `add_writer`).

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

`Port` accepts connections; `Connector` makes one. Both hand each new
connection a protocol from a factory (`protocol.py`).

Read next: `Port._out_of_descriptors` below (what a server does when the
process runs out of descriptors), then `reactor.py`'s `_run_once`.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import AddressInUseError, ConnectionLimitError, ConnectTimeoutError

if TYPE_CHECKING:
    from .reactor import Reactor
    from .timers import DelayedCall

log = logging.getLogger("minireactor")

HIGH_WATER = 64 * 1024
"""Default write-buffer size above which the protocol is asked to pause."""
MAX_READ = 256 * 1024
"""The most one recv() may return; bigger means fewer calls per megabyte."""
MAX_BUFFER = 16 * 1024 * 1024
"""Default hard limit: a protocol that keeps writing past `pause_writing()` is cut off here."""
ACCEPT_RETRY_DELAY = 1.0
"""Seconds a listener waits before accepting again when out of descriptors."""

_OUT_OF_DESCRIPTORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class TCPTransport:
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
        reactor: Reactor,
        sock: socket.socket,
        protocol: Any,
        on_lost: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            # Small writes go out at once; echo and request/response would
            # otherwise wait for Nagle's algorithm.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reactor = reactor
        self._sock = sock
        self._fd = sock.fileno()
        self._protocol = protocol
        self._on_lost = on_lost
        self._buffer = bytearray()
        self._high, self._low = HIGH_WATER, HIGH_WATER // 4
        self._closing = False  # close() or abort() was called: no more writes
        self._lost = False  # connection_lost has been called
        self._eof_requested = False  # write_eof() was called
        self._eof_received = False
        self._reading_paused = False
        self._writing_paused = False  # we told the protocol pause_writing()
        self._extra: dict[str, Any] = {"socket": sock}
        try:
            self._extra["peername"] = sock.getpeername()
            self._extra["sockname"] = sock.getsockname()
        except OSError:
            pass  # the peer already left; connection_lost will follow
        reactor.track(self)
        try:
            protocol.connection_made(self)
        except Exception as exc:
            self._protocol_failed("connection_made", exc)
            return
        if not self._closing:
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
        if self._reactor.tracer is not None:
            self._reactor.tracer.io("read", self._protocol, len(data))
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
            if self._reactor.tracer is not None:
                self._reactor.tracer.io("write", self._protocol, sent)
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
            self._reactor.add_writer(self._fd, self._write_ready)
        self._buffer += data
        if len(self._buffer) > self._high:
            if not self._writing_paused:
                self._writing_paused = True
                self._tell_protocol("pause_writing")
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
        if self._reactor.tracer is not None:
            self._reactor.tracer.io("write", self._protocol, sent)
        del self._buffer[:sent]  # cheap: bytearray drops a prefix without copying
        if self._writing_paused and len(self._buffer) <= self._low:
            self._writing_paused = False
            self._tell_protocol("resume_writing")
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
            self._tell_protocol("pause_writing")

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._low, self._high

    def get_write_buffer_size(self) -> int:
        """Bytes written by the protocol and not yet taken by the kernel."""
        return len(self._buffer)

    # -- closing ------------------------------------------------------------

    def close(self) -> None:
        """Stop reading, flush what is buffered, then close. Idempotent."""
        if self._closing:
            return
        self._closing = True
        self._reactor.remove_reader(self._fd)
        if not self._buffer:
            self._reactor.call_soon(self._connection_lost, None)

    def abort(self) -> None:
        """Close now, dropping anything still buffered."""
        self._force_close(None)

    def is_closing(self) -> bool:
        return self._closing

    def _force_close(self, exc: BaseException | None) -> None:
        if self._lost:
            return
        if self._buffer:
            self._buffer.clear()
            self._reactor.remove_writer(self._fd)
        if not self._closing:
            self._closing = True
            self._reactor.remove_reader(self._fd)
        self._reactor.call_soon(self._connection_lost, exc)

    def _connection_lost(self, exc: BaseException | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._reactor.remove_reader(self._fd)
        self._reactor.remove_writer(self._fd)
        self._reactor.untrack(self)
        try:
            self._protocol.connection_lost(exc)
        except Exception:
            log.exception("Unhandled error in %r.connection_lost", self._protocol)
        finally:
            self._sock.close()
        if self._on_lost is not None:
            self._on_lost(exc)

    def _protocol_failed(self, method: str, exc: Exception) -> None:
        """A protocol method raised: log it and close this connection only."""
        log.error("Unhandled error in %r.%s", self._protocol, method, exc_info=exc)
        self._force_close(exc)

    def _tell_protocol(self, method: str) -> None:
        try:
            getattr(self._protocol, method)()
        except Exception as exc:
            self._protocol_failed(method, exc)

    # -- information --------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """'peername', 'sockname' or 'socket'; `default` for anything else."""
        return self._extra.get(name, default)

    def get_protocol(self) -> Any:
        return self._protocol

    def __repr__(self) -> str:
        state = "closed" if self._lost else "closing" if self._closing else "open"
        return f"<TCPTransport fd={self._fd} {state} peer={self._extra.get('peername')}>"


def _family_of(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class Port:
    """A listening TCP socket that builds a protocol for each connection.

    `address` is the (host, port) really bound, so listening on port 0 and
    then reading `address[1]` is the way to get a free port.
    """

    def __init__(
        self, reactor: Reactor, port: int, factory: Any, interface: str, backlog: int
    ) -> None:
        self._reactor = reactor
        self._factory = factory
        self._backlog = backlog
        self._retry: DelayedCall | None = None
        self._exhausted = False  # out of descriptors: logged once per episode
        sock = socket.socket(_family_of(interface), socket.SOCK_STREAM)
        # SO_REUSEADDR: a server restarted in the next notebook cell may bind
        # the same port at once, despite connections lingering in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((interface, port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise AddressInUseError(
                    errno.EADDRINUSE,
                    f"port {port} on {interface or 'all interfaces'} is already in use; stop the "
                    f"other server, or listen on port 0 to let the system pick a free port",
                ) from None
            raise
        sock.listen(backlog)
        sock.setblocking(False)
        self._sock = sock
        self.address: tuple[str, int] = sock.getsockname()[:2]
        if reactor.reserve_fd is None:
            reactor.reserve_fd = ReserveDescriptor()
        reactor.track(self)
        reactor.add_reader(sock, self._accept_ready)

    def _accept_ready(self) -> None:
        # Accept everything that is waiting (up to the backlog), not just one:
        # a burst of connections costs one loop pass, not one each.
        for _ in range(self._backlog):
            try:
                conn, addr = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_DESCRIPTORS:
                    if not self._out_of_descriptors(exc):
                        return
                    continue
                if exc.errno == errno.ECONNABORTED:
                    continue  # the client gave up while waiting: nothing to do
                raise
            if self._exhausted:
                self._exhausted = False
                log.warning("listener %s: descriptors available again, accepting", self.address)
            self._start(conn, addr)

    def _start(self, conn: socket.socket, addr: Any) -> None:
        if self._reactor.tracer is not None:
            self._reactor.tracer.io("accept", self._factory, 0)
        try:
            protocol = self._factory.build_protocol(addr)
        except Exception:
            log.exception("%r.build_protocol failed; closing the connection", self._factory)
            conn.close()
            return
        TCPTransport(self._reactor, conn, protocol)

    def _out_of_descriptors(self, exc: OSError) -> bool:
        """No descriptor left for a new connection. Returns True to keep accepting.

        Twisted's remedy: give up the reserve descriptor, accept the waiting
        connection into it, close it at once (the client sees a clean close,
        not a hang), and take the reserve back. Without a reserve (someone
        else took the freed slot), we stop accepting for ACCEPT_RETRY_DELAY
        seconds, as asyncio does. Either way the loop does not spin.
        """
        if not self._exhausted:
            self._exhausted = True
            log.error(
                "listener %s: out of file descriptors (%s); refusing new connections until "
                "some close. Raise the limit (ulimit -n) or close idle connections.",
                self.address,
                exc.strerror,
            )
        reserve = self._reactor.reserve_fd
        if reserve is not None and reserve.shed(self._sock):
            return True
        self._reactor.remove_reader(self._sock)
        self._retry = self._reactor.call_later(ACCEPT_RETRY_DELAY, self._resume_accepting)
        return False

    def _resume_accepting(self) -> None:
        self._retry = None
        reserve = self._reactor.reserve_fd
        if reserve is not None:
            reserve.reopen()
        self._reactor.add_reader(self._sock, self._accept_ready)

    def stop_listening(self) -> None:
        """Close the listening socket; existing connections go on. Idempotent."""
        if self._sock.fileno() < 0:
            return
        if self._retry is not None:
            self._retry.cancel()
        self._reactor.remove_reader(self._sock)
        self._reactor.untrack(self)
        self._sock.close()

    def __repr__(self) -> str:
        return f"<Port {self.address}>"


class ReserveDescriptor:
    """One descriptor kept open so that a full process can still shed a connection."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self.reopen()

    def reopen(self) -> None:
        if self._fd is None:
            try:
                self._fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                self._fd = None  # still exhausted: try again later

    def shed(self, listener: socket.socket) -> bool:
        """Accept one waiting connection and close it at once; False without a reserve."""
        if self._fd is None:
            return False
        os.close(self._fd)
        self._fd = None
        try:
            conn, _ = listener.accept()
            conn.close()
        except OSError:
            pass  # nothing waiting after all, or still no room: either way, done
        self.reopen()
        return self._fd is not None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Connector:
    """An outgoing TCP connection attempt, and the connection it makes.

    The outcome reaches the factory: `build_protocol` on success, then
    `client_connection_lost` when the connection ends; or
    `client_connection_failed` when it cannot be made. `transport` is set once
    connected.
    """

    def __init__(
        self, reactor: Reactor, host: str, port: int, factory: Any, timeout: float
    ) -> None:
        self._reactor = reactor
        self._factory = factory
        self.host, self.port = host, port
        self.transport: TCPTransport | None = None
        self._sock: socket.socket | None = None
        self._timer: DelayedCall | None = None
        self._done = False
        try:
            # Literal addresses resolve at once; names use the system resolver,
            # which blocks (fine for localhost; see defer_to_thread otherwise).
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            reactor.call_soon(self._fail, exc)
            return
        self._addresses = [(info[0], info[4]) for info in infos]
        reactor.track(self)
        self._timer = reactor.call_later(timeout, self._timed_out, timeout)
        self._try_next(None)

    def _try_next(self, last_error: BaseException | None) -> None:
        """Try the next resolved address, or fail with the last error."""
        self._close_socket()
        if not self._addresses:
            self._fail(last_error or OSError(f"no address for {self.host}:{self.port}"))
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
            ConnectTimeoutError(
                f"connecting to {self.host}:{self.port} timed out after {timeout} s"
            )
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
        hook = getattr(self._factory, method, None)
        if hook is not None:
            try:
                hook(self, exc)
            except Exception:
                log.exception("Unhandled error in %r.%s", self._factory, method)

    def _finish(self) -> None:
        self._done = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._reactor.untrack(self)

    def _close_socket(self) -> None:
        if self._sock is not None:
            self._reactor.remove_writer(self._sock)
            self._sock.close()
            self._sock = None

    def stop_connecting(self) -> None:
        """Give up a connection attempt still in progress."""
        if not self._done:
            self._fail(ConnectionAbortedError(f"connecting to {self.host}:{self.port} was stopped"))

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

    def __repr__(self) -> str:
        return f"<Connector {self.host}:{self.port}>"

"""Listening: accept connections, and survive running out of descriptors.

A `Port` owns one listening socket. When the reactor says it is readable,
connections are waiting in the kernel's accept queue: the port accepts them
(a burst at a time), asks the factory for a protocol for each, and hands
both to a new `TCPTransport`.

The hard part is what happens when the process has no descriptor left for
a new connection (EMFILE). accept() then fails while the connection stays
queued, so the listening socket *stays readable*: a naive server retries at
once, forever, at 100% CPU. `Port._out_of_descriptors` explains the two
remedies, Twisted's and asyncio's; we use both.

Read next: `connector.py`, the other way a connection begins.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from .errors import AddressInUseError
from .tcp import TCPTransport

if TYPE_CHECKING:
    from .interface import Loop
    from .timers import DelayedCall

log = logging.getLogger("minireactor")

ACCEPT_RETRY_DELAY = 1.0
"""Seconds a listener waits before accepting again when out of descriptors."""

_OUT_OF_DESCRIPTORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def bind_tcp(port: int, interface: str, backlog: int) -> socket.socket:
    """A TCP socket bound to (interface, port) and listening.

    Raises:
        AddressInUseError: the port is taken (the message suggests port 0).
    """
    family = socket.AF_INET6 if ":" in interface else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # SO_REUSEADDR: a server restarted in the next notebook cell may bind
    # the same port at once, despite connections lingering in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((interface, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUseError(
                errno.EADDRINUSE,
                f"port {port} on {interface or 'all interfaces'} is already in use; stop the "
                f"other server, or listen on port 0 to let the system pick a free port",
            ) from None
        raise
    return sock


class Port:
    """A listening stream socket that builds a protocol for each connection.

    Give it a socket that is already bound and listening (`bind_tcp` makes
    one for TCP; `unix.py` makes Unix ones). `address` is what was really
    bound: (host, port) for TCP, so listening on port 0 and reading
    `address[1]` is the way to get a free port; the path for a Unix socket.
    """

    def __init__(self, reactor: Loop, sock: socket.socket, factory: Any, backlog: int) -> None:
        self._reactor = reactor
        self._factory = factory
        self._backlog = backlog
        self._retry: DelayedCall | None = None
        self._exhausted = False  # out of descriptors: logged once per episode
        sock.setblocking(False)
        self._sock = sock
        name = sock.getsockname()
        self.address: Any = name[:2] if isinstance(name, tuple) else name
        self._reserve = reactor.shared(ReserveDescriptor, lambda: ReserveDescriptor(reactor))
        reactor.own(self)
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
        if self._reserve.shed(self._sock):
            return True
        self._reactor.remove_reader(self._sock)
        self._retry = self._reactor.call_later(ACCEPT_RETRY_DELAY, self._resume_accepting)
        return False

    def _resume_accepting(self) -> None:
        self._retry = None
        self._reserve.reopen()
        self._reactor.add_reader(self._sock, self._accept_ready)

    def stop_listening(self) -> None:
        """Close the listening socket; existing connections go on. Idempotent."""
        if self._sock.fileno() < 0:
            return
        if self._retry is not None:
            self._retry.cancel()
        self._reactor.remove_reader(self._sock)
        self._reactor.disown(self)
        self._sock.close()

    def close(self) -> None:
        """Stop listening: what closing means for an owned port (see lifecycle.py)."""
        self.stop_listening()

    def abort(self) -> None:
        """Stop listening: a port has nothing to flush."""
        self.stop_listening()

    def __repr__(self) -> str:
        return f"<Port {self.address}>"


class ReserveDescriptor:
    """One descriptor kept open so that a full process can still shed a connection.

    One per reactor, shared by its ports (`Loop.shared`) and owned by it.
    """

    def __init__(self, reactor: Loop) -> None:
        self._reactor = reactor
        self._fd: int | None = None
        self._closed = False
        self.reopen()
        reactor.own(self)

    def reopen(self) -> None:
        if self._fd is None and not self._closed:
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
        """Give the descriptor back for good (the reactor is shutting down)."""
        self._closed = True
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._reactor.disown(self)

    def abort(self) -> None:
        self.close()

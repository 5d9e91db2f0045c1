"""`MiniReactorEventLoop`: an asyncio event loop whose engine is a minireactor reactor.

* minireactor's: the loop itself. One pass (`_run_once`) runs the ready
  handles, lets the reactor wait for I/O and dispatch it, then runs the due
  timers (`scheduler.py`: ready queue and timer heap; `fds.py`: readers and
  writers). Transports, the accept loop, `sock_*`, Unix sockets, child
  reaping and signals are the other modules of this package; each receives
  what it uses explicitly, and none imports this one.
* Inherited from `asyncio.BaseEventLoop`: tasks and futures, executors,
  `getaddrinfo`, the address logic of `create_connection` / `create_server`
  (happy eyeballs included), TLS (`asyncio.sslproto` over our transport),
  `sendfile`'s fallback, async generators, exception handling, debug mode.

Version differences live in `compat.py`; docs/asyncio-conformance.md lists
the asyncio internals used and why. Read next: `scheduler.py`, `fds.py`.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from asyncio import constants
from collections.abc import Callable
from contextvars import Context
from typing import Any, TypeVarTuple, Unpack

from ..errors import BackendError
from ..reactor import Reactor
from . import sendfile, subprocesses
from .compat import require_unix
from .datagram import DatagramTransport
from .fds import Descriptors
from .scheduler import Scheduler
from .servers import Listener
from .signals import SignalHandlers
from .sockets import SocketOperations
from .transports import SocketTransport, make_ssl_transport
from .unixsockets import UnixSockets

_Ts = TypeVarTuple("_Ts")

MAX_WAIT = 24 * 3600.0
"""The longest one reactor pass may sleep (asyncio's MAXIMUM_SELECT_TIMEOUT)."""


def _nothing() -> None:
    """A callback that does nothing; queued only to wake the reactor."""


class MiniReactorEventLoop(asyncio.BaseEventLoop):
    """An asyncio event loop running on a minireactor `Reactor`.

    Args:
        reactor: run on this reactor (it is shared, not owned: closing the
            loop leaves it open). By default the loop makes its own.
        backend: the backend of the reactor the loop makes ("auto", "epoll",
            "poll", "select", "kqueue").

    Raises:
        BackendError: the "threaded" backend was chosen (see below).
    """

    def __init__(self, reactor: Reactor | None = None, *, backend: str = "auto") -> None:
        self._scheduler = Scheduler(self)  # first: BaseEventLoop.__init__ calls set_debug()
        super().__init__()
        self._owns_reactor = reactor is None
        self._reactor = Reactor(backend) if reactor is None else reactor
        if self._reactor.backend_name == "threaded":
            self._closed = True
            if self._owns_reactor:
                self._reactor.close()
            # Every add_reader/remove_reader pair would start and join a
            # watcher thread: asyncio code does that for each sock_recv().
            raise BackendError(
                "minireactor.aio cannot run on the 'threaded' backend (a thread per descriptor "
                "is started and joined for every socket operation); choose one of "
                "'epoll', 'kqueue', 'poll' or 'select'"
            )
        self._descriptors = Descriptors(self._reactor, self._scheduler)
        self._sockets = SocketOperations(self, self._descriptors, self._ensure_resolved)  # type: ignore[attr-defined]
        self._unix = UnixSockets(self)
        self._listeners: dict[int, Listener] = {}
        self._signals = SignalHandlers(self, self._reactor, self._scheduler)

    @property
    def reactor(self) -> Reactor:
        """The minireactor reactor that runs this loop."""
        return self._reactor

    # -- running --------------------------------------------------------------

    def run_forever(self) -> None:
        self._check_closed()  # type: ignore[attr-defined]
        self._check_running()  # type: ignore[attr-defined]
        try:
            super().run_forever()
        finally:
            # The loop may next run in another thread (asyncio allows it).
            self._reactor.release_thread()

    def _run_once(self) -> None:
        """One pass; asyncio's run_forever calls this until stop().

        1. Run the handles queued before this pass (call_soon, call_soon_threadsafe).
        2. Let the reactor wait for I/O (not past the next timer, not at all
           if work is ready) and run the callbacks of ready descriptors.
        3. Run the timers now due, if they were scheduled before this pass.
        The same order as asyncio's loop; what a callback schedules waits for
        a later pass, so a callback that reschedules itself cannot starve I/O.
        """
        scheduler = self._scheduler
        before = scheduler.mark()
        scheduler.run_ready()
        if self._stopping or scheduler.ready:  # type: ignore[attr-defined]
            timeout = 0.0
        else:
            due = scheduler.timeout(self.time())
            timeout = MAX_WAIT if due is None else min(due, MAX_WAIT)
        self._reactor.iterate(timeout)
        scheduler.run_due_timers(self.time(), before)

    def _write_to_self(self) -> None:
        self._reactor.call_from_thread(_nothing)  # wakes a sleeping reactor

    def set_debug(self, enabled: bool) -> None:
        super().set_debug(enabled)
        self._scheduler.debug = enabled

    def close(self) -> None:
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self.is_closed():
            return
        self._signals.close()
        super().close()
        self._scheduler.clear()  # asyncio drops unrun callbacks on close
        self._descriptors.close()
        if self._owns_reactor:
            self._reactor.discard_pending()
            self._reactor.close()

    # -- scheduling -----------------------------------------------------------

    def call_soon(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.Handle:
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if not self._debug:  # type: ignore[attr-defined]
            # Other threads may call_soon when debug is off, as with asyncio.
            # Written out (not `_queue`): every task step comes through here.
            handle = asyncio.Handle(callback, args, self, context)
            self._scheduler.ready.append(handle)
            return handle
        self._check_thread()  # type: ignore[attr-defined]
        self._check_callback(callback, "call_soon")  # type: ignore[attr-defined]
        return self._queue(callback, args, context)

    def call_soon_threadsafe(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.Handle:
        self._check_closed()  # type: ignore[attr-defined]
        if self._debug:  # type: ignore[attr-defined]
            self._check_callback(callback, "call_soon_threadsafe")  # type: ignore[attr-defined]
        handle = self._queue(callback, args, context)
        self._write_to_self()
        return handle

    def _queue(
        self, callback: Callable[..., object], args: tuple[Any, ...], context: Context | None
    ) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        if handle._source_traceback:  # type: ignore[attr-defined]
            del handle._source_traceback[-1]  # type: ignore[attr-defined]  # not our frame
        self._scheduler.ready.append(handle)  # deque.append is atomic (threads)
        return handle

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        if when is None:
            raise TypeError("when cannot be None")
        self._check_closed()  # type: ignore[attr-defined]
        if self._debug:  # type: ignore[attr-defined]
            self._check_thread()  # type: ignore[attr-defined]
            self._check_callback(callback, "call_at")  # type: ignore[attr-defined]
        timer = asyncio.TimerHandle(when, callback, args, self, context)
        if timer._source_traceback:  # type: ignore[attr-defined]
            del timer._source_traceback[-1]  # type: ignore[attr-defined]
        self._scheduler.add_timer(timer)
        return timer

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        self._scheduler.timer_cancelled()

    # -- readers and writers --------------------------------------------------

    def _add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> asyncio.Handle:
        self._check_closed()  # type: ignore[attr-defined]
        return self._descriptors.add_reader(fd, asyncio.Handle(callback, args, self, None))

    def _add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> asyncio.Handle:
        self._check_closed()  # type: ignore[attr-defined]
        return self._descriptors.add_writer(fd, asyncio.Handle(callback, args, self, None))

    def _remove_reader(self, fd: Any) -> bool:
        return not self.is_closed() and self._descriptors.remove_reader(fd)

    def _remove_writer(self, fd: Any) -> bool:
        return not self.is_closed() and self._descriptors.remove_writer(fd)

    def add_reader(self, fd: Any, callback: Callable[[Unpack[_Ts]], Any], *args: *_Ts) -> None:
        """Call `callback(*args)` whenever `fd` is readable (replacing any reader)."""
        self._descriptors.ensure_no_transport(fd)
        self._add_reader(fd, callback, *args)

    def remove_reader(self, fd: Any) -> bool:
        self._descriptors.ensure_no_transport(fd)
        return self._remove_reader(fd)

    def add_writer(self, fd: Any, callback: Callable[[Unpack[_Ts]], Any], *args: *_Ts) -> None:
        """Call `callback(*args)` whenever `fd` is writable (replacing any writer)."""
        self._descriptors.ensure_no_transport(fd)
        self._add_writer(fd, callback, *args)

    def remove_writer(self, fd: Any) -> bool:
        self._descriptors.ensure_no_transport(fd)
        return self._remove_writer(fd)

    # -- sock_* coroutines (sockets.py) and Unix sockets (unixsockets.py) ------

    async def sock_recv(self, sock: socket.socket, n: int) -> bytes:
        return await self._sockets.recv(sock, n)

    async def sock_recv_into(self, sock: socket.socket, buf: Any) -> int:
        return await self._sockets.recv_into(sock, buf)

    async def sock_recvfrom(self, sock: socket.socket, bufsize: int) -> tuple[bytes, Any]:
        return await self._sockets.recvfrom(sock, bufsize)

    async def sock_recvfrom_into(
        self, sock: socket.socket, buf: Any, nbytes: int = 0
    ) -> tuple[int, Any]:
        return await self._sockets.recvfrom_into(sock, buf, nbytes)

    async def sock_sendall(self, sock: socket.socket, data: Any) -> None:
        await self._sockets.sendall(sock, data)

    async def sock_sendto(self, sock: socket.socket, data: Any, address: Any) -> int:
        return await self._sockets.sendto(sock, data, address)

    async def sock_connect(self, sock: socket.socket, address: Any) -> None:
        await self._sockets.connect(sock, address)

    async def sock_accept(self, sock: socket.socket) -> tuple[socket.socket, Any]:
        return await self._sockets.accept(sock)

    async def create_unix_connection(
        self, protocol_factory: Any, path: Any = None, **kwargs: Any
    ) -> tuple[Any, Any]:
        """Connect to a Unix stream socket at `path` (or use `sock=`)."""
        return await self._unix.create_connection(protocol_factory, path, **kwargs)

    async def create_unix_server(
        self, protocol_factory: Any, path: Any = None, **kwargs: Any
    ) -> asyncio.Server:
        """Listen on a Unix stream socket at `path` (or on `sock=`)."""
        return await self._unix.create_server(protocol_factory, path, **kwargs)

    # -- transports and servers ---------------------------------------------

    def _make_socket_transport(
        self,
        sock: socket.socket,
        protocol: Any,
        waiter: Any = None,
        *,
        extra: Any = None,
        server: Any = None,
    ) -> SocketTransport:
        return SocketTransport(self, self._descriptors, sock, protocol, waiter, extra, server)

    def _make_ssl_transport(
        self,
        rawsock: socket.socket,
        protocol: Any,
        sslcontext: ssl.SSLContext,
        waiter: Any = None,
        **kwargs: Any,
    ) -> Any:
        return make_ssl_transport(
            self, self._descriptors, rawsock, protocol, sslcontext, waiter, **kwargs
        )

    def _make_datagram_transport(
        self,
        sock: socket.socket,
        protocol: Any,
        address: Any = None,
        waiter: Any = None,
        extra: Any = None,
    ) -> DatagramTransport:
        return DatagramTransport(self, self._descriptors, sock, protocol, address, waiter, extra)

    def _make_read_pipe_transport(
        self, pipe: Any, protocol: Any, waiter: Any = None, extra: Any = None
    ) -> Any:
        return subprocesses.make_pipe_transport(self, True, pipe, protocol, waiter, extra)

    def _make_write_pipe_transport(
        self, pipe: Any, protocol: Any, waiter: Any = None, extra: Any = None
    ) -> Any:
        return subprocesses.make_pipe_transport(self, False, pipe, protocol, waiter, extra)

    async def _make_subprocess_transport(
        self, protocol: Any, *args: Any, extra: Any = None, **kwargs: Any
    ) -> Any:
        return await subprocesses.make_subprocess_transport(
            self, self._reactor, protocol, *args, extra=extra, **kwargs
        )

    async def _sock_sendfile_native(
        self, sock: socket.socket, file: Any, offset: int, count: int | None
    ) -> int:
        return await sendfile.sock_sendfile_native(
            self, self._descriptors, sock, file, offset, count
        )

    async def _sendfile_native(self, transp: Any, file: Any, offset: int, count: int | None) -> int:
        return await sendfile.transport_sendfile_native(
            self, self._descriptors, transp, file, offset, count
        )

    def _start_serving(
        self,
        protocol_factory: Any,
        sock: socket.socket,
        sslcontext: Any = None,
        server: Any = None,
        backlog: int = 100,
        ssl_handshake_timeout: float | None = constants.SSL_HANDSHAKE_TIMEOUT,
        ssl_shutdown_timeout: float | None = constants.SSL_SHUTDOWN_TIMEOUT,
    ) -> None:
        listener = Listener(
            self,
            self._reactor,
            self._make_socket_transport,
            self._make_ssl_transport,
            protocol_factory,
            sock,
            sslcontext,
            server,
            backlog,
            ssl_handshake_timeout,
            ssl_shutdown_timeout,
        )
        self._listeners[sock.fileno()] = listener
        listener.start()

    def _stop_serving(self, sock: socket.socket) -> None:
        path = self._unix.path_of(sock)  # read while the socket is open
        listener = self._listeners.pop(sock.fileno(), None)
        if listener is not None and not self.is_closed():
            listener.stop()
        sock.close()
        self._unix.remove_file(sock, path)

    # -- signals --------------------------------------------------------------

    def add_signal_handler(
        self, sig: int, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """Run `callback(*args)` on the loop when signal `sig` arrives (main thread only)."""
        require_unix("add_signal_handler")
        self._signals.add(sig, callback, args)

    def remove_signal_handler(self, sig: int) -> bool:
        return self._signals.remove(sig)

    @property
    def _signal_handlers(self) -> dict[int, asyncio.Handle]:
        return self._signals.handlers

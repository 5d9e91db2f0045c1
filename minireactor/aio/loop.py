"""`MiniReactorEventLoop`: an asyncio event loop whose engine is a minireactor reactor.

What is minireactor's here, and what is inherited from asyncio:

* minireactor's: the loop itself. `run_forever()` turns `reactor.iterate()`;
  `call_soon` puts a handle on the reactor's ready queue and `call_at` /
  `call_later` schedule a reactor `DelayedCall` (`handles.py` explains how
  asyncio's `Handle`/`TimerHandle` cancellation maps onto them);
  `call_soon_threadsafe` is `reactor.call_from_thread`; `add_reader` /
  `add_writer` are the reactor's; the stream and datagram transports
  (`transports.py`, `datagram.py`), the accept loop (`servers.py`), the
  `sock_*` coroutines and Unix-socket servers (`sockets.py`) and signal
  handling (`signals.py`) are written here on top of the reactor.
* Inherited from `asyncio.BaseEventLoop` (the layers above the engine):
  `run_until_complete`, tasks and futures, `run_in_executor` and the default
  executor, `getaddrinfo`, the address logic of `create_connection` /
  `create_server` / `create_datagram_endpoint` (happy eyeballs included),
  `start_tls` and TLS itself (`asyncio.sslproto` on top of our transport),
  `sendfile`'s portable fallback, async-generator shutdown, exception
  handling and debug mode. Pipes and subprocesses reuse asyncio's Unix pipe
  and subprocess transports, which drive our `_add_reader`/`_add_writer`;
  children are reaped by the policy's child watcher, as in asyncio.

Read next: `handles.py`, then `transports.py`.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys
import warnings
import weakref
from asyncio import constants, sslproto
from collections.abc import Callable
from contextvars import Context
from typing import Any, TypeVarTuple, Unpack

from ..errors import BackendError
from ..reactor import Reactor
from . import sendfile
from .datagram import DatagramTransport
from .handles import ReactorTimerHandle, ReadyHandle
from .servers import Listener
from .signals import SignalHandlers
from .sockets import SocketLoop
from .transports import SocketTransport

if sys.platform != "win32":
    # Pipes and subprocesses reuse asyncio's Unix transports (see the docstring).
    from asyncio import unix_events

_Ts = TypeVarTuple("_Ts")
UNIX = sys.platform != "win32"
"""False on Windows, where pipes, subprocesses and signals are not supported."""


def require_unix(method: str) -> None:
    """Raise NotImplementedError for a Unix-only feature on Windows, naming an alternative."""
    if not UNIX:
        raise NotImplementedError(
            f"loop.{method}() is not supported by minireactor.aio on Windows (it needs Unix "
            f"pipes, signals or sockets); use asyncio's default ProactorEventLoop for it"
        )


MAX_WAIT = 24 * 3600.0
"""The longest one reactor pass may sleep (asyncio's MAXIMUM_SELECT_TIMEOUT)."""


def _nothing() -> None:
    """A callback that does nothing; queued only to wake the reactor."""


class MiniReactorEventLoop(SocketLoop):
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
        self._readers: dict[int, ReadyHandle] = {}
        self._writers: dict[int, ReadyHandle] = {}
        self._transports: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._listeners: dict[int, Listener] = {}
        self._signals = SignalHandlers(self)

    @property
    def reactor(self) -> Reactor:
        """The minireactor reactor that runs this loop."""
        return self._reactor

    # -- running --------------------------------------------------------------

    def run_forever(self) -> None:
        self._check_closed()
        self._check_running()
        try:
            super().run_forever()
        finally:
            # The loop may next run in another thread (asyncio allows it).
            self._reactor.release_thread()

    def _run_once(self) -> None:
        """One turn of the reactor: asyncio's run_forever calls this until stop()."""
        self._reactor.iterate(0.0 if self._stopping else MAX_WAIT)

    def _process_events(self, event_list: Any) -> None:
        """Unused: the reactor dispatches I/O events itself."""

    def _write_to_self(self) -> None:
        self._reactor.call_from_thread(_nothing)  # wakes a sleeping reactor

    def close(self) -> None:
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self.is_closed():
            return
        self._signals.close()
        super().close()
        self._readers.clear()
        self._writers.clear()
        if self._owns_reactor:
            self._reactor.discard_pending()  # asyncio drops unrun callbacks on close
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
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_soon")
        handle = ReadyHandle(callback, args, self, context)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._reactor.call_soon(handle._run)
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
        self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
        timer = ReactorTimerHandle(when, callback, args, self, context)
        if timer._source_traceback:
            del timer._source_traceback[-1]
        # The reactor collects due timers right after its wait, before it runs
        # any callback, as asyncio does: a timer made during a pass
        # (call_later(0, f)) waits for the next one, behind the callbacks
        # queued with it.
        timer._delayed = self._reactor.call_at(when, timer._run)
        timer._scheduled = True
        return timer

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        delayed = getattr(handle, "_delayed", None)
        if delayed is not None:
            delayed.cancel()

    def call_soon_threadsafe(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.Handle:
        self._check_closed()
        if self._debug:
            self._check_callback(callback, "call_soon_threadsafe")
        handle = ReadyHandle(callback, args, self, context)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._reactor.call_from_thread(handle._run)
        return handle

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
        return SocketTransport(self, sock, protocol, waiter, extra, server)

    def _make_ssl_transport(
        self,
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
        # TLS is composition: asyncio's SSLProtocol speaks TLS over our
        # plain socket transport and hands the application its own transport.
        ssl_protocol = sslproto.SSLProtocol(
            self,
            protocol,
            sslcontext,
            waiter,
            server_side,
            server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,  # type: ignore[arg-type]
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )
        SocketTransport(self, rawsock, ssl_protocol, extra=extra, server=server)
        return ssl_protocol._app_transport

    def _make_datagram_transport(
        self,
        sock: socket.socket,
        protocol: Any,
        address: Any = None,
        waiter: Any = None,
        extra: Any = None,
    ) -> DatagramTransport:
        return DatagramTransport(self, sock, protocol, address, waiter, extra)

    def _make_read_pipe_transport(
        self, pipe: Any, protocol: Any, waiter: Any = None, extra: Any = None
    ) -> Any:
        require_unix("connect_read_pipe")
        return unix_events._UnixReadPipeTransport(self, pipe, protocol, waiter, extra)  # type: ignore[attr-defined]

    def _make_write_pipe_transport(
        self, pipe: Any, protocol: Any, waiter: Any = None, extra: Any = None
    ) -> Any:
        require_unix("connect_write_pipe")
        return unix_events._UnixWritePipeTransport(self, pipe, protocol, waiter, extra)  # type: ignore[attr-defined]

    async def _make_subprocess_transport(
        self,
        protocol: Any,
        args: Any,
        shell: bool,
        stdin: Any,
        stdout: Any,
        stderr: Any,
        bufsize: int,
        extra: Any = None,
        **kwargs: Any,
    ) -> Any:
        require_unix("subprocess_exec")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            policy_watcher = asyncio.get_child_watcher()
        with policy_watcher as watcher:
            if not watcher.is_active():
                raise RuntimeError(
                    "asyncio.get_child_watcher() is not activated, subprocess support is "
                    "not installed."
                )
            waiter = self.create_future()
            transport = unix_events._UnixSubprocessTransport(  # type: ignore[attr-defined]
                self,
                protocol,
                args,
                shell,
                stdin,
                stdout,
                stderr,
                bufsize,
                waiter=waiter,
                extra=extra,
                **kwargs,
            )
            watcher.add_child_handler(transport.get_pid(), self._child_exited, transport)
            try:
                await waiter
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                transport.close()
                await transport._wait()
                raise
        return transport

    def _child_exited(self, pid: int, returncode: int, transport: Any) -> None:
        # Watchers may call this from their own thread; the extra hop through
        # call_soon lets the pipes deliver their last data before the exit.
        self.call_soon_threadsafe(self.call_soon, transport._process_exited, returncode)

    async def _sock_sendfile_native(
        self, sock: socket.socket, file: Any, offset: int, count: int | None
    ) -> int:
        return await sendfile.sock_sendfile_native(self, sock, file, offset, count)

    async def _sendfile_native(self, transp: Any, file: Any, offset: int, count: int | None) -> int:
        return await sendfile.transport_sendfile_native(self, transp, file, offset, count)

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
        listener = self._listeners.pop(sock.fileno(), None)
        if listener is not None and not self.is_closed():
            listener.stop()
        sock.close()

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
    def _signal_handlers(self) -> dict[int, ReadyHandle]:
        return self._signals.handlers

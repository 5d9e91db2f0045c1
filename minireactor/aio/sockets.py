"""The loop's descriptor layer: `add_reader`, the `sock_*` coroutines, Unix sockets.

`SocketLoop` sits between asyncio's `BaseEventLoop` and our
`MiniReactorEventLoop` (`loop.py`). It maps asyncio's reader and writer
callbacks onto the reactor's: the reactor calls `handle._run` when the
descriptor is ready, and we keep the `Handle`s so that replacing or removing
a callback cancels the old one, as asyncio promises.

Every `sock_*` coroutine follows one pattern:

1. Try the operation at once: on a non-blocking socket it either works or
   raises BlockingIOError ("would block").
2. If it would block, create a future, ask the reactor to call us when the
   socket is ready, and await the future.
3. When called, try again; on success or a real error resolve the future.
   When the future is done (or cancelled), stop watching the socket.

`_wait_ready` implements steps 2-3 once for all of them; each coroutine
only says what to try.

Read next: `transports.py`, which does the same for long-lived connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import ssl
import stat
import weakref
from asyncio import base_events, tasks
from asyncio.log import logger
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, Unpack

from ..reactor import Reactor
from .handles import ReadyHandle

_Ts = TypeVarTuple("_Ts")
_T = TypeVar("_T")


def _fileno(fileobj: Any) -> int:
    """The descriptor number of an int or of an object with `fileno()`."""
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


def _check_socket(loop: SocketLoop, sock: socket.socket) -> None:
    if isinstance(sock, ssl.SSLSocket):
        raise TypeError("Socket cannot be of type SSLSocket")
    if loop.get_debug() and sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")


class SocketLoop(asyncio.BaseEventLoop):
    """Readers, writers, `sock_*` coroutines and `create_unix_*` on the reactor."""

    # Set by MiniReactorEventLoop.__init__.
    _reactor: Reactor
    _readers: dict[int, ReadyHandle]
    _writers: dict[int, ReadyHandle]
    _transports: weakref.WeakValueDictionary[int, Any]

    if TYPE_CHECKING:
        # Private attributes and helpers of asyncio.BaseEventLoop that we use
        # (typeshed does not list them).
        _debug: bool
        _stopping: bool
        _closed: bool

        def _check_closed(self) -> None: ...
        def _check_running(self) -> None: ...
        def _check_thread(self) -> None: ...
        def _check_callback(self, callback: Any, method: str) -> None: ...
        async def _ensure_resolved(self, address: Any, **kwargs: Any) -> Any: ...
        async def _create_connection_transport(
            self,
            sock: socket.socket,
            protocol_factory: Any,
            ssl: Any,
            server_hostname: Any,
            **kwargs: Any,
        ) -> Any: ...

    # -- readers and writers --------------------------------------------------

    def _ensure_fd_no_transport(self, fd: Any) -> None:
        fileno = _fileno(fd)
        transport = self._transports.get(fileno)
        if transport is not None and not transport.is_closing():
            raise RuntimeError(f"File descriptor {fd!r} is used by transport {transport!r}")

    def _add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> ReadyHandle:
        return self._watch(self._readers, self._reactor.add_reader, fd, callback, args)

    def _add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> ReadyHandle:
        return self._watch(self._writers, self._reactor.add_writer, fd, callback, args)

    def _watch(
        self,
        handles: dict[int, ReadyHandle],
        reactor_add: Callable[..., None],
        fd: Any,
        callback: Callable[..., object],
        args: tuple[Any, ...],
    ) -> ReadyHandle:
        self._check_closed()
        fileno = _fileno(fd)
        handle = ReadyHandle(callback, args, self, None)
        old = handles.get(fileno)
        handles[fileno] = handle
        reactor_add(fileno, handle._run)
        if old is not None:
            old.cancel()  # replaced: a copy of it may still be queued
        return handle

    def _remove_reader(self, fd: Any) -> bool:
        return self._unwatch(self._readers, self._reactor.remove_reader, fd)

    def _remove_writer(self, fd: Any) -> bool:
        return self._unwatch(self._writers, self._reactor.remove_writer, fd)

    def _unwatch(
        self, handles: dict[int, ReadyHandle], reactor_remove: Callable[[int], bool], fd: Any
    ) -> bool:
        if self.is_closed():
            return False
        fileno = _fileno(fd)
        handle = handles.pop(fileno, None)
        if handle is None:
            return False
        # OSError: the descriptor was closed before it was unwatched; the
        # kernel has already forgotten it, which is all we wanted.
        with contextlib.suppress(OSError):
            reactor_remove(fileno)
        handle.cancel()
        return True

    def add_reader(self, fd: Any, callback: Callable[[Unpack[_Ts]], Any], *args: *_Ts) -> None:
        """Call `callback(*args)` whenever `fd` is readable (replacing any reader)."""
        self._ensure_fd_no_transport(fd)
        self._add_reader(fd, callback, *args)

    def remove_reader(self, fd: Any) -> bool:
        self._ensure_fd_no_transport(fd)
        return self._remove_reader(fd)

    def add_writer(self, fd: Any, callback: Callable[[Unpack[_Ts]], Any], *args: *_Ts) -> None:
        """Call `callback(*args)` whenever `fd` is writable (replacing any writer)."""
        self._ensure_fd_no_transport(fd)
        self._add_writer(fd, callback, *args)

    def remove_writer(self, fd: Any) -> bool:
        self._ensure_fd_no_transport(fd)
        return self._remove_writer(fd)

    # -- sock_* coroutines ----------------------------------------------------

    async def _wait_ready(
        self, sock: socket.socket, writing: bool, attempt: Callable[[], _T]
    ) -> _T:
        """Retry `attempt()` each time `sock` is ready, until it stops blocking."""
        fut: asyncio.Future[_T] = self.create_future()
        fd = sock.fileno()
        self._ensure_fd_no_transport(fd)

        def ready() -> None:
            if fut.done():
                return  # cancelled: the done-callback below removes us
            try:
                result = attempt()
            except (BlockingIOError, InterruptedError):
                return  # spurious wake-up: keep waiting
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                fut.set_exception(exc)
            else:
                fut.set_result(result)

        handle = self._add_writer(fd, ready) if writing else self._add_reader(fd, ready)

        def done(_: Any) -> None:
            # Someone else may have replaced our callback meanwhile: only
            # remove the watch if it is still ours.
            if not handle.cancelled():
                if writing:
                    self._remove_writer(fd)
                else:
                    self._remove_reader(fd)

        fut.add_done_callback(done)
        return await fut

    async def sock_recv(self, sock: socket.socket, n: int) -> bytes:
        _check_socket(self, sock)
        try:
            return sock.recv(n)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._wait_ready(sock, False, lambda: sock.recv(n))

    async def sock_recv_into(self, sock: socket.socket, buf: Any) -> int:
        _check_socket(self, sock)
        try:
            return sock.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._wait_ready(sock, False, lambda: sock.recv_into(buf))

    async def sock_recvfrom(self, sock: socket.socket, bufsize: int) -> tuple[bytes, Any]:
        _check_socket(self, sock)
        try:
            return sock.recvfrom(bufsize)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._wait_ready(sock, False, lambda: sock.recvfrom(bufsize))

    async def sock_recvfrom_into(
        self, sock: socket.socket, buf: Any, nbytes: int = 0
    ) -> tuple[int, Any]:
        _check_socket(self, sock)
        nbytes = nbytes or len(buf)
        try:
            return sock.recvfrom_into(buf, nbytes)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._wait_ready(sock, False, lambda: sock.recvfrom_into(buf, nbytes))

    async def sock_sendto(self, sock: socket.socket, data: Any, address: Any) -> int:
        _check_socket(self, sock)
        try:
            return sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._wait_ready(sock, True, lambda: sock.sendto(data, 0, address))

    async def sock_sendall(self, sock: socket.socket, data: Any) -> None:
        _check_socket(self, sock)
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        view = memoryview(data).cast("B")
        if sent == len(view):
            return

        def send_more() -> None:
            # Progress is kept in `view`; "not finished yet" is reported the
            # same way the kernel reports "not ready": BlockingIOError.
            nonlocal view
            view = view[sock.send(view) :]
            if view:
                raise BlockingIOError

        view = view[sent:]
        await self._wait_ready(sock, True, send_more)

    async def sock_connect(self, sock: socket.socket, address: Any) -> None:
        _check_socket(self, sock)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            resolved = await self._ensure_resolved(
                address, family=sock.family, type=sock.type, proto=sock.proto, loop=self
            )
            address = resolved[0][4]
        try:
            sock.connect(address)
            return
        except (BlockingIOError, InterruptedError):
            pass  # in progress: the kernel reports the outcome as "writable"

        def check_connected() -> None:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err != 0:
                raise OSError(err, f"Connect call failed {address}")

        await self._wait_ready(sock, True, check_connected)

    async def sock_accept(self, sock: socket.socket) -> tuple[socket.socket, Any]:
        _check_socket(self, sock)

        def accept() -> tuple[socket.socket, Any]:
            conn, address = sock.accept()
            conn.setblocking(False)
            return conn, address

        try:
            return accept()
        except (BlockingIOError, InterruptedError):
            pass
        return await self._wait_ready(sock, False, accept)

    # -- Unix sockets ---------------------------------------------------------

    async def create_unix_connection(
        self,
        protocol_factory: Any,
        path: Any = None,
        *,
        ssl: Any = None,
        sock: socket.socket | None = None,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> tuple[Any, Any]:
        """Connect to a Unix stream socket at `path` (or use `sock`)."""
        _require_unix("create_unix_connection")
        if ssl:
            if server_hostname is None:
                raise ValueError("you have to pass server_hostname when using ssl")
        else:
            _no_ssl_options(server_hostname, ssl_handshake_timeout, ssl_shutdown_timeout)
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)
            try:
                sock.setblocking(False)
                await self.sock_connect(sock, os.fspath(path))
            except BaseException:
                sock.close()
                raise
        else:
            if sock is None:
                raise ValueError("no path and sock were specified")
            _check_unix_stream(sock)
            sock.setblocking(False)
        transport, protocol = await self._create_connection_transport(
            sock,
            protocol_factory,
            ssl,
            server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )
        return transport, protocol

    async def create_unix_server(
        self,
        protocol_factory: Any,
        path: Any = None,
        *,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: Any = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        start_serving: bool = True,
    ) -> base_events.Server:
        """Listen on a Unix stream socket at `path` (a stale socket file is replaced)."""
        _require_unix("create_unix_server")
        if isinstance(ssl, bool):
            raise TypeError("ssl argument must be an SSLContext or None")
        if not ssl:
            _no_ssl_options(None, ssl_handshake_timeout, ssl_shutdown_timeout)
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            sock = _bind_unix(os.fspath(path))
        else:
            if sock is None:
                raise ValueError("path was not specified, and no sock specified")
            _check_unix_stream(sock)
        sock.setblocking(False)
        server = base_events.Server(
            self,
            [sock],
            protocol_factory,
            ssl,
            backlog,
            ssl_handshake_timeout,
            ssl_shutdown_timeout,
        )
        if start_serving:
            server._start_serving()  # type: ignore[attr-defined]
            await tasks.sleep(0)  # let the reactor register the listener first
        return server


def _require_unix(method: str) -> None:
    from .loop import require_unix  # loop.py imports this module

    require_unix(method)


def _no_ssl_options(
    server_hostname: str | None, handshake: float | None, shutdown: float | None
) -> None:
    if server_hostname is not None:
        raise ValueError("server_hostname is only meaningful with ssl")
    if handshake is not None:
        raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
    if shutdown is not None:
        raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")


def _check_unix_stream(sock: socket.socket) -> None:
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")


def _bind_unix(path: Any) -> socket.socket:
    """A Unix stream socket bound to `path`, replacing a stale socket file there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if path[0] not in (0, "\x00"):  # not an abstract (Linux-only, nameless) socket
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                os.remove(path)  # left behind by a server that died
        except FileNotFoundError:
            pass
        except OSError as err:
            logger.error("Unable to check or remove stale UNIX socket %r: %r", path, err)
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise OSError(errno.EADDRINUSE, f"Address {path!r} is already in use") from None
        raise
    except BaseException:
        sock.close()
        raise
    return sock

"""Unix stream sockets for `minireactor.aio`: `create_unix_server` and `create_unix_connection`.

These are asyncio's own recipes, step for step, so that they cost what
asyncio's cost (one `os.stat` to replace a stale socket file before bind;
from 3.13 one more to remember the file, which `close()` then removes) and
fail the same way (the socket is closed when bind fails, and EADDRINUSE
names the path). The listening itself is the loop's (`servers.py`).

Read next: `servers.py` (the accept loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import stat
from asyncio import base_events, tasks
from asyncio.log import logger
from typing import Any

from .compat import PY313, require_unix


class UnixSockets:
    """`loop.create_unix_server()` and `loop.create_unix_connection()` for one loop.

    Args:
        loop: the loop; its `sock_connect` and asyncio's inherited
            `_create_connection_transport` (the TLS-or-plain tail of
            `create_connection`) are used.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._files: dict[socket.socket, int] = {}  # server socket -> inode to remove at close

    async def create_connection(
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
        loop = self._loop
        require_unix("create_unix_connection")
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
                await loop.sock_connect(sock, os.fspath(path))
            except BaseException:
                sock.close()
                raise
        else:
            if sock is None:
                raise ValueError("no path and sock were specified")
            _check_unix_stream(sock)
            sock.setblocking(False)
        transport, protocol = await loop._create_connection_transport(  # type: ignore[attr-defined]
            sock,
            protocol_factory,
            ssl,
            server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )
        return transport, protocol

    async def create_server(
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
        cleanup_socket: bool = True,
    ) -> base_events.Server:
        """Listen on a Unix stream socket at `path` (a stale socket file is replaced)."""
        loop = self._loop
        require_unix("create_unix_server")
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
        if cleanup_socket and PY313:
            self._remember_file(sock)
        sock.setblocking(False)
        server = base_events.Server(
            loop,
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

    def _remember_file(self, sock: socket.socket) -> None:
        path = sock.getsockname()
        if path and path[0] not in (0, "\x00"):  # abstract sockets have no file
            with contextlib.suppress(FileNotFoundError):
                self._files[sock] = os.stat(path).st_ino

    def path_of(self, sock: socket.socket) -> Any:
        """The path of a server socket whose file we will remove, read while it is open."""
        return sock.getsockname() if sock in self._files else None

    def remove_file(self, sock: socket.socket, path: Any) -> None:
        inode = self._files.pop(sock, None)
        if inode is not None and path:
            self._remove_file(path, inode)

    @staticmethod
    def _remove_file(path: Any, inode: int) -> None:
        try:
            if os.stat(path).st_ino == inode:
                os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as err:
            logger.warning("Unable to clean up listening UNIX socket %r: %r", path, err)


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

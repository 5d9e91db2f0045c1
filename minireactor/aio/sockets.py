"""The `sock_*` coroutines of `minireactor.aio`: non-blocking socket calls, awaited.

Every one follows one pattern:

1. Try the operation at once: on a non-blocking socket it either works or
   raises BlockingIOError ("would block").
2. If it would block, ask the reactor to call us when the socket is ready
   and await a future (`Descriptors.wait_ready` in `fds.py`).
3. When called, try again; on success or a real error resolve the future.

So each coroutine only says what to try. They receive what they use
explicitly: the loop (its public API), the descriptor table, and the
address resolver.

Read next: `unixsockets.py` (Unix-socket servers and clients).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from .fds import Descriptors


class SocketOperations:
    """`loop.sock_recv()` and friends, for one loop.

    Args:
        loop: the loop (for futures and `get_debug()`).
        io: its descriptor table.
        resolve: turns a host name into addresses, without a lookup when the
            address is numeric (asyncio's `_ensure_resolved`).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        io: Descriptors,
        resolve: Callable[..., Awaitable[Any]],
    ) -> None:
        self._loop = loop
        self._io = io
        self._resolve = resolve

    def _check(self, sock: socket.socket) -> None:
        if isinstance(sock, ssl.SSLSocket):
            raise TypeError("Socket cannot be of type SSLSocket")
        if self._loop.get_debug() and sock.gettimeout() != 0:
            raise ValueError("the socket must be non-blocking")

    async def recv(self, sock: socket.socket, n: int) -> bytes:
        self._check(sock)
        try:
            return sock.recv(n)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._io.wait_ready(self._loop, sock, False, lambda: sock.recv(n))

    async def recv_into(self, sock: socket.socket, buf: Any) -> int:
        self._check(sock)
        try:
            return sock.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._io.wait_ready(self._loop, sock, False, lambda: sock.recv_into(buf))

    async def recvfrom(self, sock: socket.socket, bufsize: int) -> tuple[bytes, Any]:
        self._check(sock)
        try:
            return sock.recvfrom(bufsize)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._io.wait_ready(self._loop, sock, False, lambda: sock.recvfrom(bufsize))

    async def recvfrom_into(
        self, sock: socket.socket, buf: Any, nbytes: int = 0
    ) -> tuple[int, Any]:
        self._check(sock)
        nbytes = nbytes or len(buf)
        try:
            return sock.recvfrom_into(buf, nbytes)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._io.wait_ready(
            self._loop, sock, False, lambda: sock.recvfrom_into(buf, nbytes)
        )

    async def sendto(self, sock: socket.socket, data: Any, address: Any) -> int:
        self._check(sock)
        try:
            return sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._io.wait_ready(
            self._loop, sock, True, lambda: sock.sendto(data, 0, address)
        )

    async def sendall(self, sock: socket.socket, data: Any) -> None:
        self._check(sock)
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
        await self._io.wait_ready(self._loop, sock, True, send_more)

    async def connect(self, sock: socket.socket, address: Any) -> None:
        self._check(sock)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            resolved = await self._resolve(
                address, family=sock.family, type=sock.type, proto=sock.proto, loop=self._loop
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

        await self._io.wait_ready(self._loop, sock, True, check_connected)

    async def accept(self, sock: socket.socket) -> tuple[socket.socket, Any]:
        self._check(sock)

        def accept() -> tuple[socket.socket, Any]:
            conn, address = sock.accept()
            conn.setblocking(False)
            return conn, address

        try:
            return accept()
        except (BlockingIOError, InterruptedError):
            pass
        return await self._io.wait_ready(self._loop, sock, False, accept)

"""Zero-copy file sending with os.sendfile(2), for `loop.sendfile()` and `loop.sock_sendfile()`.

`os.sendfile(sock, file, offset, n)` asks the kernel to copy file pages
straight into the socket: no read() into Python, no write() back out. On a
non-blocking socket it sends what fits in the socket buffer and returns the
count, or raises BlockingIOError when nothing fits, so we wait for the
reactor to say "writable" and go on from the new offset.

asyncio's inherited code calls these and falls back to plain reads and
writes when they raise `SendfileNotAvailableError` (not a regular file,
or a socket type sendfile(2) refuses).

Read next: `transports.py` (`_make_empty_waiter`, which keeps the transport
quiet while the kernel sends the file).
"""

from __future__ import annotations

import asyncio
import errno
import io
import os
import socket
from asyncio import exceptions
from typing import Any

from .fds import Descriptors
from .transports import SocketTransport


def _file_descriptor(file: Any) -> int:
    try:
        fileno = int(file.fileno())
        os.fstat(fileno)
    except (AttributeError, io.UnsupportedOperation, OSError):
        raise exceptions.SendfileNotAvailableError("not a regular file") from None
    return fileno


async def sock_sendfile_native(
    loop: asyncio.AbstractEventLoop,
    descriptors: Descriptors,
    sock: socket.socket,
    file: Any,
    offset: int,
    count: int | None,
) -> int:
    """Send `count` bytes (or up to EOF) of `file` from `offset`; returns bytes sent.

    The file position ends just after the last byte sent, even on error or
    cancellation.
    """
    fileno = _file_descriptor(file)
    blocksize = count or os.fstat(fileno).st_size
    if not blocksize:
        return 0  # an empty file
    total = 0

    def send_some() -> int:
        size = count - total if count else blocksize
        return os.sendfile(sock.fileno(), fileno, offset + total, size)

    try:
        while not count or total < count:
            try:
                try:
                    sent = send_some()
                except (BlockingIOError, InterruptedError):
                    sent = await descriptors.wait_ready(loop, sock, True, send_some)
            except OSError as exc:
                raise _sendfile_error(exc, total) from exc
            if sent == 0:
                break  # end of file
            total += sent
    finally:
        if total:
            os.lseek(fileno, offset + total, os.SEEK_SET)
    return total


def _sendfile_error(exc: OSError, total: int) -> Exception:
    if total == 0:
        # Failing at once usually means sendfile(2) cannot handle this file
        # or socket: the caller falls back to read() and send().
        return exceptions.SendfileNotAvailableError("os.sendfile call failed")
    if exc.errno == errno.ENOTCONN and type(exc) is not ConnectionError:
        # The peer left midway; say so the same way on every platform.
        return ConnectionError("socket is not connected", errno.ENOTCONN)
    return exc


async def transport_sendfile_native(
    loop: asyncio.AbstractEventLoop,
    descriptors: Descriptors,
    transport: SocketTransport,
    file: Any,
    offset: int,
    count: int | None,
) -> int:
    """`loop.sendfile()` on our stream transport: flush, then sendfile(2) on its socket."""
    sock = transport._sock
    if sock is None:
        raise ConnectionError("Connection is closed")
    # The socket is lent to sock_sendfile for a while: reading stops, writes
    # are refused (the empty waiter), and the fd is not "owned" meanwhile.
    del descriptors.transports[transport._sock_fd]
    resume_reading = transport.is_reading()
    transport.pause_reading()
    await transport._make_empty_waiter()
    try:
        return await loop.sock_sendfile(sock, file, offset, count, fallback=False)
    finally:
        transport._reset_empty_waiter()
        if resume_reading:
            transport.resume_reading()
        descriptors.transports[transport._sock_fd] = transport

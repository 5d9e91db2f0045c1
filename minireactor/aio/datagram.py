"""The datagram (UDP, Unix datagram) transport for `minireactor.aio`.

Same skeleton as the stream transport in `transports.py`: the reactor says
"readable", we `recvfrom()` one datagram and hand it to
`protocol.datagram_received(data, addr)`. Differences worth knowing:

* Errors on a datagram socket (an ICMP "port unreachable" seen by a later
  send or receive) do not end the transport: they go to
  `protocol.error_received(exc)` and the transport carries on, as asyncio's
  does.
* The write buffer holds whole datagrams `(bytes, addr)`, never a byte
  stream: a datagram is sent entirely or not at all.

Read next: `servers.py` (how a listening socket makes stream transports).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import socket
from asyncio import constants, futures
from asyncio.log import logger
from typing import Any

from .fds import Descriptors
from .transport_base import SocketTransportBase, set_result_unless_cancelled


class DatagramTransport(SocketTransportBase):
    """One datagram socket, connected (`address` set) or not."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        io: Descriptors,
        sock: socket.socket,
        protocol: Any,
        address: Any = None,
        waiter: futures.Future[Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self._buffer: collections.deque[tuple[bytes, Any]] = collections.deque()
        super().__init__(loop, io, sock, protocol, extra, None)
        self._writer = functools.partial(self._context.run, self._sendto_ready)
        self._address = address
        self._buffer_size = 0
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self._watch_reads)
        if waiter is not None:
            loop.call_soon(set_result_unless_cancelled, waiter, None)

    def get_write_buffer_size(self) -> int:
        return self._buffer_size

    def _read_ready(self) -> None:
        assert self._sock is not None
        try:
            data, addr = self._sock.recvfrom(self.max_size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._call_protocol("error_received", exc)
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on datagram transport")
            return
        self._call_protocol("datagram_received", data, addr)

    def _call_protocol(self, method: str, *args: Any) -> None:
        """Call a protocol method; what it raises goes to the exception handler."""
        try:
            getattr(self._protocol, method)(*args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop.call_exception_handler(
                {
                    "message": f"Exception in {type(self._protocol).__name__}.{method}()",
                    "exception": exc,
                    "transport": self,
                    "protocol": self._protocol,
                }
            )

    def sendto(self, data: bytes | bytearray | memoryview, addr: Any = None) -> None:
        """Send one datagram to `addr` (or to the connected address)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        if not data:
            return
        if self._address:
            if addr not in (None, self._address):
                raise ValueError(f"Invalid address: must be None or {self._address}")
            addr = self._address
        if self._conn_lost and self._address:
            if self._conn_lost >= constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                logger.warning("socket.send() raised exception.")
            self._conn_lost += 1
            return
        if not self._buffer:
            try:
                self._send(data, addr)
                return
            except (BlockingIOError, InterruptedError):
                self._reactor.add_writer(self._sock_fd, self._writer)
            except OSError as exc:
                self._call_protocol("error_received", exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on datagram transport")
                return
        self._buffer.append((bytes(data), addr))  # copy: the caller may reuse its buffer
        self._buffer_size += len(data)
        self._maybe_pause_protocol()

    def _send(self, data: bytes | bytearray | memoryview, addr: Any) -> None:
        assert self._sock is not None
        if self._extra["peername"]:
            self._sock.send(data)
        else:
            self._sock.sendto(data, addr)

    def _sendto_ready(self) -> None:
        while self._buffer:
            data, addr = self._buffer.popleft()
            self._buffer_size -= len(data)
            try:
                self._send(data, addr)
            except (BlockingIOError, InterruptedError):
                self._buffer.appendleft((data, addr))  # still full: retry later
                self._buffer_size += len(data)
                break
            except OSError as exc:
                self._call_protocol("error_received", exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on datagram transport")
                return
        self._maybe_resume_protocol()
        if not self._buffer:
            self._reactor.remove_writer(self._sock_fd)
            if self._closing:
                self._call_connection_lost(None)

"""Streaming responses: a body sent piece by piece, for as long as it takes.

A `Response` holds its whole body, and the server sends it with a
Content-Length. A `ResponseStream` is a Response whose body is written
later, in pieces: a live event feed (`minireactor/demo/sse.py`), a large
file, the output of a running job. Answer with it as with any response,
then write to it from any later callback::

    def handler(request):
        stream = ResponseStream(200, {"Content-Type": "text/plain"})
        reactor.call_later(1, stream.write, b"one second later\\n")
        reactor.call_later(2, stream.end)
        return stream

On the wire (RFC 9112 section 7.1) an HTTP/1.1 body of unknown length is
sent "chunked": each piece is prefixed with its size in hex, and a
zero-size chunk ends the body, so the connection stays usable for the next
request. HTTP/1.0 has no chunks; there the body ends when the server closes
the connection.

Read next: `minireactor/demo/sse.py` (Server-Sent Events, built on this).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .http_messages import HeadersLike, Response

__all__ = ["ResponseStream"]


class ResponseStream(Response):
    """A response whose body is written piece by piece; see the module docstring.

    Attributes:
        closed: ended, aborted, or the client went away; `write` does nothing then.
        on_close: called once, with this stream, when it closes for any reason.
        on_resume: called when a full write buffer has drained (see `paused`).
    """

    __slots__ = (
        "_chunked",
        "_finished",
        "_pending",
        "_transport",
        "closed",
        "on_close",
        "on_resume",
        "paused",
    )

    def __init__(self, status: int = 200, headers: HeadersLike = None) -> None:
        super().__init__(status, headers)
        self.closed = False
        self.paused = False  # the client reads slower than we write: wait for on_resume
        self.on_close: Callable[[ResponseStream], None] | None = None
        self.on_resume: Callable[[], None] | None = None
        self._pending: list[bytes] | None = []  # written before the head went out
        self._transport: Any = None
        self._chunked = False
        self._finished: Callable[[], None] | None = None

    def write(self, data: bytes) -> None:
        """Send `data` as the next piece of the body (dropped once closed).

        Raises:
            TypeError: `data` is not bytes.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}; encode text first")
        if self.closed or not data:  # an empty chunk would end a chunked body
            return
        if self._pending is not None:
            self._pending.append(bytes(data))
        elif self._chunked:
            self._transport.writelines([b"%x\r\n" % len(data), data, b"\r\n"])
        else:
            self._transport.write(data)

    def end(self) -> None:
        """Finish the body; the connection goes on to the next request (HTTP/1.1)."""
        if self.closed:
            return
        if self._pending is not None:  # not sent yet: end as soon as the head is out
            self._pending.append(b"")
            return
        if self._chunked:
            self._transport.write(b"0\r\n\r\n")
        self._close()

    def abort(self) -> None:
        """Drop the connection at once: the client sees an incomplete body."""
        if self._transport is not None and not self.closed:
            self._transport.abort()
        self._close()

    @property
    def used(self) -> bool:
        """True once the stream has answered a request (its head is out)."""
        return self._pending is None

    def get_write_buffer_size(self) -> int:
        """Bytes written but not yet taken by the kernel (0 before the head is out)."""
        return 0 if self._transport is None else int(self._transport.get_write_buffer_size())

    # -- called by HTTPServerProtocol ------------------------------------------------

    def _open(
        self, transport: Any, chunked: bool, bodyless: bool, finished: Callable[[], None]
    ) -> None:
        """The head is written: send what was written so far, and stream from now on."""
        assert self._pending is not None, "checked by the server protocol (see `used`)"
        pending, self._pending = self._pending, None
        self._transport, self._chunked, self._finished = transport, chunked, finished
        if self.closed:  # aborted before the head went out
            self._finished = None
            transport.abort()  # connection_lost tidies up the server protocol
            return
        if bodyless:  # HEAD, 204, 304: the head is the whole answer
            self._close()
            return
        for data in pending:
            if not data:
                self.end()
                return
            self.write(data)

    def _lost(self) -> None:
        """The connection is gone."""
        self._finished = None
        self._close()

    def _resume(self) -> None:
        self.paused = False
        if self.on_resume is not None and not self.closed:
            self.on_resume()

    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        finished, self._finished = self._finished, None
        if finished is not None:
            finished()
        if self.on_close is not None:
            self.on_close(self)

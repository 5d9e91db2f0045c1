"""HTTP/1.1 on one client connection: write a request, read back its response.

`HTTPClientProtocol` is the client's side of one connection, as
`HTTPServerProtocol` (`http.py`) is the server's: `request(...)` writes a
request and returns a `Deferred` that fires with the `Response`, which
`http_parser.ResponseParser` assembles from the bytes that come back. One
request at a time; the connection is reusable afterwards if both sides agreed
to keep it alive. If the connection ends first, the Deferred fails with
`ResponseNotReceived`.

It knows nothing of URLs, pools, timeouts or redirects: `HTTPClient`
(`http_client.py`) adds those on top, opening and reusing these connections.

Read next: `http_client.py`, the client that sends requests over this protocol.
"""

from __future__ import annotations

from typing import Any

from ..defer import Deferred
from ..protocol import Protocol
from .http_messages import Headers, HeadersLike, HTTPError, HTTPParseError, Response, encode_head
from .http_parser import ResponseParser

__all__ = ["HTTPClientProtocol", "ResponseNotReceived"]


class ResponseNotReceived(HTTPError, ConnectionError):
    """The connection ended before the whole response arrived.

    Attributes:
        nothing_received: True if not a byte of the response came back (the
            request may not even have reached the server).
    """

    def __init__(self, message: str, nothing_received: bool) -> None:
        super().__init__(message)
        self.nothing_received = nothing_received


class HTTPClientProtocol(Protocol):
    """HTTP/1.1 on one client connection, one request at a time.

    `request()` may be called before the connection is made; the request is
    written as soon as it is.
    """

    def __init__(
        self, *, max_head_bytes: int = 64 * 1024, max_body_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self._parser = ResponseParser(max_head_bytes=max_head_bytes, max_body_bytes=max_body_bytes)
        self.transport: Any = None
        self._outgoing = b""  # a request written before the connection was made
        self._waiting: Deferred[Response] | None = None
        self._method = "GET"
        self._received_any = False  # has any byte of the current response arrived?
        self._usable = True  # False once either side said the connection ends
        self.closed = False

    @property
    def reusable(self) -> bool:
        """Whether another request may be sent on this connection now."""
        return self._usable and not self.closed and self._waiting is None

    def request(
        self, method: str, target: str, headers: HeadersLike = None, body: bytes = b""
    ) -> Deferred[Response]:
        """Send a request; the Deferred fires with its Response.

        Args:
            method: "GET", "POST", ...
            target: the path and query, e.g. "/search?q=x".
            headers: header fields; must include Host. Content-Length is
                added for you.
            body: the request body.

        Raises:
            HTTPError: a request is already in flight, the connection cannot
                be reused, or a header contains CR/LF.
        """
        if not self.reusable:
            raise HTTPError("this connection is busy or closed; open another one")
        lines = [f"{method} {target} HTTP/1.1\r\n"]
        for name, value in Headers(headers).raw_items():
            if name.lower() != "content-length":
                lines.append(f"{name}: {value}\r\n")
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines.append("\r\n")
        data = encode_head(lines) + body
        self._method = method
        self._received_any = False
        waiting: Deferred[Response] = Deferred()
        self._waiting = waiting
        if self.transport is None:
            self._outgoing = data
        else:
            self.transport.write(data)
        return waiting

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        if self._outgoing:
            transport.write(self._outgoing)
            self._outgoing = b""

    def data_received(self, data: bytes) -> None:
        self._received_any = True
        self._parser.feed(data)
        self._deliver()

    def eof_received(self) -> bool | None:
        self._parser.feed_eof()  # a response without length ends here
        self._deliver()
        return None

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed = True
        self.transport = None
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            nothing = not self._received_any
            why = "before answering" if nothing else "in the middle of its response"
            error = ResponseNotReceived(
                f"the server closed the connection {why} ({exc or 'clean close'})", nothing
            )
            waiting.errback(error)

    def _deliver(self) -> None:
        """Hand over the response if it is complete; drop the connection on garbage."""
        if self._waiting is None:
            # Bytes nobody asked for (a server's 408 on an idle connection):
            # this connection's state is unknown, so stop using it.
            self._close()
            return
        try:
            response = self._parser.next_response(self._method)
            # Interim 1xx answers ("100 Continue") precede the real one.
            while response is not None and 100 <= response.status < 200:
                response = self._parser.next_response(self._method)
        except HTTPParseError as exc:
            self._close()
            waiting, self._waiting = self._waiting, None
            waiting.errback(exc)
            return
        if response is None:
            return
        waiting, self._waiting = self._waiting, None
        if not response.keep_alive:
            self._close()
        waiting.callback(response)

    def _close(self) -> None:
        """Close after what is written (the connection is done, not broken)."""
        self._usable = False
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection at once, unsent data included."""
        self._usable = False
        self._outgoing = b""
        if self.transport is not None:
            self.transport.abort()

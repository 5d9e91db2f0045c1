"""Putting an HTTP/1.1 response on the wire: status line, headers, framing, body.

The handler decides the status, its own headers and the body. The server
owns the fields that frame the message, so a handler cannot get them wrong:
Content-Length (or Transfer-Encoding: chunked for a `ResponseStream`),
Connection (close, or keep-alive for an HTTP/1.0 client that asked), Date
and Server. Each response is encoded once and written with one `write()`
where it can be, because every write is a system call.

Read next: `http.py`, the server protocol that calls `ResponseWriter.write`.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from .http_messages import REASONS, Request, Response, encode_head, status_has_body

__all__ = ["ResponseWriter", "error_answer"]

# Bodies at least this big are written separately instead of being copied
# onto the end of the head.
_COPY_BODY_LIMIT = 16 * 1024


@functools.lru_cache(maxsize=2)
def _http_date(second: int) -> str:
    """The Date header value for a Unix second (cached: it changes once a second)."""
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(second))


class ResponseWriter:
    """Encodes responses for one connection.

    Args:
        date_header: add a Date header to each response (RFC 9110 6.6.1).
        server_header: value of the Server header, or None for none.
    """

    def __init__(self, date_header: bool = True, server_header: str | None = "minireactor"):
        self._date_header = date_header
        self._server_line = f"Server: {server_header}\r\n" if server_header else ""
        self._head_end_bytes = b""  # see _head_end
        self._head_end_second = -1

    def write(
        self,
        transport: Any,
        request: Request,
        response: Response,
        keep_alive: bool,
        streaming: bool = False,
    ) -> None:
        """Write `response` to `request` on `transport`.

        `streaming`: the body follows later (a `ResponseStream`): chunked if
        the connection is kept alive, else until the connection closes.

        Raises:
            HTTPError: a header name or value cannot be sent (see `encode_head`).
        """
        status = response.status
        body = response.body
        fields = response._headers  # None: the handler set no header (no object built)
        lines = [f"HTTP/1.1 {status} {response.reason}\r\n"]
        for name, value in fields._pairs if fields is not None else ():
            key = name.lower()
            if key != "content-length" and key != "connection" and key != "transfer-encoding":
                lines.append(f"{name}: {value}\r\n")
            elif key == "content-length" and request.method == "HEAD":
                lines.append(f"{name}: {value}\r\n")  # HEAD may state the GET body's size
        has_body = status_has_body(status)
        head_length = request.method == "HEAD" and fields is not None and "content-length" in fields
        if streaming:
            if has_body and keep_alive:  # else the body ends when the connection closes
                lines.append("Transfer-Encoding: chunked\r\n")
        elif has_body and not head_length:
            lines.append(f"Content-Length: {len(body)}\r\n")
        if not keep_alive:
            lines.append("Connection: close\r\n")
        elif request.version == "HTTP/1.0":
            lines.append("Connection: keep-alive\r\n")
        head = encode_head(lines) + self._head_end()
        if not has_body or request.method == "HEAD" or not body:
            transport.write(head)
        elif len(body) < _COPY_BODY_LIMIT:
            transport.write(head + body)
        else:
            transport.writelines([head, body])

    def _head_end(self) -> bytes:
        """The Date and Server lines and the empty line that end every head, encoded.

        They change once a second at most, so they are built and checked
        once a second, not per response (two f-strings and two lines less to
        check per response in benchmarks/http_path.py).
        """
        second = int(time.time()) if self._date_header else 0
        if second != self._head_end_second:
            lines = [f"Date: {_http_date(second)}\r\n"] if self._date_header else []
            if self._server_line:
                lines.append(self._server_line)
            lines.append("\r\n")
            self._head_end_bytes = encode_head(lines)  # may raise, as it would per response
            self._head_end_second = second
        return self._head_end_bytes


def error_answer(status: int, message: str) -> bytes:
    """A whole error response (400, 408, 413, ...) that ends the connection.

    Used where the request can't be trusted, so no handler is asked: the
    server protocol and the lab's blocking servers send it, then close.
    """
    reason = REASONS.get(status, "Error")
    body = f"{status} {reason}: {message}\n".encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body

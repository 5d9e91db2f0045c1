"""Incremental ("sans-IO") HTTP/1.1 parsers: bytes in, messages out.

A parser never touches a socket or a clock. You `feed()` it bytes as they
arrive, cut anywhere, and pull complete messages out with `next_request()` /
`next_response()`, which return None until a whole message is buffered.
Pulling one message at a time is what makes pipelining safe: a server takes
the next request only after answering the previous one, so answers go out in
order. The same parser serves minireactor, asyncio, or a unit test.

How HTTP/1.1 frames a message (RFC 9112): a start line and header fields, one
per line, each ending in CRLF, then an empty line. The body that follows is
delimited by `Transfer-Encoding: chunked` (hex-sized chunks, a zero-sized one
last, then optional trailer fields) or by `Content-Length`; a request with
neither has no body, and a response with neither runs until the connection
closes. Getting framing wrong is how "request smuggling" works: two programs
disagree on where one message ends, so one reads part of the body as a new
request. This parser therefore rejects every ambiguous message (see
`_framing`) instead of guessing, and raises `HTTPParseError` whose `.status`
is the answer a server should send before closing.

This file holds the two public parsers, which differ only in their start
line; what they share (buffering, header fields, body framing) is in
`http_message_parser.py`.

Read next: `http_message_parser.py`, then `http.py`, the server protocol
that drives `RequestParser`.
"""

from __future__ import annotations

import re

from .http_message_parser import _DONE, _TOKEN, _UNTIL_CLOSE, _MessageParser
from .http_messages import (
    Headers,
    HTTPParseError,
    Request,
    Response,
    status_has_body,
    wants_keep_alive,
)

__all__ = ["RequestParser", "ResponseParser"]

# A request target is visible ASCII: no spaces, controls or raw 8-bit bytes.
_BAD_TARGET = re.compile(r"[^\x21-\x7e]")
_HTTP_VERSION = re.compile(r"HTTP/[0-9]\.[0-9]")
# A whole valid request line at once: token method, visible-ASCII target,
# HTTP/1.1 or HTTP/1.0, single spaces. Exactly what the separate checks in
# `_bad_request_line` accept; those run only to explain a line this rejects.
_REQUEST_LINE = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) (HTTP/1\.[01])")


class RequestParser(_MessageParser[Request]):
    """Parses the requests a client sends to a server.

    Example::

        parser = RequestParser()
        parser.feed(b"GET /hi HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
        request = parser.next_request()     # Request GET /hi
        parser.next_request()               # None: nothing more buffered

    Attributes:
        expects_continue: True when the head of a request with a body said
            `Expect: 100-continue` and its body has not arrived yet; a server
            then sends "100 Continue" and clears the flag (RFC 9110 10.1.1).
    """

    def __init__(self, *, max_head_bytes: int = 16 * 1024, max_body_bytes: int = 1024 * 1024):
        super().__init__(max_head_bytes=max_head_bytes, max_body_bytes=max_body_bytes)
        self.expects_continue = False

    def next_request(self) -> Request | None:
        """Return the next complete request, or None until more bytes arrive.

        Raises:
            HTTPParseError: the stream is malformed or breaks a limit; its
                `status` is the response to send before closing.
        """
        return self._next_message()

    def _start_message(self, start_line: str, headers: Headers) -> Request:
        # One regex call for a valid line instead of a split and three checks
        # (benchmarks/http_path.py: about -0.5 us per request).
        valid = _REQUEST_LINE.fullmatch(start_line)
        if valid is None:
            raise self._bad_request_line(start_line)
        method, target, version = valid.groups()
        fields = headers._map  # lower-case names; one dict lookup each, no method call
        host = fields.get("host")
        if version == "HTTP/1.1" and (host is None or "," in host):
            # RFC 9112 section 3.2: exactly one Host field in HTTP/1.1.
            raise HTTPParseError(400, "an HTTP/1.1 request needs exactly one Host header")
        self._framing(headers, version, no_length_means_empty=True)
        if self._state != _DONE:
            expect = fields.get("expect")
            self.expects_continue = expect is not None and expect.lower() == "100-continue"
        return Request(
            method,
            target,
            version,
            headers,
            keep_alive=wants_keep_alive(version, fields.get("connection")),
        )

    @staticmethod
    def _bad_request_line(start_line: str) -> HTTPParseError:
        """What is wrong with a request line that `_REQUEST_LINE` rejected."""
        parts = start_line.split(" ")
        if len(parts) != 3:
            return HTTPParseError(
                400, f"request line must be 'METHOD target HTTP/1.1': {start_line[:80]!r}"
            )
        method, target, version = parts
        if not _TOKEN.fullmatch(method) or not target or _BAD_TARGET.search(target):
            return HTTPParseError(400, f"invalid request line: {start_line[:80]!r}")
        # Only the version is left to be wrong: it is neither HTTP/1.1 nor HTTP/1.0.
        if _HTTP_VERSION.fullmatch(version):
            return HTTPParseError(505, f"{version} is not supported; use HTTP/1.1")
        return HTTPParseError(400, f"invalid HTTP version: {version[:20]!r}")

    def _finish(self) -> Request:
        self.expects_continue = False
        return super()._finish()


class ResponseParser(_MessageParser[Response]):
    """Parses the responses a server sends back to a client.

    Whether a response has a body depends on the request it answers (a
    response to HEAD never has one), so `next_response` takes its method.
    """

    _too_large_head_status = 502  # a client reports a bad upstream, not a 431

    def __init__(
        self, *, max_head_bytes: int = 64 * 1024, max_body_bytes: int = 64 * 1024 * 1024
    ) -> None:
        super().__init__(max_head_bytes=max_head_bytes, max_body_bytes=max_body_bytes)
        self._request_method = "GET"

    def next_response(self, request_method: str = "GET") -> Response | None:
        """Return the next complete response, or None until more bytes arrive.

        Interim 1xx responses (such as "100 Continue") are returned too; a
        client skips them and calls again.

        Raises:
            HTTPParseError: the response is malformed or breaks a limit.
        """
        self._request_method = request_method
        return self._next_message()

    def _start_message(self, start_line: str, headers: Headers) -> Response:
        version, _, rest = start_line.partition(" ")
        status, _, reason = rest.partition(" ")
        valid_status = len(status) == 3 and status.isascii() and status.isdigit()
        if version not in ("HTTP/1.1", "HTTP/1.0") or not valid_status:
            raise HTTPParseError(502, f"invalid status line: {start_line[:80]!r}")
        code = int(status)
        # These responses never have a body, whatever their headers say.
        if self._request_method == "HEAD" or not status_has_body(code):
            self._state = _DONE
        else:
            self._framing(headers, version, no_length_means_empty=False)
        keep_alive = self._state != _UNTIL_CLOSE and wants_keep_alive(
            version, headers.get("connection")
        )
        return Response(code, headers, reason=reason, version=version, keep_alive=keep_alive)

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

Read next: `http.py`, the server protocol that drives `RequestParser`.
"""

from __future__ import annotations

import re
from typing import Generic, TypeVar

from .http_messages import (
    Headers,
    HTTPParseError,
    Request,
    Response,
    status_has_body,
    wants_keep_alive,
)

# A field name or method is a "token" (RFC 9110 section 5.6.2): no spaces,
# no separators. This is what rejects "Name : value" and obs-fold lines.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Field values may hold visible characters, spaces and tabs, and obs-text
# (bytes >= 0x80), but no other control characters. CR and LF are checked
# separately (they may only end lines), so a whole head is scanned at once.
_BAD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A request target is visible ASCII: no spaces, controls or raw 8-bit bytes.
_BAD_TARGET = re.compile(r"[^\x21-\x7e]")
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_HTTP_VERSION = re.compile(r"HTTP/[0-9]\.[0-9]")
# A whole valid request line at once: token method, visible-ASCII target,
# HTTP/1.1 or HTTP/1.0, single spaces. Exactly what the separate checks in
# `_bad_request_line` accept; those run only to explain a line this rejects.
_REQUEST_LINE = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) (HTTP/1\.[01])")

_MAX_CHUNK_LINE = 4096  # a chunk-size line is a few hex digits plus rare extensions
_MAX_LENGTH_DIGITS = 18  # more digits than this is beyond any sane body (and int() limits)

# Parser states: where in the message the next byte belongs.
_HEAD = "head"  # start line and header fields, up to the empty line
_FIXED_BODY = "fixed body"  # Content-Length bytes still to come
_CHUNK_SIZE = "chunk size"  # a "1a;ext\r\n" line
_CHUNK_DATA = "chunk data"  # that many bytes
_CHUNK_END = "chunk end"  # the CRLF after each chunk's data
_TRAILERS = "trailers"  # fields after the last chunk, up to an empty line
_UNTIL_CLOSE = "until close"  # a response body that ends when the connection does
_DONE = "done"  # a whole message is ready to hand out

M = TypeVar("M", Request, Response)


class _MessageParser(Generic[M]):
    """What requests and responses share: buffering, headers, body framing.

    Subclasses parse the start line and build the message in `_start_message`.
    """

    _too_large_head_status = 431

    def __init__(self, *, max_head_bytes: int = 16 * 1024, max_body_bytes: int = 1024 * 1024):
        """Create a parser.

        Args:
            max_head_bytes: limit on the start line plus header fields. A
                server has to buffer the whole head before it can act, so
                without a limit one client could fill its memory.
            max_body_bytes: limit on a body (after de-chunking); the handler
                receives bodies whole, so they are buffered too.
        """
        self.max_head_bytes = max_head_bytes
        self.max_body_bytes = max_body_bytes
        self._buf = bytearray()
        self._pos = 0  # bytes of _buf already parsed; dropped at the next feed()
        self._scan_from = 0  # where to resume looking for the end of the head
        self._state = _HEAD
        self._message: M | None = None  # the message whose body is being read
        self._body: list[bytes] = []
        self._body_size = 0
        self._remaining = 0  # bytes left in a fixed body or the current chunk
        self._eof = False
        self._error: HTTPParseError | None = None

    def feed(self, data: bytes) -> None:
        """Add bytes received from the peer (any amount, cut anywhere)."""
        if self._pos:
            # Drop what was parsed once per feed, not once per message, so a
            # chunk holding many pipelined requests is not copied many times.
            del self._buf[: self._pos]
            self._scan_from -= self._pos
            self._pos = 0
        self._buf += data

    def feed_eof(self) -> None:
        """The peer closed its side: no more bytes will come."""
        self._eof = True

    @property
    def buffered(self) -> int:
        """How many bytes were fed but are not yet part of a returned message."""
        return len(self._buf) - self._pos

    @property
    def phase(self) -> str:
        """Where the parser is: "idle" (between messages), "head" or "body"."""
        if self._state != _HEAD:
            return "body"
        return "head" if self._pos < len(self._buf) else "idle"

    def _next_message(self) -> M | None:
        """Advance through the buffered bytes; return a whole message or None."""
        if self._error is not None:
            raise self._error  # a broken stream stays broken: no resynchronising
        if self._pos == len(self._buf) and self._state == _HEAD and not self._eof:
            return None  # the common case after each message: nothing buffered
        try:
            while self._step():
                if self._state == _DONE:
                    return self._finish()
        except HTTPParseError as exc:
            self._error = exc
            raise
        if self._eof and (self._state != _HEAD or self.buffered):
            if self._state == _UNTIL_CLOSE:
                return self._finish()
            self._error = HTTPParseError(400, "the connection closed in the middle of a message")
            raise self._error
        return None

    def _step(self) -> bool:
        """Parse what the current state can; False when more bytes are needed."""
        state = self._state
        if state == _HEAD:
            return self._read_head()
        if state in (_FIXED_BODY, _CHUNK_DATA):
            return self._read_body_bytes()
        if state == _CHUNK_SIZE:
            return self._read_chunk_size()
        if state == _CHUNK_END:
            return self._read_chunk_end()
        if state == _TRAILERS:
            return self._read_trailers()
        # _UNTIL_CLOSE: keep everything; _next_message finishes at end of file.
        self._take_body(len(self._buf) - self._pos)
        return False

    def _read_head(self) -> bool:
        buf, pos = self._buf, self._pos
        # RFC 9112 section 2.2: ignore empty lines before a start line (some
        # clients send an extra CRLF after a body).
        while buf.startswith(b"\r\n", pos):
            pos += 2
        self._pos = pos
        end = buf.find(b"\r\n\r\n", max(pos, self._scan_from))
        if end < 0:
            self._scan_from = max(pos, len(buf) - 3)  # the CRLFCRLF may straddle feeds
            if len(buf) - pos > self.max_head_bytes:
                raise self._head_too_large()
            if buf.find(b"\n\n", pos) >= 0 or buf.find(b"\n\r\n", pos) >= 0:
                raise HTTPParseError(400, "header lines must end with CRLF, not a bare LF")
            return False
        if end + 4 - pos > self.max_head_bytes:
            raise self._head_too_large()
        lines = self._split_lines(buf[pos:end])
        self._pos = self._scan_from = end + 4
        self._message = self._start_message(lines[0], self._parse_fields(lines, 1))
        return True

    @staticmethod
    def _split_lines(block: bytes | bytearray) -> list[str]:
        """Check a head (or trailer section) as a whole, then split it into lines.

        Header text is Latin-1 (RFC 9110 section 5.5), so decoding can't fail,
        and it maps each byte to one character: the checks below see exactly
        the bytes that were sent. Decoding first means splitting once.
        """
        text = block.decode("latin-1")
        lines = text.split("\r\n")
        # Only CRLF may end a line: a lone CR or LF inside one is how some
        # smuggling attacks make two parsers split lines differently.
        if text.count("\n") != len(lines) - 1 or text.count("\r") != len(lines) - 1:
            raise HTTPParseError(400, "a header line contains a bare CR or LF")
        if _BAD_CONTROL.search(text):
            raise HTTPParseError(400, "a header contains a control character (NUL, ESC, ...)")
        return lines

    def _head_too_large(self) -> HTTPParseError:
        return HTTPParseError(
            self._too_large_head_status,
            f"the start line and headers exceed {self.max_head_bytes} bytes "
            "(raise max_head_bytes if this is legitimate)",
        )

    def _parse_fields(self, lines: list[str], first: int) -> Headers:
        """Parse "Name: value" lines (headers or trailers) into Headers."""
        pairs = []
        for index in range(first, len(lines)):
            line = lines[index]
            name, colon, value = line.partition(":")
            if not colon or not _TOKEN.fullmatch(name):
                raise self._bad_field(line)
            pairs.append((name, value.strip(" \t")))
        return Headers._from_pairs(pairs)

    @staticmethod
    def _bad_field(line: str) -> HTTPParseError:
        if line[:1] in (" ", "\t"):
            # RFC 9112 section 5.2: line folding is obsolete; reject it.
            return HTTPParseError(400, "obsolete line folding (a header line starting with space)")
        if ":" not in line:
            return HTTPParseError(400, f"header line without a colon: {line[:60]!r}")
        return HTTPParseError(400, f"invalid header name (no spaces or separators): {line[:60]!r}")

    def _start_message(self, start_line: str, headers: Headers) -> M:
        raise NotImplementedError

    def _framing(self, headers: Headers, version: str, no_length_means_empty: bool) -> None:
        """Decide how the body is delimited and set the next state.

        Every ambiguity is an error: both Content-Length and
        Transfer-Encoding, several Content-Length values, codings other than
        plain "chunked", or Transfer-Encoding in HTTP/1.0, which predates it.
        """
        fields = headers._map  # lower-case names; one dict lookup each, no method call
        coding = fields.get("transfer-encoding")
        length = fields.get("content-length")
        if coding is not None:
            if length is not None:
                raise HTTPParseError(400, "both Content-Length and Transfer-Encoding were sent")
            if version == "HTTP/1.0":
                raise HTTPParseError(400, "Transfer-Encoding is not allowed in HTTP/1.0")
            codings = [c.strip().lower() for c in coding.split(",")]
            if "" in codings:
                raise HTTPParseError(400, f"empty transfer coding in {coding!r}")
            if any(c != "chunked" for c in codings):
                raise HTTPParseError(501, f"unsupported Transfer-Encoding {coding!r}; only chunked")
            if len(codings) > 1:
                raise HTTPParseError(400, f"'chunked' may be applied only once: {coding!r}")
            self._state = _CHUNK_SIZE
        elif length is not None:
            self._remaining = self._content_length(length)
            self._state = _FIXED_BODY if self._remaining else _DONE
        else:
            self._state = _DONE if no_length_means_empty else _UNTIL_CLOSE

    def _content_length(self, value: str) -> int:
        if "," in value:
            raise HTTPParseError(400, f"several Content-Length values: {value!r}")
        # isascii() first: str.isdigit() also accepts digits like "²".
        if not (value.isascii() and value.isdigit()):
            raise HTTPParseError(400, f"Content-Length must be a decimal number: {value!r}")
        if len(value) > _MAX_LENGTH_DIGITS or int(value) > self.max_body_bytes:
            raise self._body_too_large()
        return int(value)

    def _body_too_large(self) -> HTTPParseError:
        return HTTPParseError(
            413,
            f"the body exceeds {self.max_body_bytes} bytes "
            "(raise max_body_bytes if this is legitimate)",
        )

    def _take_body(self, count: int) -> None:
        """Move `count` buffered bytes into the body being assembled."""
        if count:
            self._body_size += count
            if self._body_size > self.max_body_bytes:
                raise self._body_too_large()
            self._body.append(bytes(self._buf[self._pos : self._pos + count]))
            self._pos += count

    def _read_body_bytes(self) -> bool:
        count = min(self._remaining, len(self._buf) - self._pos)
        self._take_body(count)
        self._remaining -= count
        if self._remaining:
            return False
        self._state = _DONE if self._state == _FIXED_BODY else _CHUNK_END
        return True

    def _read_chunk_size(self) -> bool:
        buf, pos = self._buf, self._pos
        end = buf.find(b"\r\n", pos)
        if end < 0:
            if len(buf) - pos > _MAX_CHUNK_LINE:
                raise HTTPParseError(400, "chunk-size line too long")
            return False
        line = bytes(buf[pos:end])
        self._pos = end + 2
        size, semicolon, extension = line.partition(b";")
        if semicolon:
            size = size.rstrip(b" \t")  # RFC 9112 allows whitespace before ";"
        if not _HEX.fullmatch(size) or len(size) > 16 or b"\r" in extension or b"\n" in extension:
            raise HTTPParseError(400, f"invalid chunk size line: {line[:40]!r}")
        self._remaining = int(size, 16)
        if self._body_size + self._remaining > self.max_body_bytes:
            raise self._body_too_large()
        self._state = _CHUNK_DATA if self._remaining else _TRAILERS
        return True

    def _read_chunk_end(self) -> bool:
        if len(self._buf) - self._pos < 2:
            return False
        if self._buf[self._pos : self._pos + 2] != b"\r\n":
            raise HTTPParseError(400, "chunk data is longer than its declared size")
        self._pos += 2
        self._state = _CHUNK_SIZE
        return True

    def _read_trailers(self) -> bool:
        buf, pos = self._buf, self._pos
        if buf.startswith(b"\r\n", pos):  # the usual case: no trailer fields
            self._pos += 2
            self._state = _DONE
            return True
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            if len(buf) - pos > self.max_head_bytes:
                raise self._head_too_large()
            return False
        lines = self._split_lines(buf[pos:end])
        assert self._message is not None
        self._message.trailers = self._parse_fields(lines, 0)
        self._pos = end + 4
        self._state = _DONE
        return True

    def _finish(self) -> M:
        message = self._message
        assert message is not None
        if self._body:
            message.body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
            self._body = []
        self._message = None
        self._body_size = 0
        self._state = _HEAD
        return message


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

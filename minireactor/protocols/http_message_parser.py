"""What parsing a request and parsing a response share: the head, the body's framing.

`_MessageParser` buffers the bytes fed to it and walks them through a small
state machine: the head (start line and header fields, up to an empty
line), then the body, framed by `Transfer-Encoding: chunked` or by
`Content-Length` (see `_framing`), then done. Its subclasses in
`http_parser.py` parse the start line, which is all that differs between a
request and a response. Every check that keeps two programs from disagreeing
on where a message ends (request smuggling) lives here.

Read next: `http_parser.py`, the public `RequestParser` and `ResponseParser`.
"""

from __future__ import annotations

import re
from typing import Generic, TypeVar

from .http_messages import Headers, HTTPParseError, Request, Response

# A field name or method is a "token" (RFC 9110 section 5.6.2): no spaces,
# no separators. This is what rejects "Name : value" and obs-fold lines.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Field values may hold visible characters, spaces and tabs, and obs-text
# (bytes >= 0x80), but no other control characters. CR and LF are checked
# separately (they may only end lines), so a whole head is scanned at once.
_BAD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEX = re.compile(rb"[0-9A-Fa-f]+")
# A chunk extension is tokens, quoted strings and whitespace: no control
# character but tab (a CR or LF in one would end the line for another parser).
_BAD_EXTENSION = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

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
    def body_received(self) -> int:
        """Bytes of the current message's body received so far (after de-chunking)."""
        return self._body_size

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
        if not _HEX.fullmatch(size) or len(size) > 16 or _BAD_EXTENSION.search(extension):
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

"""Framing: turning a stream of bytes into messages.

TCP delivers a stream, not messages: one `send()` of "hello\\r\\n" may arrive
as "hel" + "lo\\r" + "\\n", and two sends may arrive glued together. Every
protocol therefore starts with *framing*, deciding where one message ends.
The three classic answers, one class each:

* `LineReceiver`: messages end with a delimiter (SMTP, Redis, IRC, HTTP's
  headers). It can switch to raw mode for a body whose length it knows.
* `NetstringReceiver`: a decimal length, a colon, the bytes, a comma ("5:hello,").
* `Int32StringReceiver`: a 4-byte big-endian length, then the bytes.

Each keeps a buffer of bytes it cannot use yet, and enforces `MAX_LENGTH`,
so a peer cannot make us buffer without limit. Bad or oversized input closes
the connection; `connection_lost` then receives the reason (a
`ConnectionLimitError` or `FramingError`) and no exception reaches the reactor.

These are plain `Protocol`s with asyncio's method names, so they also run on
asyncio's own loop. Read next: `tests/test_basic.py`, then `http.py`.
"""

from __future__ import annotations

import inspect
import struct
from typing import Any

from ..errors import ConnectionLimitError, IdleTimeoutError, MiniReactorError
from ..protocol import Protocol

__all__ = ["FramingError", "Int32StringReceiver", "LineReceiver", "NetstringReceiver"]


class FramingError(MiniReactorError, ValueError):
    """The peer sent bytes that break the framing rules (a malformed netstring)."""


def _close_with(transport: Any, reason: BaseException) -> None:
    """Abort `transport` so that the protocol's `connection_lost` receives `reason`.

    minireactor's transports take the reason as an argument to `abort()`.
    asyncio's (and uvloop's) take none; there `connection_lost` gets None.
    """
    if transport is None:
        return
    try:
        takes_reason = bool(inspect.signature(transport.abort).parameters)
    except (TypeError, ValueError):  # a compiled method with no signature: assume asyncio's
        takes_reason = False
    if takes_reason:
        transport.abort(reason)
    else:
        transport.abort()


class LineReceiver(Protocol):
    """A protocol that receives lines: override `line_received`.

    If you override `connection_made`, call `super().connection_made(transport)`
    (it keeps the transport that `send_line` writes to).

    Attributes:
        delimiter: what ends a line (b"\\r\\n"; set b"\\n" for Unix tools).
        MAX_LENGTH: the longest line accepted, without its delimiter.
        idle_timeout: close the connection after this many seconds without
            any data from the peer (None: never).
        line_timeout: close it when a line that has begun is not finished
            within this many seconds (None: never). This is the defence
            against slowloris: a client that keeps a connection busy by
            sending one byte a second.
        clock: what the timeouts are measured with (anything with
            `call_later` and `seconds`); by default the transport's reactor.
    """

    delimiter: bytes = b"\r\n"
    MAX_LENGTH: int = 16384
    idle_timeout: float | None = None
    line_timeout: float | None = None
    clock: Any = None
    transport: Any = None
    _last_data = 0.0
    _idle_timer: Any = None
    _line_timer: Any = None
    # Created on first data, so that subclasses need not call our __init__.
    _buffer: bytearray | None = None
    _busy = False  # True while data_received is on the stack
    _raw = False
    _discarding = False  # skipping the rest of an over-long line
    _closed = False  # we closed the connection: ignore whatever else arrives

    def connection_made(self, transport: Any) -> None:
        """Keep the transport, for `send_line`, and start the idle timeout."""
        self.transport = transport
        if self.clock is None and (self.idle_timeout or self.line_timeout):
            self.clock = transport.get_extra_info("reactor")
        if self.idle_timeout and self.clock is not None:
            self._last_data = self.clock.seconds()
            self._idle_timer = self.clock.call_later(self.idle_timeout, self._idle_check)

    def _idle_check(self) -> None:
        # Rather than moving the timer on every chunk, we note when data last
        # came and, when the timer fires early, re-arm it for the rest.
        assert self.idle_timeout is not None
        quiet = self.clock.seconds() - self._last_data
        if quiet < self.idle_timeout:
            self._idle_timer = self.clock.call_later(self.idle_timeout - quiet, self._idle_check)
        else:
            self._timed_out(f"no data for {self.idle_timeout} s (idle_timeout)")

    def _timed_out(self, why: str) -> None:
        if self._stopped():
            return
        self._closed = True
        self._cancel_timers()
        _close_with(self.transport, IdleTimeoutError(f"{why}; closing the connection"))

    def _cancel_timers(self) -> None:
        for timer in (self._idle_timer, self._line_timer):
            if timer is not None and timer.active():
                timer.cancel()
        self._idle_timer = self._line_timer = None

    def connection_lost(self, exc: BaseException | None) -> None:
        """Stops the timeouts; call super() if you override it."""
        self._cancel_timers()

    def line_received(self, line: bytes) -> None:
        """Called with each complete line, without its delimiter. Override this."""

    def raw_data_received(self, data: bytes) -> None:
        """Called with the bytes that arrive in raw mode. Override to use raw mode."""
        raise NotImplementedError(
            f"{type(self).__name__} switched to raw mode but does not override raw_data_received()"
        )

    def line_length_exceeded(self, line: bytes) -> None:
        """Called with an over-long line (or its first part, if it has no end yet).

        The default closes the connection with a `ConnectionLimitError`. An
        override that keeps the connection open gets the lines after the
        over-long one (the rest of it is skipped).
        """
        self._closed = True
        _close_with(
            self.transport,
            ConnectionLimitError(
                f"line longer than {self.MAX_LENGTH} bytes (MAX_LENGTH) received; closing. "
                f"If the protocol needs longer lines, raise {type(self).__name__}.MAX_LENGTH"
            ),
        )

    def send_line(self, line: bytes) -> None:
        """Write `line` followed by the delimiter.

        Raises:
            ValueError: `line` contains the delimiter (the peer would see two lines).
        """
        if self.delimiter in line:
            raise ValueError(
                f"send_line() got {line!r}, which contains the delimiter "
                f"{self.delimiter!r}; send each line separately"
            )
        self.transport.write(line + self.delimiter)

    def set_raw_mode(self) -> None:
        """From now on, pass bytes to `raw_data_received` instead of splitting lines."""
        self._raw = True

    def set_line_mode(self, extra: bytes = b"") -> None:
        """Go back to lines; `extra` (bytes read past a raw body) is parsed first."""
        self._raw = False
        if extra:
            self.data_received(extra)

    def data_received(self, data: bytes) -> None:
        """Buffer `data` and hand out every complete line in it."""
        if self._closed:
            return  # we closed the connection over an over-long line
        if self._buffer is None:
            self._buffer = bytearray()
        self._buffer += data
        if self._busy:
            return  # called from one of our callbacks: the loop below is still running
        self._busy = True
        try:
            self._process(self._buffer)
        finally:
            self._busy = False
        if self.clock is not None:
            self._last_data = self.clock.seconds()
            if self.line_timeout:
                self._watch_line(len(data))

    def _watch_line(self, arrived: int) -> None:
        """Time the line in progress: from its first byte until it is complete."""
        assert self._buffer is not None and self.line_timeout is not None
        partial = bool(self._buffer) and not self._raw and not self._stopped()
        finished_one = arrived > len(self._buffer)  # some bytes became lines
        if self._line_timer is not None and (finished_one or not partial):
            self._line_timer.cancel()
            self._line_timer = None
        if partial and self._line_timer is None:
            self._line_timer = self.clock.call_later(
                self.line_timeout,
                self._timed_out,
                f"a line took longer than {self.line_timeout} s to arrive (line_timeout)",
            )

    def _stopped(self) -> bool:
        return self._closed or (self.transport is not None and self.transport.is_closing())

    def _process(self, buf: bytearray) -> None:
        # `start` walks forward through `buf`; consumed bytes are deleted once,
        # at the end, because deleting after every line would copy the rest
        # of the buffer each time. Callbacks may append to `buf` meanwhile.
        start = 0
        try:
            while start < len(buf) and not self._stopped():
                if self._raw:
                    data = bytes(buf[start:])
                    start = len(buf)
                    self.raw_data_received(data)
                    continue
                end = buf.find(self.delimiter, start)
                if end < 0:
                    start = self._unterminated(buf, start)
                    break
                line = bytes(buf[start:end])
                start = end + len(self.delimiter)
                if self._discarding:
                    self._discarding = False  # the end of an over-long line
                elif len(line) > self.MAX_LENGTH:
                    self.line_length_exceeded(line)
                else:
                    self.line_received(line)
        finally:
            del buf[:start]

    def _unterminated(self, buf: bytearray, start: int) -> int:
        """No delimiter after `start`: decide what to keep. Returns the new start."""
        # The last len(delimiter) - 1 bytes may be the first part of a delimiter.
        keep_from = max(start, len(buf) - (len(self.delimiter) - 1))
        if self._discarding:
            return keep_from
        if len(buf) - start >= self.MAX_LENGTH + len(self.delimiter):
            # Even if the delimiter came next, this line would be too long.
            self._discarding = True
            self.line_length_exceeded(bytes(buf[start:]))
            return keep_from
        return start


def _too_long(cls: type, length: int, limit: int) -> ConnectionLimitError:
    return ConnectionLimitError(
        f"peer announced a {length}-byte string, more than MAX_LENGTH={limit}; closing. "
        f"If the protocol needs longer strings, raise {cls.__name__}.MAX_LENGTH"
    )


class _StringReceiver(Protocol):
    """What the two length-prefixed receivers share: the buffer, the limit, the loop.

    A subclass says how one frame is read with `_next_frame(buf, start)`,
    which returns (payload, end of frame), None when the frame is not
    complete yet, or raises what is wrong with the input; the connection is
    then closed with that reason.
    """

    MAX_LENGTH: int = 99999
    transport: Any = None
    _buffer: bytearray | None = None
    _busy = False
    _closed = False

    def connection_made(self, transport: Any) -> None:
        """Keep the transport, for `send_string`."""
        self.transport = transport

    def string_received(self, data: bytes) -> None:
        """Called with each complete string. Override this."""

    def _next_frame(self, buf: bytearray, start: int) -> tuple[bytes, int] | None:
        raise NotImplementedError

    def data_received(self, data: bytes) -> None:
        """Buffer `data` and hand out every complete string in it."""
        if self._closed:
            return  # we closed the connection over bad input: nothing more to parse
        if self._buffer is None:
            self._buffer = bytearray()
        buf = self._buffer
        buf += data
        if self._busy:
            return  # called from string_received: the loop below is still running
        self._busy = True
        start = 0
        try:
            while not self._closed and not (self.transport and self.transport.is_closing()):
                try:
                    frame = self._next_frame(buf, start)
                except (ConnectionLimitError, FramingError) as exc:
                    self._closed = True
                    buf.clear()
                    start = 0
                    _close_with(self.transport, exc)
                    return
                if frame is None:
                    return
                payload, start = frame
                self.string_received(payload)
        finally:
            del buf[:start]
            self._busy = False


class NetstringReceiver(_StringReceiver):
    """Receives netstrings, b"5:hello,": override `string_received`.

    Attributes:
        MAX_LENGTH: the longest string accepted.
    """

    def send_string(self, data: bytes) -> None:
        """Write `data` as one netstring."""
        self.transport.write(b"%d:%s," % (len(data), data))

    def _next_frame(self, buf: bytearray, start: int) -> tuple[bytes, int] | None:
        max_digits = len(str(self.MAX_LENGTH))
        colon = buf.find(b":", start, start + max_digits + 1)
        header = bytes(buf[start : colon if colon >= 0 else start + max_digits + 1])
        # Check what we have as soon as it arrives: garbage is rejected at
        # once, not after the peer has sent MAX_LENGTH bytes of it.
        if header and not header.isdigit():
            raise FramingError(f"a netstring starts with decimal digits and ':', got {header!r}")
        if colon < 0:
            if len(header) > max_digits:
                raise _too_long(type(self), int(header), self.MAX_LENGTH)
            return None
        if not header or (header.startswith(b"0") and header != b"0"):
            raise FramingError(f"bad netstring length {header!r}: need digits, no leading zeros")
        length = int(header)
        if length > self.MAX_LENGTH:
            raise _too_long(type(self), length, self.MAX_LENGTH)
        end = colon + 1 + length
        if len(buf) <= end:
            return None  # the string or its comma is still on its way
        if buf[end] != ord(","):
            raise FramingError(f"netstring of {length} bytes not followed by ','")
        return bytes(buf[colon + 1 : end]), end + 1


class Int32StringReceiver(_StringReceiver):
    """Receives strings prefixed by their length (4 bytes, big-endian): override `string_received`.

    Attributes:
        MAX_LENGTH: the longest string accepted.
    """

    PREFIX = struct.Struct(">I")

    def send_string(self, data: bytes) -> None:
        """Write `data` with its length prefix.

        Raises:
            ValueError: `data` is 4 GiB or more (the prefix cannot say so).
        """
        if len(data) >= 2**32:
            raise ValueError(f"a {len(data)}-byte string does not fit a 4-byte length prefix")
        self.transport.write(self.PREFIX.pack(len(data)) + data)

    def _next_frame(self, buf: bytearray, start: int) -> tuple[bytes, int] | None:
        body = start + self.PREFIX.size
        if len(buf) < body:
            return None
        (length,) = self.PREFIX.unpack_from(buf, start)
        if length > self.MAX_LENGTH:
            raise _too_long(type(self), length, self.MAX_LENGTH)
        if len(buf) < body + length:
            return None
        return bytes(buf[body : body + length]), body + length

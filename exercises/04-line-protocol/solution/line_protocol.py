"""Exercise 04 - line-protocol: reference solution.

One buffer; each chunk is appended, then complete lines are cut off the
front. Two rules make it safe against a hostile peer: a line is judged too
long as soon as the buffer proves it (before any delimiter arrives, so memory
stays bounded), and nothing more is delivered once the transport is closing,
whoever closed it.
"""

from __future__ import annotations

from typing import Any

from minireactor.protocol import Protocol


class LineReceiver(Protocol):
    """Calls `line_received(line)` for each complete line (delimiter removed).

    Attributes:
        delimiter: what ends a line.
        max_length: the longest line accepted, not counting the delimiter.
    """

    delimiter: bytes = b"\r\n"
    max_length: int = 16384

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self._buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        """Buffer `data`; deliver every complete line; police the length."""
        self._buffer += data
        while not self.transport.is_closing():
            end = self._buffer.find(self.delimiter)
            if end == -1:
                # Without a delimiter the line is at least this long; the last
                # len(delimiter) - 1 bytes may still be the start of a delimiter.
                if len(self._buffer) - (len(self.delimiter) - 1) > self.max_length:
                    self._too_long(bytes(self._buffer))
                return
            line = bytes(self._buffer[:end])
            del self._buffer[:end + len(self.delimiter)]
            if len(line) > self.max_length:
                self._too_long(line)
                return
            self.line_received(line)

    def _too_long(self, line: bytes) -> None:
        self._buffer.clear()
        self.line_length_exceeded(line)

    def line_received(self, line: bytes) -> None:
        """Override this: one complete line, without its delimiter."""

    def send_line(self, line: bytes) -> None:
        """Write `line` followed by the delimiter."""
        self.transport.write(line + self.delimiter)

    def line_length_exceeded(self, line: bytes) -> None:
        """Called once for a line longer than `max_length`; by default, close."""
        self.transport.close()

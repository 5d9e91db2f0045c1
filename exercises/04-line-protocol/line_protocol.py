"""Exercise 04 - line-protocol: turn a stream of bytes into lines, safely.

TCP delivers bytes in chunks that fall anywhere; most protocols speak in
lines. Write the `LineReceiver` every line-based protocol can subclass.
Read README.md first; check with `minireactor grade line-protocol`.
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

    def data_received(self, data: bytes) -> None:
        """Buffer `data`; deliver every complete line; police the length."""
        raise NotImplementedError(
            "data_received: add data to a buffer, then split off complete lines (README, 'Hints')"
        )

    def line_received(self, line: bytes) -> None:
        """Override this: one complete line, without its delimiter."""

    def send_line(self, line: bytes) -> None:
        """Write `line` followed by the delimiter."""
        raise NotImplementedError("send_line: self.transport.write(...)")

    def line_length_exceeded(self, line: bytes) -> None:
        """Called once for a line longer than `max_length`; by default, close."""
        raise NotImplementedError("line_length_exceeded: close the transport")

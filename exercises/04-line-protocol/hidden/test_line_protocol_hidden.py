"""Hidden tests for exercise 04: closing from line_received; a long delimiter."""

from __future__ import annotations

from typing import Any

from line_protocol import LineReceiver

from minireactor.grader.testing import expect, points
from minireactor.testing import StringTransport


@points(1)
def test_no_lines_after_line_received_closes() -> None:
    class QuitOnBye(LineReceiver):
        def __init__(self) -> None:
            self.lines: list[bytes] = []

        def line_received(self, line: bytes) -> None:
            self.lines.append(line)
            if line == b"bye":
                self.transport.close()

    transport = StringTransport()
    proto: Any = QuitOnBye()
    transport.connect(proto)
    transport.receive(b"a\r\nbye\r\nb\r\nc\r\n")
    expect(proto.lines, [b"a", b"bye"], "lines delivered after close() in line_received")


@points(1)
def test_a_three_byte_delimiter() -> None:
    class Odd(LineReceiver):
        delimiter = b"<|>"
        max_length = 4

        def __init__(self) -> None:
            self.lines: list[bytes] = []

        def line_received(self, line: bytes) -> None:
            self.lines.append(line)

    transport = StringTransport()
    proto: Any = Odd()
    transport.connect(proto)
    for chunk in [b"abcd<", b"|", b">ef<|", b">"]:
        transport.receive(chunk)
    expect(proto.lines, [b"abcd", b"ef"], "lines with delimiter b'<|>' and max_length 4")
    expect(transport.closing, False, "closed (it should not be: no line was too long)")

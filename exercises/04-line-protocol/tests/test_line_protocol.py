"""Graded tests for exercise 04 (line-protocol), on an in-memory transport."""

from __future__ import annotations

from line_protocol import LineReceiver

from minireactor.grader.testing import expect, points
from minireactor.testing import StringTransport


class Recorder(LineReceiver):
    """Keeps every line and every over-long line it is given."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.too_long: list[bytes] = []

    def line_received(self, line: bytes) -> None:
        self.lines.append(line)

    def line_length_exceeded(self, line: bytes) -> None:
        self.too_long.append(line)
        super().line_length_exceeded(line)


def connected(protocol: LineReceiver | None = None) -> tuple[Recorder, StringTransport]:
    transport = StringTransport()
    proto = protocol or Recorder()
    transport.connect(proto)
    return proto, transport  # type: ignore[return-value]


@points(2)
def test_lines_split_across_chunks() -> None:
    proto, transport = connected()
    for chunk in [b"hel", b"lo\r\nwor", b"ld\r", b"\n", b"!\r\n"]:
        transport.receive(chunk)
    expect(proto.lines, [b"hello", b"world", b"!"], "lines from chunks that fall anywhere")


@points(1)
def test_many_lines_in_one_chunk() -> None:
    proto, transport = connected()
    transport.receive(b"one\r\ntwo\r\n\r\nfour\r\nfive")
    expect(proto.lines, [b"one", b"two", b"", b"four"], "lines (an empty one included)")


@points(1)
def test_send_line_appends_the_delimiter() -> None:
    proto, transport = connected()
    proto.send_line(b"hi")
    proto.send_line(b"there")
    expect(transport.value(), b"hi\r\nthere\r\n", "what send_line wrote")


@points(1)
def test_subclasses_choose_the_delimiter() -> None:
    class Unix(Recorder):
        delimiter = b"\n"

    proto, transport = connected(Unix())
    transport.receive(b"a\nb\r\nc")
    proto.send_line(b"x")
    expect(proto.lines, [b"a", b"b\r"], "lines with delimiter b'\\n'")
    expect(transport.value(), b"x\n", "send_line with delimiter b'\\n'")


class Short(Recorder):
    max_length = 10


@points(2)
def test_too_long_line_closes_and_stops() -> None:
    proto, transport = connected(Short())
    transport.receive(b"ok\r\n" + b"x" * 11 + b"\r\nafter\r\n")
    expect(proto.lines, [b"ok"], "lines delivered (nothing after the over-long one)")
    expect(len(proto.too_long), 1, "calls of line_length_exceeded")
    expect(transport.closing, True, "whether the transport was closed")


@points(2)
def test_too_long_is_caught_before_the_delimiter() -> None:
    proto, transport = connected(Short())
    for _ in range(4):
        transport.receive(b"y" * 5)  # 20 bytes and no delimiter: already too long
    expect(len(proto.too_long), 1, "calls of line_length_exceeded before any delimiter")
    expect(transport.closing, True, "whether the transport was closed")
    expect(proto.lines, [], "lines delivered")


@points(1)
def test_a_line_of_exactly_max_length_is_fine() -> None:
    proto, transport = connected(Short())
    for chunk in [b"0123456789", b"\r", b"\n"]:
        transport.receive(chunk)
    expect(proto.lines, [b"0123456789"], "a 10-byte line with max_length 10")
    expect(proto.too_long, [], "over-long lines reported")

"""Tests for minireactor.protocols.basic: lines, netstrings, 32-bit length prefixes.

Framing must not depend on how the stream was cut into chunks, so besides
examples there are hypothesis tests that feed the same bytes split at random
places (down to one byte at a time) and fuzz tests with random garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from typing import Any

import pytest
from conftest import fuzz_examples, spin
from hypothesis import given, settings
from hypothesis import strategies as st
from support import Collector, RecordingClientFactory

from minireactor import ConnectionLimitError, Factory, Reactor
from minireactor.protocols.basic import (
    FramingError,
    Int32StringReceiver,
    LineReceiver,
    NetstringReceiver,
)
from minireactor.testing import StringTransport


class Lines(LineReceiver):
    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.lost: list[BaseException | None] = []

    def line_received(self, line: bytes) -> None:
        self.lines.append(line)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.append(exc)


class Strings(NetstringReceiver):
    def __init__(self) -> None:
        self.strings: list[bytes] = []

    def string_received(self, data: bytes) -> None:
        self.strings.append(data)


class Int32Strings(Int32StringReceiver):
    def __init__(self) -> None:
        self.strings: list[bytes] = []

    def string_received(self, data: bytes) -> None:
        self.strings.append(data)


def connected(proto: Any) -> tuple[Any, StringTransport]:
    transport = StringTransport()
    transport.connect(proto)
    return proto, transport


def feed(proto: Any, transport: StringTransport, chunks: list[bytes]) -> None:
    for chunk in chunks:
        if transport.is_closing():
            break  # a real transport stops reading once closed
        proto.data_received(chunk)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


# -- LineReceiver ----------------------------------------------------------------


def test_lines_split_anywhere_are_reassembled() -> None:
    proto, t = connected(Lines())
    feed(proto, t, [b"hel", b"lo\r", b"\nwor", b"ld\r\n\r\nlast"])
    assert proto.lines == [b"hello", b"world", b""]
    proto.data_received(b"\r\n")
    assert proto.lines[-1] == b"last"


def test_custom_delimiter_and_send_line() -> None:
    class NewlineLines(Lines):
        delimiter = b"\n"

    proto, t = connected(NewlineLines())
    proto.data_received(b"a\r\nb\n")
    assert proto.lines == [b"a\r", b"b"]
    proto.send_line(b"reply")
    assert t.value() == b"reply\n"
    with pytest.raises(ValueError, match="delimiter"):
        proto.send_line(b"two\nlines")


def test_line_of_exactly_max_length_is_accepted_even_with_split_delimiter() -> None:
    class Short(Lines):
        MAX_LENGTH = 5

    proto, t = connected(Short())
    feed(proto, t, [b"12345\r", b"\n"])
    assert proto.lines == [b"12345"]
    assert not t.is_closing()


def test_too_long_line_closes_with_connection_limit_error() -> None:
    class Short(Lines):
        MAX_LENGTH = 5

    proto, t = connected(Short())
    proto.data_received(b"ok\r\n123456\r\nnever\r\n")
    assert proto.lines == [b"ok"]
    assert t.aborted
    assert isinstance(t.abort_reason, ConnectionLimitError)
    assert "MAX_LENGTH" in str(t.abort_reason)
    proto.data_received(b"ignored\r\n")
    assert proto.lines == [b"ok"]


def test_unterminated_too_long_line_closes_without_waiting_for_the_end() -> None:
    proto, t = connected(Lines())
    for _ in range(20):
        proto.data_received(b"x" * 1000)  # 20 kB, no delimiter: more than 16384
    assert isinstance(t.abort_reason, ConnectionLimitError)
    assert proto._buffer is not None and len(proto._buffer) < 1000  # not kept


def test_overridden_line_length_exceeded_resynchronises_at_next_delimiter() -> None:
    class Tolerant(Lines):
        MAX_LENGTH = 4

        def line_length_exceeded(self, line: bytes) -> None:
            self.lines.append(b"<too long>")

    proto, t = connected(Tolerant())
    feed(proto, t, [b"a\r\n", b"xxxxxxxx", b"xxxx", b"xx\r\nb\r\n"])
    assert proto.lines == [b"a", b"<too long>", b"b"]
    assert not t.is_closing()


def test_raw_mode_switch_within_a_chunk_and_back() -> None:
    class Body(LineReceiver):
        def __init__(self) -> None:
            self.events: list[tuple[str, bytes]] = []
            self.remaining = 0

        def line_received(self, line: bytes) -> None:
            self.events.append(("line", line))
            if line.startswith(b"BODY "):
                self.remaining = int(line[5:])
                self.set_raw_mode()

        def raw_data_received(self, data: bytes) -> None:
            body, rest = data[: self.remaining], data[self.remaining :]
            self.remaining -= len(body)
            self.events.append(("raw", body))
            if self.remaining == 0:
                self.set_line_mode(rest)

    proto, t = connected(Body())
    feed(proto, t, [b"BODY 5\r\nab", b"c", b"de\r\nafter\r\n"])
    assert proto.events == [
        ("line", b"BODY 5"),
        ("raw", b"ab"),
        ("raw", b"c"),
        ("raw", b"de"),
        ("line", b""),  # the CRLF that followed the body, parsed as a line again
        ("line", b"after"),
    ]


def test_raw_mode_without_override_is_a_clear_error() -> None:
    class Lazy(LineReceiver):
        def line_received(self, line: bytes) -> None:
            self.set_raw_mode()

    proto, _ = connected(Lazy())
    with pytest.raises(NotImplementedError, match="raw_data_received"):
        proto.data_received(b"go\r\nraw")


def test_closing_from_line_received_stops_delivery() -> None:
    class Quit(Lines):
        def line_received(self, line: bytes) -> None:
            super().line_received(line)
            if line == b"QUIT":
                self.transport.close()

    proto, _ = connected(Quit())
    proto.data_received(b"a\r\nQUIT\r\nb\r\n")
    assert proto.lines == [b"a", b"QUIT"]


# -- NetstringReceiver and Int32StringReceiver ------------------------------------------


def test_netstrings_round_trip() -> None:
    sender, out = connected(Strings())
    for s in (b"hello", b"", b"with, comma: and colon"):
        sender.send_string(s)
    assert out.value().startswith(b"5:hello,0:,")
    proto, t = connected(Strings())
    feed(proto, t, [out.value()])
    assert proto.strings == [b"hello", b"", b"with, comma: and colon"]


@pytest.mark.parametrize(
    "data",
    [b"x5:hello,", b"5:hello!", b"05:hello,", b":hello,", b"-1:a,", b"5 :hello,", b"12ab"],
)
def test_malformed_netstring_closes_with_framing_error(data: bytes) -> None:
    proto, t = connected(Strings())
    proto.data_received(b"2:ok," + data)
    assert proto.strings == [b"ok"]
    assert isinstance(t.abort_reason, FramingError), t.abort_reason


def test_oversized_netstring_closes_with_connection_limit_error() -> None:
    class Small(Strings):
        MAX_LENGTH = 10

    for data in (b"11:", b"999"):  # too big; too many digits before any colon
        proto, t = connected(Small())
        proto.data_received(data)
        assert isinstance(t.abort_reason, ConnectionLimitError), data
        assert "MAX_LENGTH=10" in str(t.abort_reason)


def test_int32_strings_round_trip_and_limit() -> None:
    sender, out = connected(Int32Strings())
    sender.send_string(b"abc")
    sender.send_string(b"")
    assert out.value() == b"\x00\x00\x00\x03abc\x00\x00\x00\x00"
    proto, t = connected(Int32Strings())
    feed(proto, t, [out.value()[:2], out.value()[2:5], out.value()[5:]])
    assert proto.strings == [b"abc", b""]
    proto.data_received(struct.pack(">I", 100_000) + b"x")
    assert isinstance(t.abort_reason, ConnectionLimitError)
    assert "100000-byte" in str(t.abort_reason)


# -- any split gives the same messages; garbage never raises ------------------------------

cuts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=40)


class TolerantLines(Lines):
    MAX_LENGTH = 8

    def line_length_exceeded(self, line: bytes) -> None:
        self.lines.append(b"<too long>")


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=12).filter(lambda b: b"\r\n" not in b), max_size=10),
    cuts=cuts,
)
def test_line_receiver_is_independent_of_chunking(lines: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(line + b"\r\n" for line in lines)
    whole, t1 = connected(TolerantLines())
    feed(whole, t1, [stream])
    pieces, t2 = connected(TolerantLines())
    feed(pieces, t2, split(stream, cuts))
    assert pieces.lines == whole.lines
    expected = [line if len(line) <= 8 else b"<too long>" for line in lines]
    assert whole.lines == expected


@settings(max_examples=100, deadline=None)
@given(stream=st.binary(max_size=200), cuts=cuts)
def test_line_receiver_byte_at_a_time_equals_whole(stream: bytes, cuts: list[int]) -> None:
    whole, t1 = connected(TolerantLines())
    feed(whole, t1, [stream])
    drip, t2 = connected(TolerantLines())
    feed(drip, t2, [stream[i : i + 1] for i in range(len(stream))])
    assert drip.lines == whole.lines


@settings(max_examples=200, deadline=None)
@given(strings=st.lists(st.binary(max_size=30), max_size=10), cuts=cuts)
def test_length_prefixed_receivers_are_independent_of_chunking(
    strings: list[bytes], cuts: list[int]
) -> None:
    for cls in (Strings, Int32Strings):
        sender, out = connected(cls())
        for s in strings:
            sender.send_string(s)
        proto, t = connected(cls())
        feed(proto, t, split(out.value(), cuts))
        assert proto.strings == strings, cls
        assert not t.is_closing()


@settings(max_examples=fuzz_examples(1000), deadline=None)
@given(garbage=st.binary(max_size=300), cuts=cuts)
def test_random_bytes_never_raise(garbage: bytes, cuts: list[int]) -> None:
    for cls in (Lines, Strings, Int32Strings):
        proto, t = connected(cls())
        feed(proto, t, split(garbage, cuts))  # must not raise
        if t.is_closing():
            assert isinstance(t.abort_reason, (FramingError, ConnectionLimitError))


@settings(max_examples=100, deadline=None)
@given(strings=st.lists(st.binary(max_size=20), min_size=1, max_size=5), garbage=st.binary())
def test_garbage_after_valid_netstrings_keeps_the_valid_ones(
    strings: list[bytes], garbage: bytes
) -> None:
    sender, out = connected(Strings())
    for s in strings:
        sender.send_string(s)
    proto, _ = connected(Strings())
    proto.data_received(out.value() + garbage)
    assert proto.strings[: len(strings)] == strings


# -- on real event loops -----------------------------------------------------------------


class EchoLines(LineReceiver):
    MAX_LENGTH = 100

    def line_received(self, line: bytes) -> None:
        self.send_line(b"echo: " + line)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.factory.lost.append(exc)


def line_server(reactor: Reactor) -> tuple[Any, tuple[str, int]]:
    factory = Factory.for_protocol(EchoLines)
    factory.lost = []  # type: ignore[attr-defined]
    port = reactor.listen_tcp(0, factory)
    return factory, port.address


@pytest.mark.timeout(30)
def test_line_receiver_over_tcp(reactor: Reactor) -> None:
    _, (host, port) = line_server(reactor)
    client = RecordingClientFactory(lambda: Collector(b"one\r\ntw", half_close=False))
    reactor.connect_tcp(host, port, client)
    spin(reactor, lambda: bool(client.protocols) and client.protocols[0].transport is not None)
    client.protocols[0].transport.write(b"o\r\n")
    spin(reactor, lambda: client.protocols[0].received.count(b"\r\n") == 2)
    assert bytes(client.protocols[0].received) == b"echo: one\r\necho: two\r\n"


@pytest.mark.timeout(30)
def test_too_long_line_over_tcp_reaches_connection_lost(reactor: Reactor) -> None:
    factory, (host, port) = line_server(reactor)
    client = RecordingClientFactory(lambda: Collector(b"x" * 500 + b"\r\n"))
    reactor.connect_tcp(host, port, client)
    spin(reactor, lambda: bool(factory.lost) and bool(client.protocols))
    spin(reactor, lambda: client.protocols[0].done)
    assert isinstance(factory.lost[0], ConnectionLimitError)


@pytest.mark.timeout(30)
def test_line_receiver_runs_on_asyncio() -> None:
    class AsyncioEcho(LineReceiver):
        def line_received(self, line: bytes) -> None:
            self.send_line(line[::-1])

    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(AsyncioEcho, "127.0.0.1", 0)
        host, port = server.sockets[0].getsockname()[:2]
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"abc\r\nde")
        await writer.drain()
        writer.write(b"f\r\n")
        replies = [await reader.readline(), await reader.readline()]
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return replies

    assert asyncio.run(main()) == [b"cba\r\n", b"fed\r\n"]


# -- timeouts (the slowloris defence) -------------------------------------------


class Lines(LineReceiver):
    idle_timeout = 10.0
    line_timeout = 2.0

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def line_received(self, line: bytes) -> None:
        self.lines.append(line)


def timed(proto: LineReceiver) -> tuple[StringTransport, Any]:
    from minireactor.testing import Clock as TestClock

    clock = TestClock()
    proto.clock = clock
    transport = StringTransport()
    transport.connect(proto)
    return transport, clock


def test_idle_timeout_closes_a_quiet_connection_with_a_reason() -> None:
    from minireactor.errors import IdleTimeoutError

    proto = Lines()
    transport, clock = timed(proto)
    clock.advance(6)
    transport.receive(b"hello\r\n")  # activity moves the deadline
    clock.advance(6)
    assert not transport.closing
    clock.advance(5)
    assert transport.aborted and isinstance(transport.abort_reason, IdleTimeoutError)
    assert "idle_timeout" in str(transport.abort_reason)
    assert proto.lines == [b"hello"]


def test_line_timeout_cuts_off_a_trickling_line_but_not_quick_ones() -> None:
    from minireactor.errors import IdleTimeoutError

    proto = Lines()
    transport, clock = timed(proto)
    for _ in range(5):  # complete lines, each quickly: never timed out
        transport.receive(b"quick")
        clock.advance(1)
        transport.receive(b"\r\n")
        clock.advance(1)
    assert not transport.closing and len(proto.lines) == 5
    for byte in b"slowloris":  # one byte a second, never a delimiter
        if transport.closing:
            break
        transport.receive(bytes([byte]))
        clock.advance(1)
    assert isinstance(transport.abort_reason, IdleTimeoutError)
    assert "line_timeout" in str(transport.abort_reason)


def test_timeouts_stop_with_the_connection() -> None:
    proto = Lines()
    transport, clock = timed(proto)
    transport.receive(b"partial")
    transport.lose_connection()
    clock.advance(100)
    assert not transport.aborted and clock.get_delayed_calls() == []


@pytest.mark.timeout(60)
def test_slow_line_clients_are_cut_off_on_a_real_reactor(reactor: Reactor) -> None:
    """Slowloris against a LineReceiver: trickling clients go, a normal one is served.

    Each slow client sends a byte every 0.2 s and never a delimiter, so only
    `line_timeout` (1 s from a line's first byte, not from its last) can cut
    it off, and the close must come then: not before, and long before the
    10 s of trickling end. Only the server's close counts (EOF, or a reset
    from its abort), not any error.
    """
    import socket as socket_module
    import time

    from minireactor import Factory

    class Echo(LineReceiver):
        line_timeout = 1.0

        def line_received(self, line: bytes) -> None:
            self.send_line(line)

    port = reactor.listen_tcp(0, Factory.for_protocol(Echo))
    slow = [socket_module.create_connection(port.address) for _ in range(50)]
    for s in slow:
        s.setblocking(False)
    start = time.monotonic()
    for s in slow:
        s.send(b"x")
    normal = RecordingClientFactory(lambda: Collector(b"hi\r\n"))
    reactor.connect_tcp(*port.address, normal)
    cut_at: dict[int, float] = {}
    sent_at = start
    while len(cut_at) < len(slow) and time.monotonic() - start < 10:
        reactor.iterate(0.02)
        trickle = time.monotonic() - sent_at >= 0.2
        if trickle:
            sent_at = time.monotonic()
        for i, s in enumerate(slow):
            if i in cut_at:
                continue
            try:
                data = s.recv(10)
            except BlockingIOError:
                if trickle:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        s.send(b"x")  # the server may have closed just now: recv tells
                continue
            except ConnectionResetError:
                data = b""
            assert data == b"", data  # a line receiver never answers a partial line
            cut_at[i] = time.monotonic() - start
    spin(reactor, lambda: bool(normal.protocols) and normal.protocols[0].received == b"hi\r\n")
    for s in slow:
        s.close()
    assert len(cut_at) == len(slow)
    assert min(cut_at.values()) >= 1.0 and max(cut_at.values()) < 3.0, cut_at

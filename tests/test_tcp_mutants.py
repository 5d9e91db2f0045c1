"""Tests that kill mutmut survivors in minireactor/tcp.py (see scripts/mutation.py).

`test_tcp.py` checks that a flooding producer is cut off and that bad
buffer limits are refused; these check the exact words a student reads
(the error and the log line) and every default of the buffer limits.

Read next: RELIABILITY.md, "Mutation testing".
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from conftest import spin
from support import Collector, FlowRecorder, echo_factory
from test_tcp import Flooder, SlowReader, connect

from minireactor import ConnectionLimitError, Factory, Reactor
from minireactor.tcp import HIGH_WATER

pytestmark = pytest.mark.timeout(60)


def test_the_flood_error_and_its_log_line_word_for_word(
        reactor: Reactor, caplog: pytest.LogCaptureFixture) -> None:
    servers: list[SlowReader] = []

    class NeverReads(Factory[Any]):
        def build_protocol(self, addr: Any) -> Any:
            servers.append(SlowReader())
            return servers[-1]

    port = reactor.listen_tcp(0, NeverReads())
    with caplog.at_level(logging.WARNING, logger="minireactor"):
        flood = connect(reactor, port.address, Flooder)
        spin(reactor, lambda: bool(flood.protocols) and flood.protocols[0].lost != "not yet")
    protocol = flood.protocols[0]
    reason = protocol.lost
    assert isinstance(reason, ConnectionLimitError)
    assert str(reason) == (
        "write buffer passed 4194304 bytes: the peer is not reading and Flooder kept "
        "writing after pause_writing(). Stop writing until resume_writing(), or raise "
        "transport.max_buffer_size.")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("closing ")]
    assert lines == [f"closing {protocol.transport!r}: {reason}"]


def test_write_buffer_limit_defaults(reactor: Reactor) -> None:
    port = reactor.listen_tcp(0, echo_factory())
    client = connect(reactor, port.address, Collector)
    spin(reactor, lambda: bool(client.protocols))
    transport = client.protocols[0].transport
    assert transport.get_write_buffer_limits() == (HIGH_WATER // 4, HIGH_WATER)
    assert [type(mark) for mark in transport.get_write_buffer_limits()] == [int, int]
    transport.set_write_buffer_limits(low=100)  # high follows: four times low
    assert transport.get_write_buffer_limits() == (100, 400)
    transport.set_write_buffer_limits(high=1001)  # low follows: a quarter, rounded down
    assert transport.get_write_buffer_limits() == (250, 1001)
    transport.set_write_buffer_limits()
    assert transport.get_write_buffer_limits() == (HIGH_WATER // 4, HIGH_WATER)
    transport.set_write_buffer_limits(high=0, low=0)  # the bounds themselves are allowed
    assert transport.get_write_buffer_limits() == (0, 0)
    transport.set_write_buffer_limits(high=7, low=7)
    assert transport.get_write_buffer_limits() == (7, 7)
    with pytest.raises(ValueError) as info:
        transport.set_write_buffer_limits(high=10, low=-1)
    assert str(info.value) == "need 0 <= low <= high, got high=10 low=-1"
    with pytest.raises(ValueError, match="need 0 <= low <= high, got high=5 low=6"):
        transport.set_write_buffer_limits(high=5, low=6)


def _pair(reactor: Reactor) -> tuple[list[SlowReader], Any]:
    """A connected client (Collector) and its server side, which does not read."""
    servers: list[SlowReader] = []

    class NeverReads(Factory[Any]):
        def build_protocol(self, addr: Any) -> Any:
            servers.append(SlowReader())
            return servers[-1]

    port = reactor.listen_tcp(0, NeverReads())
    client = connect(reactor, port.address, Collector)
    spin(reactor, lambda: bool(client.protocols) and bool(servers))
    return servers, client.protocols[0]


def test_repr_names_the_descriptor_the_state_and_the_peer(reactor: Reactor) -> None:
    _servers, client = _pair(reactor)
    transport = client.transport
    fd = transport.get_extra_info("socket").fileno()
    peer = transport.get_extra_info("peername")
    assert peer is not None
    assert repr(transport) == f"<TCPTransport fd={fd} open peer={peer}>"
    transport.write(b"x" * (32 * 1024 * 1024))  # more than the kernel takes: buffered
    assert transport.get_write_buffer_size() > 0
    transport.close()
    assert repr(transport) == f"<TCPTransport fd={fd} closing peer={peer}>"
    transport.abort()
    spin(reactor, lambda: client.lost != "not yet")
    assert repr(transport) == f"<TCPTransport fd={fd} closed peer={peer}>"


def test_extra_info_default(reactor: Reactor) -> None:
    _servers, client = _pair(reactor)
    transport = client.transport
    assert transport.get_extra_info("no such thing") is None
    assert transport.get_extra_info("no such thing", 7) == 7
    assert transport.get_extra_info("reactor", 7) is reactor


def test_resume_reading_delivers_what_arrived_while_paused(reactor: Reactor) -> None:
    servers, client = _pair(reactor)
    server = servers[0].transport
    assert not server.is_reading()
    client.transport.write(b"hello")
    for _ in range(5):  # the bytes arrive; a paused transport does not read them
        reactor.iterate(0.02)
    assert servers[0].count == 0
    server.resume_reading()
    assert server.is_reading()
    spin(reactor, lambda: servers[0].count == 5)
    server.pause_reading()
    assert not server.is_reading()
    server.resume_reading()
    client.transport.write(b"again")
    spin(reactor, lambda: servers[0].count == 10)


def test_writelines_can_write_eof_and_is_reading(reactor: Reactor) -> None:
    servers, client = _pair(reactor)
    transport = client.transport
    assert transport.can_write_eof() is True
    assert transport.is_reading()
    servers[0].transport.resume_reading()
    transport.writelines([b"ab", bytearray(b"cd"), memoryview(b"ef")])
    spin(reactor, lambda: servers[0].count == 6)
    transport.close()
    assert not transport.is_reading()


def test_lowering_the_high_mark_below_the_buffer_pauses_the_writer_once(
        reactor: Reactor) -> None:
    servers: list[SlowReader] = []

    class NeverReads(Factory[Any]):
        def build_protocol(self, addr: Any) -> Any:
            servers.append(SlowReader())
            return servers[-1]

    port = reactor.listen_tcp(0, NeverReads())
    client = connect(reactor, port.address, FlowRecorder)
    spin(reactor, lambda: bool(client.protocols) and bool(servers))
    protocol = client.protocols[0]
    transport = protocol.transport
    transport.set_write_buffer_limits(high=10**9)
    transport.write(b"x" * (32 * 1024 * 1024))  # more than the kernel takes, under the mark
    size = transport.get_write_buffer_size()
    assert size > 0 and protocol.calls == []
    transport.set_write_buffer_limits(high=size)  # not above the mark: no pause
    assert protocol.calls == []
    transport.set_write_buffer_limits(high=size - 1)
    assert protocol.calls == ["pause_writing"]
    transport.set_write_buffer_limits(high=size - 2)  # already paused: told once
    assert protocol.calls == ["pause_writing"]
    transport.abort()

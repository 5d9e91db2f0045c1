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
from support import Collector, echo_factory
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

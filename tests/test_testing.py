"""Tests for minireactor.testing: Clock, StringTransport, MemoryReactor."""

from __future__ import annotations

from typing import Any

import pytest

from minireactor import Factory, Protocol
from minireactor.testing import Clock, MemoryReactor, StringTransport

# -- Clock ---------------------------------------------------------------------


def test_clock_runs_calls_only_when_advanced_in_time_order() -> None:
    clock = Clock()
    log: list[tuple[str, float]] = []
    clock.call_later(2, lambda: log.append(("b", clock.seconds())))
    clock.call_later(1, lambda: log.append(("a", clock.seconds())))
    clock.call_at(1, lambda: log.append(("a2", clock.seconds())))  # same time: FIFO
    assert log == []
    clock.advance(1.5)
    assert log == [("a", 1.5), ("a2", 1.5)]  # they ran late, at the new time
    clock.advance(10)
    assert log[-1] == ("b", 11.5)
    assert clock.seconds() == 11.5


def test_calls_scheduled_during_advance_run_only_if_already_due() -> None:
    clock = Clock()
    log: list[float] = []

    def again() -> None:
        log.append(clock.seconds())
        clock.call_later(1, again)
        clock.call_soon(log.append, -1.0)

    clock.call_later(1, again)
    clock.advance(3)
    assert log == [3.0, -1.0]  # the next `again` is due at 4.0
    clock.pump([1, 1, 1])
    assert log == [3.0, -1.0, 4.0, -1.0, 5.0, -1.0, 6.0, -1.0]


def test_delayed_call_cancel_reset_delay_active() -> None:
    clock = Clock()
    calls: list[str] = []
    a = clock.call_later(1, calls.append, "a")
    b = clock.call_later(1, calls.append, "b")
    c = clock.call_later(1, calls.append, "c")
    a.cancel()
    b.reset(5)
    c.delay(2)
    assert not a.active() and b.active()
    assert [dc.time for dc in clock.get_delayed_calls()] == [3.0, 5.0]
    clock.advance(3)
    assert calls == ["c"]
    assert not c.active()
    clock.advance(2)
    assert calls == ["c", "b"]
    assert clock.get_delayed_calls() == []


def test_call_soon_runs_on_advance_zero() -> None:
    clock = Clock()
    calls: list[int] = []
    clock.call_soon(calls.append, 1)
    assert calls == []
    clock.advance(0)
    assert calls == [1]


def test_clock_refuses_to_go_back() -> None:
    with pytest.raises(ValueError, match="forward"):
        Clock().advance(-1)


def test_clock_lets_callback_errors_reach_the_test() -> None:
    clock = Clock()
    clock.call_later(1, lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        clock.advance(1)


# -- StringTransport ----------------------------------------------------------------


class Recorder(Protocol):
    def __init__(self, keep_open_on_eof: bool = False) -> None:
        self.events: list[Any] = []
        self.keep_open_on_eof = keep_open_on_eof

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.events.append(data)
        self.transport.write(data.upper())

    def eof_received(self) -> bool:
        self.events.append("eof")
        return self.keep_open_on_eof

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append(("lost", exc))


def test_string_transport_records_writes_and_plays_the_peer() -> None:
    t = StringTransport()
    proto = t.connect(Recorder())
    t.receive(b"abc")
    t.writelines([b"1", b"2"])
    assert t.value() == b"ABC12"
    t.clear()
    assert t.value() == b""
    t.receive_eof()
    assert t.is_closing()  # eof_received returned False: our side closes
    err = ConnectionResetError("peer reset")
    t.lose_connection(err)
    t.lose_connection(None)  # only once
    assert proto.events == ["made", b"abc", "eof", ("lost", err)]
    assert t.lost_reason is err


def test_string_transport_keeps_open_when_protocol_asks() -> None:
    t = StringTransport()
    t.connect(Recorder(keep_open_on_eof=True))
    t.receive_eof()
    assert not t.is_closing()


def test_string_transport_write_rules() -> None:
    t = StringTransport()
    with pytest.raises(TypeError, match="encode"):
        t.write("text")  # type: ignore[arg-type]
    t.write_eof()
    assert t.eof_written and t.can_write_eof()
    with pytest.raises(RuntimeError):
        t.write(b"after eof")
    t2 = StringTransport()
    t2.close()
    t2.write(b"dropped")
    assert t2.value() == b""


def test_string_transport_abort_records_reason_and_flow_control() -> None:
    t = StringTransport()
    reason = ValueError("bad input")
    t.abort(reason)
    assert t.aborted and t.is_closing() and t.abort_reason is reason
    t.pause_reading()
    assert not t.is_reading()
    t.resume_reading()
    assert t.is_reading()
    t.set_write_buffer_limits(high=100)
    assert (t.high_water, t.low_water) == (100, 25)
    assert t.get_write_buffer_size() == 0
    assert t.get_extra_info("peername") == ("192.0.2.1", 54321)
    assert t.get_extra_info("socket", "none") == "none"


# -- MemoryReactor ------------------------------------------------------------------


def test_memory_reactor_records_listen_and_connect() -> None:
    r = MemoryReactor()
    factory = Factory.for_protocol(Recorder)
    port = r.listen_tcp(8080, factory, interface="0.0.0.0")
    conn = r.connect_tcp("example.test", 25, factory, timeout=5)
    assert [(s.port, s.factory, s.interface, s.backlog) for s in r.tcp_servers] == [
        (8080, factory, "0.0.0.0", 128)
    ]
    assert port.address == ("0.0.0.0", 8080)
    port.stop_listening()
    assert not r.tcp_servers[0].listening
    assert (conn.host, conn.port, conn.timeout) == ("example.test", 25, 5)
    conn.disconnect()
    assert r.tcp_clients[0].disconnected


def test_memory_reactor_is_a_clock() -> None:
    r = MemoryReactor()
    calls: list[str] = []
    r.call_later(1, calls.append, "timer")
    r.call_from_thread(calls.append, "thread")
    handle = r.add_system_event_trigger("before", "shutdown", calls.append, "trigger")
    assert r.triggers[0].args == ("trigger",)
    r.remove_system_event_trigger(handle)
    assert r.triggers == []
    r.advance(1)
    assert calls == ["thread", "timer"]
    r.stop()
    assert r.stopped

"""Test doubles: a fake clock, a fake transport and a fake reactor.

Code written against minireactor's interfaces can be tested without sockets
or real time, which makes tests fast and exact:

* `Clock` has `call_later`/`call_at`/`seconds` like a reactor, but time only
  moves when the test calls `advance()`. It uses the reactor's own timer heap
  (`timers.TimerQueue`), so its calls behave exactly like the real ones.
* `StringTransport` stands in for a TCP transport: it records what the
  protocol writes and lets the test play the peer (send data, EOF, close).
* `MemoryReactor` is a `Clock` that also records `listen_tcp`/`connect_tcp`.

Layer: beside the reactor, for tests only (nothing in the core imports it).
Read next: `tests/test_basic.py`, which drives protocols with these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .timers import DelayedCall, TimerQueue

__all__ = ["Clock", "DelayedCall", "MemoryReactor", "StringTransport"]


class Clock:
    """A manual clock with the reactor's scheduling methods.

    Time starts at 0.0 and stands still until `advance()`. Calls run in the
    order of their due time (ties: the order they were scheduled). Unlike the
    reactor, the clock does not catch exceptions: a callback that raises
    fails the test at the `advance()` that ran it, which is what a test wants.
    """

    def __init__(self) -> None:
        self._now = 0.0
        self._timers = TimerQueue(self.seconds)
        self._scheduled: list[DelayedCall] = []  # for get_delayed_calls()

    def seconds(self) -> float:
        """The current (fake) time."""
        return self._now

    def call_later(self, delay: float, f: Callable[..., Any], *args: Any) -> DelayedCall:
        """Run `f(*args)` once time has advanced by `delay`."""
        return self.call_at(self._now + delay, f, *args)

    def call_at(self, when: float, f: Callable[..., Any], *args: Any) -> DelayedCall:
        """Run `f(*args)` once time reaches `when`."""
        call = self._timers.schedule(when, f, args)
        self._scheduled.append(call)
        return call

    def call_soon(self, f: Callable[..., Any], *args: Any) -> DelayedCall:
        """Run `f(*args)` at the next `advance()`, even `advance(0)`."""
        return self.call_later(0.0, f, *args)

    def advance(self, seconds: float) -> None:
        """Jump time forward, then run every call that is now due, soonest first.

        Like a loop that slept (or was blocked) for `seconds`: calls that fell
        due meanwhile run late, all seeing the new time. Calls they schedule
        run too if already due (`call_soon`). For a smooth passage of time,
        `pump()` small steps.

        Raises:
            ValueError: `seconds` is negative (time never goes back).
        """
        if seconds < 0:
            raise ValueError(f"cannot advance a Clock by {seconds}: time only moves forward")
        self._now += seconds
        while due := self._timers.pop_due(self._now):
            for call in due:
                call.func(*call.args)

    def pump(self, timings: Iterable[float]) -> None:
        """`advance()` by each amount in turn (like ticks of a real clock)."""
        for seconds in timings:
            self.advance(seconds)

    def get_delayed_calls(self) -> list[DelayedCall]:
        """The calls that have not run and were not cancelled, soonest first."""
        self._scheduled = [call for call in self._scheduled if call.active()]
        return sorted(self._scheduled, key=lambda call: call.time)


class StringTransport:
    """A transport that keeps what is written in memory.

    Connect a protocol with `transport.connect(protocol)` (which calls
    `connection_made`), feed it with `receive()`, and check `value()`.
    The peer's side is played with `receive_eof()` and `lose_connection()`.

    Attributes:
        closing: `close()` or `abort()` was called.
        aborted: `abort()` was called (buffered data would have been dropped).
        abort_reason: the reason given to `abort()`, to pass to `lose_connection`.
        eof_written: `write_eof()` was called.
        reading: False between `pause_reading()` and `resume_reading()`.
        lost: `connection_lost` has been delivered to the protocol.
        lost_reason: the exception given to `connection_lost` (None: clean).
    """

    def __init__(
        self,
        peername: tuple[str, int] = ("192.0.2.1", 54321),
        sockname: tuple[str, int] = ("127.0.0.1", 8000),
    ) -> None:
        self.protocol: Any = None
        self.closing = False
        self.aborted = False
        self.abort_reason: BaseException | None = None
        self.eof_written = False
        self.reading = True
        self.lost = False
        self.lost_reason: BaseException | None = None
        self.high_water = 64 * 1024
        self.low_water = self.high_water // 4
        self._data = bytearray()
        self._extra: dict[str, Any] = {"peername": peername, "sockname": sockname}

    # -- the transport interface (what a protocol calls) -------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Record `data`. Writes after `close()` are dropped, as on a real transport.

        Raises:
            TypeError: `data` is not bytes-like (a str, say).
            RuntimeError: `write_eof()` was already called.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() needs bytes, not {type(data).__name__}; encode text first")
        if self.eof_written:
            raise RuntimeError("write() after write_eof(): our side of the stream is closed")
        if not self.closing:
            self._data += data

    def writelines(self, chunks: Iterable[bytes]) -> None:
        """Write each chunk in turn."""
        for chunk in chunks:
            self.write(chunk)

    def write_eof(self) -> None:
        """Close our side of the stream (the peer will see EOF)."""
        self.eof_written = True

    def can_write_eof(self) -> bool:
        """Always True: a TCP-like transport can half-close."""
        return True

    def close(self) -> None:
        """Close after flushing; in memory there is nothing to flush."""
        self.closing = True

    def abort(self, exc: BaseException | None = None) -> None:
        """Close at once, dropping anything not yet sent; `exc` is why (kept in `abort_reason`)."""
        self.closing = True
        self.aborted = True
        self.abort_reason = exc

    def is_closing(self) -> bool:
        """True once `close()` or `abort()` was called (or the peer went away)."""
        return self.closing

    def pause_reading(self) -> None:
        """Record that the protocol asked for no more `data_received` for now."""
        self.reading = False

    def resume_reading(self) -> None:
        """Record that the protocol wants data again."""
        self.reading = True

    def is_reading(self) -> bool:
        """False while reading is paused."""
        return self.reading

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """'peername' and 'sockname' are fake addresses; anything else is `default`."""
        return self._extra.get(name, default)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Store the limits (a StringTransport never pushes back)."""
        self.high_water = 64 * 1024 if high is None else high
        self.low_water = self.high_water // 4 if low is None else low

    def get_write_buffer_size(self) -> int:
        """Always 0: everything written is "sent" at once."""
        return 0

    # -- the test's side ------------------------------------------------------

    def value(self) -> bytes:
        """Everything written so far."""
        return bytes(self._data)

    def clear(self) -> None:
        """Forget what was written (to check only the next reply)."""
        self._data.clear()

    def connect(self, protocol: Any) -> Any:
        """Attach `protocol` and call its `connection_made(self)`; returns it."""
        self.protocol = protocol
        protocol.connection_made(self)
        return protocol

    def receive(self, data: bytes) -> None:
        """Play the peer: deliver `data` to the protocol's `data_received`."""
        self.protocol.data_received(data)

    def receive_eof(self) -> None:
        """Play the peer closing its side; closes ours unless the protocol says keep."""
        if not self.protocol.eof_received():
            self.close()

    def lose_connection(self, reason: BaseException | None = None) -> None:
        """End the connection: `connection_lost(reason)`, exactly once."""
        if not self.lost:
            self.lost = True
            self.lost_reason = reason
            self.closing = True
            self.protocol.connection_lost(reason)


@dataclass
class ListenRecord:
    """One `MemoryReactor.listen_tcp` call."""

    port: int
    factory: Any
    interface: str
    backlog: int
    listening: bool = True

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) that would be bound."""
        return (self.interface, self.port)

    def stop_listening(self) -> None:
        """Record that the port was closed."""
        self.listening = False


@dataclass
class ConnectRecord:
    """One `MemoryReactor.connect_tcp` call."""

    host: str
    port: int
    factory: Any
    timeout: float
    transport: Any = None
    connecting: bool = True
    disconnected: bool = False

    def stop_connecting(self) -> None:
        """Record that the attempt was abandoned."""
        self.connecting = False

    def disconnect(self) -> None:
        """Record a disconnect request."""
        self.connecting = False
        self.disconnected = True


@dataclass
class _Trigger:
    phase: str
    event: str
    func: Callable[..., Any]
    args: tuple[Any, ...] = field(default_factory=tuple)


class MemoryReactor(Clock):
    """A fake reactor: a `Clock` that records networking calls instead of making them.

    Attributes:
        tcp_servers: one `ListenRecord` per `listen_tcp` call.
        tcp_clients: one `ConnectRecord` per `connect_tcp` call.
        triggers: the system event triggers added.
        owned: what was handed to `own()` and not yet to `disown()` (see lifecycle.py).
        stopped: `stop()` was called.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tcp_servers: list[ListenRecord] = []
        self.tcp_clients: list[ConnectRecord] = []
        self.triggers: list[_Trigger] = []
        self.owned: list[Any] = []
        self.shutdown_timeout = 5.0
        self.running = False
        self.stopped = False

    def listen_tcp(
        self, port: int, factory: Any, interface: str = "127.0.0.1", backlog: int = 128
    ) -> ListenRecord:
        """Record the call; returns a port-like record."""
        record = ListenRecord(port, factory, interface, backlog)
        self.tcp_servers.append(record)
        return record

    def connect_tcp(
        self, host: str, port: int, factory: Any, timeout: float = 30.0
    ) -> ConnectRecord:
        """Record the call; returns a connector-like record."""
        record = ConnectRecord(host, port, factory, timeout)
        self.tcp_clients.append(record)
        return record

    def call_from_thread(self, f: Callable[..., Any], *args: Any) -> None:
        """Schedule `f(*args)` for the next `advance()`."""
        self.call_soon(f, *args)

    def call_when_running(self, f: Callable[..., Any], *args: Any) -> None:
        """Schedule `f(*args)` for the next `advance()`."""
        self.call_soon(f, *args)

    def add_system_event_trigger(
        self, phase: str, event: str, f: Callable[..., Any], *args: Any
    ) -> Any:
        """Record the trigger; returns it as the handle."""
        trigger = _Trigger(phase, event, f, args)
        self.triggers.append(trigger)
        return trigger

    def remove_system_event_trigger(self, handle: Any) -> None:
        """Forget a trigger added by `add_system_event_trigger`."""
        self.triggers.remove(handle)

    def own(self, resource: Any) -> None:
        """Record `resource`, as a reactor would to close it at shutdown."""
        self.owned.append(resource)

    def disown(self, resource: Any) -> None:
        """Forget `resource`."""
        if resource in self.owned:
            self.owned.remove(resource)

    def stop(self) -> None:
        """Record the call."""
        self.stopped = True

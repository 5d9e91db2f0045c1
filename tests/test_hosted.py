"""The hosted-backend hook (backends/hosted.py) with a host that is not asyncio.

A hosted backend lets another loop (asyncio's, Tk's) do the waiting through
three hooks. `ManualHost` is the smallest such loop: a selector, a list of
"soon" calls and a list of timers, turned by the test. If a reactor runs TCP
and timers on it and shuts down cleanly, the hook is general, not asyncio's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from support import Echo

from minireactor import Factory, Protocol, Reactor
from minireactor.backends.asyncio_hosted import AsyncioHostedBackend
from minireactor.backends.base import READ, WRITE
from minireactor.backends.hosted import Cancel, HostedBackend
from minireactor.errors import BackendError

pytestmark = pytest.mark.timeout(60)


class _Timer:
    def __init__(self, due: float, func: Callable[[], Any]) -> None:
        self.due, self.func, self.cancelled = due, func, False

    def cancel(self) -> None:
        self.cancelled = True


class ManualHost(HostedBackend):
    """A host loop in a few lines, shaped like Tk's (file handlers, after, after_idle)."""

    name = "manual-host"

    def __init__(self) -> None:
        super().__init__()
        self.selector = selectors.DefaultSelector()
        self.soon: list[Callable[[], Any]] = []
        self.timers: list[_Timer] = []

    def _host_watch(self, fd: int, old: int, new: int) -> None:
        mask = (selectors.EVENT_READ if new & READ else 0) | (
            selectors.EVENT_WRITE if new & WRITE else 0
        )
        if old and mask:
            self.selector.modify(fd, mask)
        elif mask:
            self.selector.register(fd, mask)
        elif old:
            self.selector.unregister(fd)

    def _host_call_soon(self, func: Callable[[], Any]) -> None:
        self.soon.append(func)

    def _host_call_later(self, delay: float, func: Callable[[], Any]) -> Cancel:
        timer = _Timer(time.monotonic() + delay, func)
        self.timers.append(timer)
        return timer

    def turn(self, timeout: float = 0.01) -> None:
        """One turn of the host: wait for its descriptors, then run what is due."""
        if self.selector.get_map():
            for key, mask in self.selector.select(0 if self.soon else timeout):
                if mask & selectors.EVENT_READ:
                    self._note(key.fd, READ)
                if mask & selectors.EVENT_WRITE:
                    self._note(key.fd, WRITE)
        soon, self.soon = self.soon, []
        for func in soon:
            func()
        now = time.monotonic()
        due = [t for t in self.timers if t.due <= now and not t.cancelled]
        self.timers = [t for t in self.timers if t.due > now and not t.cancelled]
        for timer in due:
            timer.func()


def turn_until(host: ManualHost, until: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the host loop did not get there in time"
        host.turn()


def test_a_reactor_rides_on_a_host_that_is_not_asyncio() -> None:
    host = ManualHost()
    reactor = Reactor(backend=host)
    reactor.start()  # returns at once: the host loop drives the passes
    fired: list[str] = []
    reactor.call_later(0.05, fired.append, "timer")  # work added from outside a pass
    port = reactor.listen_tcp(0, Factory.for_protocol(Echo))
    client = socket.create_connection(port.address)
    client.setblocking(False)
    client.sendall(b"hello host")
    received = bytearray()

    def echoed() -> bool:
        with contextlib.suppress(BlockingIOError):  # nothing back yet
            received.extend(client.recv(100))
        return received == b"hello host" and fired == ["timer"]

    turn_until(host, echoed)
    reactor.call_soon(reactor.stop)
    turn_until(host, lambda: reactor.closed)
    assert not host.selector.get_map()  # every descriptor handed back to the host
    client.close()


def test_start_refuses_a_backend_that_waits_by_itself(backend: str) -> None:
    if backend == "tk":
        pytest.skip("tk waits by itself in run() and is hosted by start(): test_tk_backend.py")
    reactor = Reactor(backend=backend)
    try:
        with pytest.raises(BackendError, match="call run"):
            reactor.start()
    finally:
        reactor.close()


# -- shutdown inside one host callback: the backend waits by itself -----------


def test_poll_with_nothing_noted_asks_the_kernel_for_its_own_descriptors() -> None:
    """Shutdown flushes inside one host callback, so the host cannot report events
    meanwhile: `poll()` with nothing noted selects on the watched descriptors itself."""
    host = ManualHost()
    r, w = os.pipe()
    quiet_r, quiet_w = os.pipe()  # never written: readable never, writable always
    try:
        host.register(r, READ)
        host.register(w, WRITE)
        host.register(quiet_w, 0)  # watched for nothing: must not be reported
        host.register(quiet_r, READ)
        assert host.poll(5.0) == [(w, WRITE)]  # only the writable end, WRITE alone
        os.write(w, b"x")
        host.modify(w, 0)
        assert host.poll(5.0) == [(r, READ)]
        host.modify(w, WRITE)
        assert sorted(host.poll(5.0)) == sorted([(r, READ), (w, WRITE)])
        host.modify(w, 0)
        host.modify(r, READ | WRITE)  # a pipe's read end is never writable
        assert host.poll(5.0) == [(r, READ)]
    finally:
        host.close()
        for fd in (r, w, quiet_r, quiet_w):
            os.close(fd)


def test_poll_reports_read_and_write_of_one_descriptor_together() -> None:
    host = ManualHost()
    a, b = socket.socketpair()
    try:
        b.send(b"x")  # `a` is readable and writable
        host.register(a.fileno(), 0)
        assert host.poll(0.05) == []  # watched for nothing
        host.modify(a.fileno(), WRITE)
        assert host.poll(5.0) == [(a.fileno(), WRITE)]  # not READ: it was not asked for
        host.modify(a.fileno(), READ | WRITE)
        assert host.poll(5.0) == [(a.fileno(), READ | WRITE)]
    finally:
        host.close()
        a.close()
        b.close()


def test_poll_waits_its_timeout_when_nothing_is_ready_and_not_at_all_for_zero() -> None:
    host = ManualHost()
    r, w = os.pipe()
    try:
        host.register(r, READ)
        started = time.monotonic()
        assert host.poll(0.05) == []
        assert time.monotonic() - started >= 0.04
        os.write(w, b"x")
        # a zero timeout is a host pass: only what the host noted counts, no system call
        assert host.poll(0) == []
        host._note(r, READ)
        assert host.poll(0) == [(r, READ)]
        assert host.poll(0) == []  # reported once
    finally:
        host.close()
        os.close(r)
        os.close(w)


def test_a_hosted_reactor_flushes_a_big_reply_at_shutdown() -> None:
    """`stop()` with 4 MiB still buffered: the shutdown flush, run inside one host
    callback, must wait on the socket itself until the peer has read it all."""
    payload = bytes(range(256)) * (4 * 4096)

    made: list[Any] = []

    class Blurt(Protocol):
        def connection_made(self, transport: Any) -> None:
            made.append(transport)
            transport.write(payload)  # far more than the socket buffers hold
            transport.close()

    host = ManualHost()
    reactor = Reactor(backend=host, shutdown_timeout=10.0)
    reactor.start()
    port = reactor.listen_tcp(0, Factory.for_protocol(Blurt))
    client = socket.create_connection(port.address)
    received = bytearray()
    reader = threading.Thread(target=_read_all, args=(client, received), daemon=True)
    turn_until(host, lambda: bool(made))
    reactor.call_soon(reactor.stop)
    reader.start()  # the peer reads only once the reactor is stopping
    started = time.monotonic()
    turn_until(host, lambda: reactor.closed, timeout=30.0)
    reader.join(30.0)
    assert bytes(received) == payload
    assert time.monotonic() - started < 8.0  # not the shutdown timeout's abort
    client.close()


def _read_all(sock: socket.socket, into: bytearray) -> None:
    while chunk := sock.recv(65536):
        into.extend(chunk)


# -- HostDriver: when the host runs the core's next pass ----------------------


class FakeCore:
    """A core reduced to what the driver asks of it (the `Hostable` protocol)."""

    def __init__(self, backend: HostedBackend) -> None:
        self.backend = backend
        self.timeouts: list[float] = []  # what each pass was given
        self.next: float | None = None  # what next_timeout() answers
        self.during_pass: Callable[[], Any] = lambda: None
        self.stopping = self.closed = False
        self.shut_down = 0

    def iterate(self, timeout: float = 0.0) -> None:
        self.timeouts.append(timeout)
        self.during_pass()

    def next_timeout(self) -> float | None:
        return self.next

    def shutdown(self) -> None:
        self.shut_down += 1


class ClockedHost(ManualHost):
    """ManualHost on a clock the test sets, counting the timers it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 100.0

    def _host_time(self) -> float:
        return self.now


def hosted(next_timeout: float | None = None) -> tuple[ClockedHost, FakeCore]:
    host = ClockedHost()
    core = FakeCore(host)
    core.next = next_timeout
    host.host(core)  # schedules the first pass
    return host, core


def run_soon(host: ManualHost) -> int:
    """Run what the host was asked to run soon; return how many there were."""
    soon, host.soon = host.soon, []
    for func in soon:
        func()
    return len(soon)


def test_a_pass_is_asked_for_once_however_often_and_runs_without_waiting() -> None:
    host, core = hosted()
    host.work_added()
    host.work_added()
    assert run_soon(host) == 1
    assert core.timeouts == [0.0]  # a hosted pass never blocks the host
    assert run_soon(host) == 0 and not host.timers  # nothing due: the host just waits


def test_work_added_during_a_pass_is_left_to_the_end_of_the_pass() -> None:
    host, core = hosted(next_timeout=None)
    core.during_pass = host.work_added  # e.g. a callback calls call_soon()
    assert run_soon(host) == 1
    assert host.soon == []  # the pass's end decides (here: nothing is due)
    core.next = 0.0  # a real core answers 0 when callbacks are ready
    host.work_added()
    assert run_soon(host) == 1 and run_soon(host) == 1  # ready work: the next pass at once


def test_events_noted_during_a_pass_get_a_pass_now_whatever_the_timers_say() -> None:
    host, core = hosted(next_timeout=None)
    core.during_pass = lambda: host._note(7, READ)  # Tk's update() inside a callback
    run_soon(host)
    assert len(host.soon) == 1 and not host.timers
    host, core = hosted(next_timeout=30.0)
    core.during_pass = lambda: host._note(7, READ)
    run_soon(host)
    assert len(host.soon) == 1 and not host.timers


def test_the_next_pass_waits_for_the_next_timer_on_the_host_clock() -> None:
    host, core = hosted(next_timeout=0.5)
    run_soon(host)
    assert host.soon == [] and len(host.timers) == 1
    (timer,) = host.timers
    # The same due time from later passes keeps the timer; another moves it.
    host.now += 0.3
    core.next = 0.2  # due at 100.5 still
    host.work_added()
    run_soon(host)
    assert host.timers == [timer] and not timer.cancelled
    core.next = 0.1  # due at 100.4 now
    host.work_added()
    run_soon(host)
    assert timer.cancelled and len(host.timers) == 2
    new = host.timers[-1]
    assert new.func.__name__ == "_timer_fired"
    new.func()  # the host's timer fires: a pass is asked for
    assert run_soon(host) == 1 and core.timeouts[-1] == 0.0


def test_no_next_timeout_cancels_the_pending_timer() -> None:
    host, core = hosted(next_timeout=0.5)
    run_soon(host)
    (timer,) = host.timers
    core.next = None
    host.work_added()
    run_soon(host)
    assert timer.cancelled and host.soon == []


def test_a_stopping_core_is_shut_down_by_the_driver_once_and_a_closed_one_left_alone() -> None:
    host, core = hosted(next_timeout=0.0)
    core.stopping = True
    run_soon(host)
    assert core.shut_down == 1 and host.soon == [] and not host.timers
    host, core = hosted(next_timeout=0.0)
    core.closed = True
    run_soon(host)
    assert core.timeouts == [] and host.soon == []


def test_events_noted_twice_before_a_pass_are_merged() -> None:
    host = ManualHost()
    host._note(5, WRITE)
    assert host.poll(0) == [(5, WRITE)]
    host._note(5, READ)
    host._note(5, WRITE)
    host._note(6, READ)
    assert host.poll(0) == [(5, READ | WRITE), (6, READ)]


# -- the asyncio host ---------------------------------------------------------------


def test_the_asyncio_backend_outside_a_running_loop_says_what_to_do() -> None:
    with pytest.raises(BackendError) as raised:
        AsyncioHostedBackend()
    assert str(raised.value) == (
        "the 'asyncio' backend hosts minireactor on an asyncio loop that is already running "
        "(as in Jupyter): create the Reactor inside a coroutine or a notebook cell, or choose "
        "another backend (minireactor.available_backends())"
    )


def test_the_asyncio_backend_is_unavailable_before_asyncio_is_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "asyncio", raising=False)
    assert AsyncioHostedBackend.is_available() is False


@pytest.mark.parametrize("first", [READ, WRITE])
def test_the_asyncio_host_watches_exactly_the_events_asked_for(first: int) -> None:
    loop = asyncio.new_event_loop()
    backend = AsyncioHostedBackend(loop)
    a, b = socket.socketpair()
    fd = a.fileno()

    def reported() -> list[tuple[int, int]]:
        loop.run_until_complete(asyncio.sleep(0.02))  # the host's turn: it notes events
        return backend.poll(0)

    try:
        b.send(b"x")  # `a` is readable and writable from here on
        other = WRITE if first == READ else READ
        backend.register(fd, first)
        assert reported() == [(fd, first)]
        backend.modify(fd, other)
        assert reported() == [(fd, other)]
        backend.modify(fd, READ | WRITE)
        assert reported() == [(fd, READ | WRITE)]
        backend.modify(fd, first)
        assert reported() == [(fd, first)]
        backend.unregister(fd)
        assert reported() == []
    finally:
        backend.close()
        loop.close()
        a.close()
        b.close()


def test_a_hosted_backend_refuses_a_second_registration_and_forgets_what_it_dropped() -> None:
    host, _ = hosted()
    run_soon(host)  # the first pass
    r, w = os.pipe()
    try:
        host.register(r, READ)
        with pytest.raises(KeyError, match=f"^'descriptor {r} is already registered'$"):
            host.register(r, READ)
        host._note(r, READ)
        host.unregister(r)  # its noted event must not reach whoever gets the number next
        assert host.poll(0) == []
        host.register(r, READ)
        host.register(w, WRITE)
        host.close()  # hands every descriptor back to the host, and stops driving
        assert not host.selector.get_map()
        pending = list(host.soon)
        host.work_added()  # after close: nothing to drive, no error
        assert host.soon == pending
    finally:
        os.close(r)
        os.close(w)

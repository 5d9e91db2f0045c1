"""The reactor itself on every backend: running, stopping, threads, errors, triggers."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

import pytest
from conftest import open_fds, spin
from support import Collector, RecordingClientFactory, echo_factory

from minireactor import (
    Reactor,
    ReactorAlreadyRunning,
    ReactorNotRestartable,
    WrongThreadError,
)

pytestmark = pytest.mark.timeout(60)


def test_run_until_stop_then_closed(reactor: Reactor) -> None:
    seen: list[bool] = []
    reactor.call_later(0.01, lambda: seen.append(reactor.running))
    reactor.call_later(0.02, reactor.stop)
    reactor.run()
    assert seen == [True] and not reactor.running
    with pytest.raises(ReactorNotRestartable, match="Create a new Reactor"):
        reactor.run()


def test_run_inside_run_is_refused(reactor: Reactor) -> None:
    errors: list[BaseException] = []

    def nested() -> None:
        try:
            reactor.run()
        except ReactorAlreadyRunning as exc:
            errors.append(exc)
        reactor.stop()

    reactor.call_soon(nested)
    reactor.run()
    assert len(errors) == 1 and "already running" in str(errors[0])


def test_stop_before_run_starts_and_shuts_down(reactor: Reactor) -> None:
    events: list[str] = []
    reactor.add_system_event_trigger("after", "startup", events.append, "started")
    reactor.add_system_event_trigger("after", "shutdown", events.append, "stopped")
    reactor.stop()
    reactor.run()
    assert events == ["started", "stopped"]


def test_system_event_triggers_run_in_phase_order(reactor: Reactor) -> None:
    order: list[str] = []
    for phase in ("after", "during", "before"):
        for event in ("shutdown", "startup"):
            reactor.add_system_event_trigger(phase, event, order.append, f"{phase}-{event}")
    removed = reactor.add_system_event_trigger("before", "shutdown", order.append, "removed")
    reactor.remove_system_event_trigger(removed)
    reactor.call_when_running(order.append, "running")
    reactor.call_when_running(reactor.stop)
    reactor.run()
    assert order == [
        "before-startup",
        "during-startup",
        "after-startup",
        "running",
        "before-shutdown",
        "during-shutdown",
        "after-shutdown",
    ]
    with pytest.raises(ValueError, match="phase must be one of"):
        Reactor(backend="select").add_system_event_trigger("whenever", "shutdown", print)


def test_call_from_thread_8_threads_x_10000_none_lost_order_kept(reactor: Reactor) -> None:
    received: dict[int, list[int]] = {t: [] for t in range(8)}
    total = [0]

    def record(thread: int, i: int) -> None:
        received[thread].append(i)
        total[0] += 1
        if total[0] == 80_000:
            reactor.stop()

    def worker(thread: int) -> None:
        for i in range(10_000):
            reactor.call_from_thread(record, thread, i)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    reactor.call_when_running(lambda: [t.start() for t in threads])
    reactor.run()
    for t in threads:
        t.join()
    assert total[0] == 80_000
    for thread in range(8):
        assert received[thread] == list(range(10_000))


def test_call_from_thread_wakes_a_sleeping_loop_at_once(reactor: Reactor) -> None:
    """With nothing else to do the loop sleeps forever; a thread must wake it."""
    woke: list[float] = []
    start = reactor.seconds()

    def from_thread() -> None:
        reactor.call_from_thread(lambda: (woke.append(reactor.seconds()), reactor.stop()))

    timer = threading.Timer(0.05, from_thread)
    reactor.call_when_running(timer.start)
    reactor.run()  # no timers, no descriptors: poll(None) until woken
    timer.join()
    assert woke and woke[0] - start < 5.0


def test_methods_other_than_call_from_thread_refuse_other_threads(reactor: Reactor) -> None:
    errors: list[BaseException] = []

    def misuse() -> None:
        for method in (
            lambda: reactor.call_later(1, print),
            lambda: reactor.call_soon(print),
            lambda: reactor.stop(),
        ):
            try:
                method()
            except WrongThreadError as exc:
                errors.append(exc)
        reactor.call_from_thread(reactor.stop)

    reactor.call_when_running(lambda: threading.Thread(target=misuse).start())
    reactor.run()
    assert len(errors) == 3
    assert all("call_from_thread" in str(e) for e in errors)


def test_exception_storm_is_logged_and_the_loop_keeps_serving(
    reactor: Reactor, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(i: int) -> None:
        raise ValueError(f"boom {i}")

    for i in range(500):
        reactor.call_soon(boom, i)
        reactor.call_later(0, boom, i)
    port = reactor.listen_tcp(0, echo_factory())
    client = RecordingClientFactory(lambda: Collector(b"still here"))
    with caplog.at_level(logging.ERROR, logger="minireactor"):
        reactor.connect_tcp(*port.address, client)
        spin(
            reactor,
            lambda: (
                bytes(client.protocols[0].received) == b"still here" if client.protocols else False
            ),
        )
    errors = [r for r in caplog.records if "Unhandled error in callback" in r.getMessage()]
    assert len(errors) == 1000
    assert errors[0].exc_info is not None and "boom" in str(errors[0].exc_info[1])


def test_many_reactors_in_one_process_leak_nothing() -> None:
    before = open_fds()
    for i in range(30):
        backend = ["select", "poll", "epoll", "threaded"][i % 4]
        r = (
            Reactor(backend=backend)
            if backend in __import__("minireactor").available_backends()
            else Reactor()
        )
        port = r.listen_tcp(0, echo_factory())
        client = RecordingClientFactory(lambda: Collector(b"x"))
        r.connect_tcp(*port.address, client)
        r.call_later(0.01, r.stop)
        r.run()
    assert open_fds() == before


def test_stop_closes_ports_and_connections_and_port_is_reusable_at_once(backend: str) -> None:
    before = open_fds()
    reactor = Reactor(backend=backend)
    port = reactor.listen_tcp(0, echo_factory())
    address = port.address
    client = RecordingClientFactory(lambda: Collector(b"ping"))
    reactor.connect_tcp(*address, client)

    def check() -> None:
        if client.protocols and client.protocols[0].received == b"ping":
            reactor.stop()
        else:
            reactor.call_later(0.005, check)

    reactor.call_later(0.005, check)
    reactor.run()
    assert client.protocols[0].done and client.protocols[0].events[-1] == "connection_lost"
    assert open_fds() == before
    again = Reactor()
    try:
        assert again.listen_tcp(address[1], echo_factory()).address == address  # SO_REUSEADDR
    finally:
        again.close()


def test_keyboard_interrupt_shuts_down_cleanly_then_propagates(backend: str) -> None:
    before = open_fds()
    reactor = Reactor(backend=backend)
    events: list[str] = []
    reactor.add_system_event_trigger("before", "shutdown", events.append, "shutdown ran")
    reactor.listen_tcp(0, echo_factory())

    def interrupt() -> None:
        raise KeyboardInterrupt

    reactor.call_later(0.01, interrupt)
    with pytest.raises(KeyboardInterrupt):
        reactor.run()
    assert events == ["shutdown ran"]
    assert open_fds() == before


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="needs main thread"
)
def test_sigint_during_a_wait_is_a_clean_keyboard_interrupt(backend: str) -> None:
    """What a notebook's interrupt button does: SIGINT while the loop sleeps."""
    before = open_fds()
    reactor = Reactor(backend=backend)
    reactor.listen_tcp(0, echo_factory())
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT))
    reactor.call_when_running(timer.start)
    with pytest.raises(KeyboardInterrupt):
        reactor.run()
    timer.join()
    assert open_fds() == before


def test_before_shutdown_trigger_may_return_a_deferred_like(reactor: Reactor) -> None:
    class Later:
        def __init__(self) -> None:
            self.callbacks: list[Any] = []

        def add_both(self, f: Any) -> None:
            self.callbacks.append(f)

    later = Later()
    order: list[str] = []
    reactor.add_system_event_trigger("before", "shutdown", lambda: later)
    reactor.add_system_event_trigger("during", "shutdown", order.append, "during")
    reactor.add_system_event_trigger(
        "before",
        "shutdown",
        lambda: reactor.call_later(0.02, lambda: (order.append("fired"), later.callbacks[0](None))),
    )
    reactor.call_when_running(reactor.stop)
    reactor.run()
    assert order == ["fired", "during"]


def test_slow_callback_detector_names_the_callback(
    reactor: Reactor, caplog: pytest.LogCaptureFixture
) -> None:
    import time as time_module

    def crunch_numbers() -> None:
        time_module.sleep(0.06)  # stands for blocking work in a callback

    reactor.slow_callback_duration = 0.05
    reactor.call_soon(crunch_numbers)
    reactor.call_soon(lambda: None)  # quick: no warning
    with caplog.at_level(logging.WARNING, logger="minireactor"):
        spin(reactor, lambda: not reactor._ready)
    warnings = [r.getMessage() for r in caplog.records if "Slow callback" in r.getMessage()]
    assert len(warnings) == 1
    assert "crunch_numbers blocked the loop for 0.0" in warnings[0]
    assert "defer_to_thread" in warnings[0]
    reactor.slow_callback_duration = None
    assert "_call" not in vars(reactor)  # switched off: the plain _call again


def test_slow_protocol_callback_is_named_by_its_protocol(
    reactor: Reactor, caplog: pytest.LogCaptureFixture
) -> None:
    import time as time_module

    from minireactor import Factory, Protocol

    class SlowHandler(Protocol):
        def data_received(self, data: bytes) -> None:
            time_module.sleep(0.06)

    reactor.slow_callback_duration = 0.05
    port = reactor.listen_tcp(0, Factory.for_protocol(SlowHandler))
    client = RecordingClientFactory(lambda: Collector(b"x", half_close=True))
    with caplog.at_level(logging.WARNING, logger="minireactor"):
        reactor.connect_tcp(*port.address, client)
        spin(reactor, lambda: any("Slow callback" in r.getMessage() for r in caplog.records))
    assert any(
        "SlowHandler (via TCPTransport._read_ready)" in r.getMessage() for r in caplog.records
    )


class _Resource:
    """An owned resource that records what the reactor asked of it."""

    def __init__(self, reactor: Reactor, goes_when_closed: bool) -> None:
        self.reactor, self.goes_when_closed, self.calls = reactor, goes_when_closed, []
        reactor.own(self)

    def close(self) -> None:
        self.calls.append("close")
        if self.goes_when_closed:
            self.reactor.disown(self)

    def abort(self) -> None:
        self.calls.append("abort")
        self.reactor.disown(self)


def test_shutdown_closes_what_it_owns_and_aborts_what_lingers(backend: str) -> None:
    reactor = Reactor(backend=backend, shutdown_timeout=0.2)
    polite = _Resource(reactor, goes_when_closed=True)
    stubborn = _Resource(reactor, goes_when_closed=False)
    gone = _Resource(reactor, goes_when_closed=True)
    reactor.disown(gone)  # it closed by itself before the shutdown
    reactor.call_soon(reactor.stop)
    reactor.run()
    assert polite.calls == ["close"]
    assert stubborn.calls == ["close", "abort"]  # after shutdown_timeout
    assert gone.calls == []
    assert reactor.lifecycle.owned() == []


def test_close_without_run_aborts_what_it_owns(reactor: Reactor) -> None:
    owned = _Resource(reactor, goes_when_closed=True)
    pool = reactor.thread_pool  # the thread pool is owned the same way
    assert reactor.lifecycle.owned()[-2:] == [owned, pool]
    reactor.close()
    assert owned.calls == ["abort"]
    assert reactor.lifecycle.owned() == []

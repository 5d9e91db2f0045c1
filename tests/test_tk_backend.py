"""The `tk` backend hosted on Tk's own loop, both routes (native and interval).

The conftest matrix already runs every reactor test on `tk` *standalone*
(`reactor.run()`/`iterate()` turn Tk's loop). Here the other direction, the
one a GUI program uses: `reactor.start()` returns, Tk's loop turns, and the
reactor rides on it. Three parts:

* the backend interface tests of `test_backends.py`, on both modes;
* the transport tests, collected again with a `reactor` that is started and
  hosted and a `spin` that only turns Tk's loop (`tk.dooneevent`), so every
  event reaches the reactor the hosted way;
* the GUI story: clicks schedule work, idle costs nothing natively, the
  window closing shuts the reactor down, `reactor.stop()` ends mainloop().
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Callable, Iterator

import pytest
import test_endpoints
import test_tcp
import test_udp
import test_unix
from conftest import _TK_SKIP
from support import Echo
from test_backends import (
    test_a_waker_registered_like_any_reader_ends_a_long_wait,
    test_double_register_is_refused,
    test_hangup_is_reported_as_readable,
    test_readable_pipe_is_reported,
    test_timeout_is_respected,
    test_unregister_stops_reports,
    test_writable_and_modify,
)
from test_endpoints import test_tcp as test_endpoint_tcp
from test_tcp import (
    test_200_concurrent_clients,
    test_callback_order_and_clean_close,
    test_connect_timeout,
    test_echo_16_mib_byte_for_byte,
    test_half_close_peer_still_answers,
    test_peer_reset_arrives_as_connection_lost,
    test_protocol_exception_closes_only_that_connection,
    test_refused_connection_reaches_the_factory,
)
from test_udp import test_thousand_datagrams_none_lost
from test_unix import test_one_mebibyte_echo

from minireactor import BackendError, Factory, Reactor
from minireactor.backends import available_backends, create_backend
from minireactor.backends.tk import TkBackend, tk_problem
from minireactor.backends.tk_host import mainloop, tk_backend_of

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(_TK_SKIP is not None, reason=_TK_SKIP or ""),
    pytest.mark.usefixtures("tk_display"),
]

HOSTED_TESTS = [
    test_200_concurrent_clients,
    test_callback_order_and_clean_close,
    test_connect_timeout,
    test_echo_16_mib_byte_for_byte,
    test_half_close_peer_still_answers,
    test_peer_reset_arrives_as_connection_lost,
    test_protocol_exception_closes_only_that_connection,
    test_refused_connection_reaches_the_factory,
    test_thousand_datagrams_none_lost,
    test_one_mebibyte_echo,
    test_endpoint_tcp,
]
BACKEND_TESTS = [
    test_double_register_is_refused,
    test_hangup_is_reported_as_readable,
    test_readable_pipe_is_reported,
    test_timeout_is_respected,
    test_unregister_stops_reports,
    test_a_waker_registered_like_any_reader_ends_a_long_wait,
    test_writable_and_modify,
]


@pytest.fixture(params=["native", "interval"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend(mode: str, tk_display: str) -> Iterator[TkBackend]:
    """For the interface tests of test_backends.py: a bare TkBackend in each mode."""
    b = TkBackend(mode=mode)
    yield b
    b.close()


def hosted_spin(reactor: Reactor, until: Callable[[], bool], timeout: float = 10.0) -> None:
    """Like conftest.spin, but only Tk's loop turns; the reactor rides on it."""
    tk = tk_backend_of(reactor).root.tk
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        tick = tk.createtimerhandler(20, lambda: None)  # so the deadline is looked at
        tk.dooneevent(0)
        tick.deletetimerhandler()


@pytest.fixture
def reactor(mode: str, tk_display: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Reactor]:
    """A started reactor hosted on Tk's loop; `spin` turns that loop."""
    hosted = Reactor(backend=TkBackend(mode=mode))
    hosted.start()
    for module in (test_tcp, test_udp, test_unix, test_endpoints):
        monkeypatch.setattr(module, "spin", hosted_spin)
    try:
        yield hosted
    finally:
        if hosted.running:
            hosted.stop()
            hosted_spin(hosted, lambda: not hosted.running)


# -- the GUI story -------------------------------------------------------------------


def test_listed_only_with_a_display_and_says_why_not(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "tk" in available_backends()
    monkeypatch.delenv("DISPLAY")
    assert "tk" not in available_backends()
    assert tk_problem() is not None and "DISPLAY is not set" in tk_problem()  # type: ignore[operator]
    with pytest.raises(BackendError, match=r"DISPLAY is not set.*xvfb-run"):
        create_backend("tk")


def test_bad_mode_and_interval_are_clear_errors() -> None:
    with pytest.raises(BackendError, match="unknown tk mode 'fast'"):
        TkBackend(mode="fast")
    with pytest.raises(BackendError, match="positive number of seconds"):
        TkBackend(interval=0)


def test_native_refuses_descriptors_tcl_cannot_select() -> None:
    backend = TkBackend(mode="native")
    try:
        with pytest.raises(BackendError, match=r"below 1024.*mode=.interval."):
            backend.register(1500, 1)
    finally:
        backend.close()


def test_the_backend_adopts_the_applications_window_and_leaves_it_open() -> None:
    import tkinter

    root = tkinter.Tk()
    try:
        reactor = Reactor(backend="tk")
        assert tk_backend_of(reactor).root is root
        reactor.close()
        assert root.winfo_exists()  # not ours to destroy
    finally:
        root.destroy()


def test_gui_events_keep_flowing_while_run_waits() -> None:
    """Standalone: reactor.run() turns Tk's loop, so Tk's own `after` ticks fire on time."""
    reactor = Reactor(backend="tk")
    root = tk_backend_of(reactor).root
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(time.monotonic())
        if len(ticks) < 10:
            root.after(10, tick)

    root.after(10, tick)
    reactor.call_later(0.3, reactor.stop)  # no I/O at all: the reactor would sleep 0.3 s
    reactor.run()
    assert len(ticks) == 10
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.1


def test_a_click_handler_that_calls_call_soon_is_served_at_once(mode: str) -> None:
    """Hosted: work added from a Tk callback (not a reactor pass) reaches the reactor."""
    reactor = Reactor(backend=TkBackend(mode=mode))
    root = tk_backend_of(reactor).root
    done: list[float] = []

    def clicked() -> None:  # what a Button's command would do
        clicked_at = time.monotonic()
        reactor.call_soon(lambda: done.append(time.monotonic() - clicked_at))

    root.after(50, clicked)
    root.after(2000, reactor.stop)  # a safety net only
    reactor.call_later(0.3, reactor.stop)
    mainloop(reactor)
    assert len(done) == 1 and not reactor.running
    bound = 0.05 if mode == "native" else 0.05 + 0.005
    assert done[0] < bound


def test_idle_native_reactor_runs_no_passes_interval_wakes_constantly(mode: str) -> None:
    reactor = Reactor(backend=TkBackend(mode=mode))
    passes = [0]
    original = reactor.iterate

    def counting(timeout: float = 0.0) -> None:
        passes[0] += 1
        original(timeout)

    reactor.iterate = counting  # type: ignore[method-assign]
    root = tk_backend_of(reactor).root
    reactor.start()
    root.after(300, root.quit)
    root.mainloop()
    if mode == "native":
        assert passes[0] <= 3  # the first pass, and nothing while idle
    else:
        assert passes[0] >= 20  # one every 5 ms, whether or not anything happens
    reactor.stop()
    hosted_spin(reactor, lambda: not reactor.running)


def test_closing_the_window_shuts_the_reactor_down_cleanly() -> None:
    import tkinter

    root = tkinter.Tk()
    reactor = Reactor(backend=TkBackend(root))
    port = reactor.listen_tcp(0, Factory.for_protocol(Echo))
    events: list[str] = []
    reactor.add_system_event_trigger("after", "shutdown", events.append, "shut down")
    client = socket.create_connection(port.address)
    client.sendall(b"hello")
    client.setblocking(False)
    echoed: list[bytes] = []

    def close_window_once_echoed() -> None:  # never blocks: the reactor shares this loop
        try:
            echoed.append(client.recv(5))
        except BlockingIOError:
            root.after(5, close_window_once_echoed)
            return
        root.destroy()  # the user clicks the window's close box

    root.after(5, close_window_once_echoed)
    root.after(5000, root.destroy)  # a safety net only
    mainloop(reactor)
    assert echoed == [b"hello"]
    assert events == ["shut down"] and not reactor.running
    client.settimeout(5)
    assert client.recv(10) == b""  # the server closed our connection
    client.close()


def test_a_thread_wakes_the_hosted_reactor(mode: str) -> None:
    import threading

    reactor = Reactor(backend=TkBackend(mode=mode))
    got: list[str] = []
    threading.Thread(target=reactor.call_from_thread, args=(got.append, "hi")).start()
    reactor.call_later(0.5, reactor.stop)
    root = tk_backend_of(reactor).root
    root.after(3000, root.quit)  # a safety net only

    def check() -> None:
        if got:
            reactor.stop()
        else:
            root.after(5, check)

    root.after(5, check)
    started = time.monotonic()
    mainloop(reactor)
    assert got == ["hi"] and time.monotonic() - started < 0.45


def test_mainloop_refuses_other_backends() -> None:
    reactor = Reactor(backend="select")
    try:
        with pytest.raises(BackendError, match="needs Reactor\\(backend='tk'\\)"):
            mainloop(reactor)
    finally:
        reactor.close()


def test_no_descriptor_is_left_behind(mode: str) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        reactor = Reactor(backend=TkBackend(mode=mode))
        port = reactor.listen_tcp(0, Factory.for_protocol(Echo))
        client = socket.create_connection(port.address)
        reactor.call_later(0.05, reactor.stop)
        mainloop(reactor)
        client.close()
    assert len(os.listdir("/proc/self/fd")) == before

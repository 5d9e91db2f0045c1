"""The tk backend's waits and host hooks, pinned down (written from its mutation run).

`test_tk_backend.py` tells the story a GUI program sees; these tests pin
what that story leaves loose, each against a seeded bug that once passed
the suite (`python scripts/mutation.py tk`; RELIABILITY.md, "Mutation
testing"): how long and in what slices the standalone waits wait, what one
non-blocking sweep of Tk's loop reports, what the host hooks ask of Tk, and
that closing leaves no Tk timer behind.

Most tests look at the backend through `TkSpy`, a stand-in for the Tcl
interpreter that passes every call through and remembers the ones that
matter (loop turns, `after` delays, timer handlers), so each check is a count
or a value, not a race against the clock.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from conftest import _TK_SKIP

from minireactor import BackendError, Reactor
from minireactor.backends.base import READ, WRITE
from minireactor.backends.tk import SIGNAL_SLICE, TCL_FD_LIMIT, TkBackend, tk_problem
from minireactor.backends.tk_host import mainloop, stop_now, tk_backend_of

if TYPE_CHECKING:
    import tkinter  # imported in the fixture: a Python without Tk skips, not fails

pytestmark = [
    pytest.mark.timeout(30),  # each takes seconds; a seeded hang should cost little
    pytest.mark.skipif(_TK_SKIP is not None, reason=_TK_SKIP or ""),
    pytest.mark.usefixtures("tk_display"),
]

ON_MAIN = threading.current_thread() is threading.main_thread()


class _Timer:
    """A Tk timer handler the spy made: fired, deleted, or still pending."""

    def __init__(self, spy: TkSpy, ms: int, func: Callable[[], Any]) -> None:
        self.ms = ms
        self.state = "pending"

        def fire() -> None:
            self.state = "fired"
            func()

        self._token = spy.real.createtimerhandler(ms, fire)

    def deletetimerhandler(self) -> None:
        self.state = "deleted"
        self._token.deletetimerhandler()


class TkSpy:
    """The Tcl interpreter, passed through; remembers turns, `after` delays and timers."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.turns = 0  # dooneevent calls
        self.after_ms: list[int] = []  # the delays of `after MS script`
        self.timers: list[_Timer] = []

    def dooneevent(self, flags: int) -> int:
        self.turns += 1
        return int(self.real.dooneevent(flags))

    def call(self, *args: Any) -> Any:
        if args[0] == "after" and isinstance(args[1], int):
            self.after_ms.append(args[1])
        return self.real.call(*args)

    def createtimerhandler(self, ms: int, func: Callable[[], Any]) -> _Timer:
        timer = _Timer(self, ms, func)
        self.timers.append(timer)
        return timer

    def pending(self) -> list[_Timer]:
        return [t for t in self.timers if t.state == "pending"]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def spy_on(backend: TkBackend) -> TkSpy:
    spy = TkSpy(backend._tk)
    backend._tk = spy
    return spy


def drain_tk(backend: TkBackend, until: Callable[[], bool] = lambda: False) -> None:
    """Handle the Tk events pending now (at most 200), without waiting."""
    tk = backend.root.tk
    for _ in range(200):
        if until() or not tk.dooneevent(2):  # 2: TCL_DONT_WAIT
            return


@pytest.fixture(params=["native", "interval"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app_root() -> Iterator[tkinter.Tk]:
    """A window the application made (so it outlives the backend, which must leave it clean)."""
    import tkinter

    root = tkinter.Tk()
    root.withdraw()
    yield root
    root.destroy()


def write_later(fd: int, delay: float) -> threading.Timer:
    timer = threading.Timer(delay, os.write, (fd, b"x"))
    timer.start()
    return timer


# -- standalone waits: how long, in what slices -------------------------------------


def test_a_wait_without_timeout_ends_when_a_descriptor_is_ready(
    mode: str, pipe: tuple[int, int]
) -> None:
    backend = TkBackend(mode=mode)
    r, w = pipe
    try:
        backend.register(r, READ)
        writer = write_later(w, 0.1)
        assert backend.poll(None) == [(r, READ)]
        writer.join()
        backend.unregister(r)
    finally:
        backend.close()


def test_a_wait_takes_the_whole_timeout_and_no_more(mode: str) -> None:
    backend = TkBackend(mode=mode)
    try:
        start = time.monotonic()
        assert backend.poll(1.0) == []
        assert time.monotonic() - start >= 0.95  # a one-second wait is one second
        start = time.monotonic()
        assert backend.poll(0.05) == []
        assert time.monotonic() - start < 0.8  # then no second wait (of a second) follows
    finally:
        backend.close()


@pytest.mark.skipif(not ON_MAIN, reason="slices are cut only on the main thread")
def test_on_the_main_thread_tk_is_waited_for_in_slices_a_signal_can_end() -> None:
    backend = TkBackend(mode="native")
    spy = spy_on(backend)
    try:
        backend.poll(0.35)
        slice_ms = round(SIGNAL_SLICE * 1000)  # whole slices, then what is left of 0.35 s
        assert spy.after_ms and spy.after_ms[0] == max(spy.after_ms) == slice_ms
        spy.after_ms.clear()
        backend.poll(0.03)
        assert spy.after_ms and spy.after_ms[0] <= 30  # never a whole slice past the timeout
    finally:
        backend.close()


class _Interrupted(Exception):
    """What the test's signal handler raises, as Python's raises KeyboardInterrupt."""


@pytest.mark.skipif(not ON_MAIN, reason="Python handles signals on the main thread only")
def test_ctrl_c_gets_through_a_long_wait_on_tk() -> None:
    def interrupt(signum: int, frame: object) -> None:
        raise _Interrupted

    # SIGUSR2 stands in for Ctrl+C's SIGINT (pytest would take that one; and
    # pytest-timeout may use SIGALRM). Sent from a thread while Tk waits.
    backend = TkBackend(mode="native")
    previous = signal.signal(signal.SIGUSR2, interrupt)
    sender = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR2))
    try:
        start = time.monotonic()
        sender.start()
        with pytest.raises(_Interrupted):
            backend.poll(5.0)
        assert time.monotonic() - start < 2.0  # within a slice or so, not at the timeout
    finally:
        sender.join()
        signal.signal(signal.SIGUSR2, previous)
        backend.close()


def test_a_wait_leaves_no_tk_timer_and_no_tcl_error_behind(pipe: tuple[int, int]) -> None:
    backend = TkBackend(mode="native")
    tk = backend.root.tk
    errors: list[tuple[Any, ...]] = []
    handler = backend.root.register(lambda *args: errors.append(args))
    tk.call("interp", "bgerror", "", handler)
    r, w = pipe
    try:
        assert backend.poll(0.02) == []  # ended by its timer
        backend.register(r, READ)
        os.write(w, b"x")  # ready already: the wait ends long before its timer would
        assert backend.poll(5.0) == [(r, READ)]  # ended by the descriptor
        assert tk.call("after", "info") == ""  # the wait's timer was cancelled
        backend.unregister(r)
        drain_tk(backend)  # a background error is reported from an idle handler
        assert errors == []
    finally:
        backend.close()


def test_interval_waits_never_look_past_the_timeout() -> None:
    backend = TkBackend(mode="interval", interval=0.1)
    assert backend._selector is not None
    real = backend._selector.select
    waits: list[float | None] = []

    def select(timeout: float | None = None) -> Any:
        waits.append(timeout)
        return real(timeout)

    backend._selector.select = select  # type: ignore[method-assign]
    try:
        backend.poll(0.25)
        assert 1 <= len(waits) <= 6  # an interval at a time, no spinning
        assert all(t is not None and 0 <= t <= 0.1 for t in waits)
        assert waits[0] == pytest.approx(0.1, abs=0.02)
        waits.clear()
        backend.poll(0.03)
        assert waits and waits[0] is not None and waits[0] <= 0.03  # not a whole interval
    finally:
        backend.close()


def test_a_gui_callback_that_adds_work_ends_a_standalone_wait(mode: str) -> None:
    reactor = Reactor(backend=TkBackend(mode=mode))
    root = tk_backend_of(reactor).root
    served: list[float] = []
    clicked_at: list[float] = []

    def clicked() -> None:  # a Button's command, run by Tk while reactor.run() waits
        clicked_at.append(time.monotonic())
        reactor.call_soon(lambda: (served.append(time.monotonic()), reactor.stop()))

    root.after(50, clicked)
    reactor.call_later(5.0, reactor.stop)  # a safety net: the wait would end only here
    reactor.run()
    assert served and served[0] - clicked_at[0] < 1.0


# -- one non-blocking sweep of Tk's loop -----------------------------------------------


def test_one_sweep_reports_every_ready_descriptor_and_stops_at_a_repeat() -> None:
    backend = TkBackend(mode="native")
    spy = spy_on(backend)
    pipes = [os.pipe() for _ in range(2)]
    try:
        for r, w in pipes:
            backend.register(r, READ)
            os.write(w, b"x")
        spy.turns = 0
        assert sorted(backend.poll(0)) == sorted((r, READ) for r, _ in pipes)
        # Two new events and the repeat that ends the sweep (level-triggered:
        # Tk reports a readable pipe on every turn), not SWEEP_LIMIT turns.
        assert spy.turns <= 10
        for r, _ in pipes:
            backend.unregister(r)
    finally:
        backend.close()
        for fds in pipes:
            for fd in fds:
                os.close(fd)


def test_a_write_only_descriptor_is_not_reported_readable() -> None:
    backend = TkBackend(mode="native")
    a, b = socket.socketpair()
    a.setblocking(False)
    try:
        while True:  # fill a's send buffer: a is not writable
            try:
                a.send(b"x" * 65536)
            except BlockingIOError:
                break
        b.send(b"readable")  # but a is readable
        backend.register(a.fileno(), WRITE)
        assert backend.poll(0.2) == []
        backend.unregister(a.fileno())
    finally:
        backend.close()
        a.close()
        b.close()


# -- descriptors Tcl cannot watch ------------------------------------------------------


def test_native_refuses_exactly_from_the_limit_interval_mode_watches_past_it(
    pipe: tuple[int, int],
) -> None:
    native = TkBackend(mode="native")
    try:
        with pytest.raises(BackendError, match="below 1024"):
            native.register(TCL_FD_LIMIT, READ)
    finally:
        native.close()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    high = TCL_FD_LIMIT + 100
    if soft <= high:
        if hard != resource.RLIM_INFINITY and hard <= high:
            pytest.skip(f"RLIMIT_NOFILE's hard limit {hard} leaves no descriptor past {high}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (high + 1, hard))
    r, w = pipe
    os.dup2(r, high)
    interval = TkBackend(mode="interval")
    try:
        interval.register(high, READ)  # a private selector (epoll here) has no such limit
        os.write(w, b"x")
        assert interval.poll(1.0) == [(high, READ)]
        interval.unregister(high)
    finally:
        interval.close()
        os.close(high)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# -- the host hooks --------------------------------------------------------------------


def test_a_pass_asked_for_now_runs_on_the_next_turn_and_close_after_it_is_clean() -> None:
    backend = TkBackend(mode="native")
    ran: list[str] = []
    try:
        drain_tk(backend)
        backend._host_call_soon(lambda: ran.append("pass"))
        drain_tk(backend, until=lambda: bool(ran))  # no wait: it is due now, not in 1 ms
        assert ran == ["pass"]
    finally:
        backend.close()


def test_close_deletes_a_pending_pass_and_may_be_repeated() -> None:
    backend = TkBackend(mode="native", root=None)
    spy = spy_on(backend)
    ran: list[str] = []
    backend._host_call_soon(lambda: ran.append("pass"))
    backend.close()
    backend.close()  # closing twice is harmless
    assert [t.state for t in spy.timers] == ["deleted"] and ran == []


def test_host_timers_are_whole_milliseconds_rounded_up_and_cancel() -> None:
    backend = TkBackend(mode="native")
    spy = spy_on(backend)
    fired: list[float] = []
    try:
        for delay in (0.25, 0.0001, 0.2504):
            backend._host_call_later(delay, lambda d=delay: fired.append(d)).cancel()
        assert [t.ms for t in spy.timers] == [250, 1, 251]
        assert [t.state for t in spy.timers] == ["deleted"] * 3
        time.sleep(0.3)  # every one of them would be due by now
        drain_tk(backend)
        assert fired == []
    finally:
        backend.close()


def test_an_error_in_a_hosted_pass_is_logged_and_tk_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = TkBackend(mode="native")
    ran: list[str] = []
    try:
        backend._host_call_soon(lambda: 1 / 0)
        backend._host_call_later(0.0, lambda: [][0])
        backend._host_call_soon(lambda: ran.append("next"))
        with caplog.at_level("ERROR", logger="minireactor"):
            drain_tk(backend, until=lambda: len(caplog.records) >= 2 and bool(ran))
        failed = "a reactor pass hosted on Tk failed"
        assert [r.getMessage() for r in caplog.records] == [failed, failed]
        raised = [r.exc_info[0] for r in caplog.records if r.exc_info]
        assert raised == [ZeroDivisionError, IndexError]
        assert ran == ["next"]
    finally:
        backend.close()


@pytest.mark.parametrize("ending", ["stop, in a pass", "stop_now, after Tk's loop"])
@pytest.mark.parametrize("hosted_mode", ["native", "interval"])
def test_a_closed_reactor_leaves_no_tk_timer_in_the_applications_window(
    hosted_mode: str, ending: str, app_root: tkinter.Tk
) -> None:
    backend = TkBackend(app_root, mode=hosted_mode)
    spy = spy_on(backend)
    reactor = Reactor(backend=backend)
    reactor.call_later(30.0, lambda: None)  # a reactor timer, far away
    reactor.start()
    deadline = time.monotonic() + 5
    while len(spy.timers) < 2 and time.monotonic() < deadline:
        app_root.tk.dooneevent(2)  # the first passes, and the timers they arrange
    assert spy.pending()  # the driver's next tick (interval), or the 30 s timer (native)
    if ending.startswith("stop_now"):
        stop_now(reactor)  # the window's loop has returned: no pass will run again
    else:
        reactor.stop()
        deadline = time.monotonic() + 5
        while reactor.running and time.monotonic() < deadline:
            app_root.tk.dooneevent(2)
    assert not reactor.running
    assert spy.pending() == []  # nothing of the reactor's is left to fire in the app's Tk


# -- owning, finding and refusing a window ---------------------------------------------


class _NoFileHandlers:
    """Tk as on Windows: no createfilehandler."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        if name == "createfilehandler":
            raise AttributeError(name)
        return getattr(self._real, name)


def test_a_tk_without_file_handlers_gets_interval_mode_or_a_clear_refusal(
    app_root: tkinter.Tk,
) -> None:
    windows_like = SimpleNamespace(tk=_NoFileHandlers(app_root.tk), destroy=app_root.destroy)
    auto = TkBackend(windows_like, mode="auto")  # type: ignore[arg-type]
    assert auto.mode == "interval"
    auto.close()
    with pytest.raises(BackendError) as refused:
        TkBackend(windows_like, mode="native")  # type: ignore[arg-type]
    assert str(refused.value) == (
        "this Tk cannot watch descriptors (no createfilehandler, as on Windows): "
        "use TkBackend(mode='interval')"
    )
    assert app_root.winfo_exists()  # not ours: a refusal leaves the app's window alone
    native = TkBackend(app_root)
    assert native.mode == "native"  # where Tk can watch descriptors
    native.close()


def test_a_closed_backend_lets_go_of_its_window_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = TkBackend(mode="native")
    assert backend._owns_root  # no application window: the backend made one
    backend.root.destroy()  # gone already (say, closed by the user)
    with caplog.at_level("DEBUG", logger="minireactor"):
        backend.close()
    assert "the tk backend's own window was already destroyed" in caplog.messages
    with pytest.raises(BackendError, match=r"closed.*Reactor\(backend='tk'\)"):
        backend.root  # noqa: B018


def test_a_window_of_its_own_is_kept_off_the_screen() -> None:
    backend = TkBackend()
    try:
        assert backend._owns_root and backend.root.wm_state() == "withdrawn"
    finally:
        backend.close()


def test_a_display_that_does_not_answer_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":4242")  # no X server there
    with pytest.raises(BackendError, match=r"could not open a window on DISPLAY=':4242'.*xvfb"):
        TkBackend()


def test_no_tkinter_is_named_with_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "_tkinter" else real(name, *a)
    )
    assert tk_problem() == (
        "tkinter is not installed for this Python (on Debian or Ubuntu: "
        "apt install python3-tk; a pyenv Python needs tk-dev when it is built)"
    )
    with pytest.raises(BackendError, match="'tk' backend is not available: tkinter is not"):
        TkBackend()


def test_no_display_is_named_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY")
    assert tk_problem() == (
        "no display: DISPLAY is not set. Run under a desktop, or on a virtual one "
        "(xvfb-run python ..., or minireactor.lab.display.virtual_display())"
    )



# -- tk_host: mainloop, stop_now, tk_backend_of -------------------------------------


@pytest.mark.parametrize("window", ["the backend's own", "the application's"])
def test_reactor_stop_ends_tk_mainloop_at_once(window: str, request: pytest.FixtureRequest) -> None:
    # The backend destroys a window of its own when it closes, which ends
    # mainloop() too; the application's window stays, so only quit() ends it.
    if window == "the backend's own":
        reactor = Reactor(backend="tk")
        assert tk_backend_of(reactor)._owns_root
    else:
        reactor = Reactor(backend=TkBackend(request.getfixturevalue("app_root")))
    root = tk_backend_of(reactor).root
    root.after(10_000, root.quit)  # a safety net only: the stop must end the loop
    reactor.call_later(0.05, reactor.stop)
    start = time.monotonic()
    mainloop(reactor)
    assert time.monotonic() - start < 3.0 and not reactor.running


def test_stop_now_logs_a_failed_shutdown(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    reactor = Reactor(backend="tk")
    reactor.start()

    def failing() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(reactor, "shutdown", failing)
    with caplog.at_level("ERROR", logger="minireactor"):
        stop_now(reactor)
    assert caplog.messages == ["shutting down a reactor hosted on Tk failed"]
    monkeypatch.undo()
    reactor.shutdown()
    assert not reactor.running


def test_tk_backend_of_a_reactor_without_a_backend_says_which() -> None:
    with pytest.raises(BackendError, match=r"runs on the 'other' backend.*backend='tk'"):
        tk_backend_of(SimpleNamespace(backend_name="other"))  # type: ignore[arg-type]


def test_off_the_main_thread_a_wait_is_one_tk_wait_without_slices(pipe: tuple[int, int]) -> None:
    """A reactor on a thread of its own: no signals to let through, so no slices."""
    r, w = pipe
    seen: dict[str, Any] = {}

    def on_a_thread() -> None:
        backend = TkBackend(mode="native")  # a Tk of this thread's own, used only here
        spy = spy_on(backend)
        try:
            seen["timed"] = backend.poll(0.25), list(spy.after_ms)
            backend.register(r, READ)
            writer = write_later(w, 0.1)
            spy.after_ms.clear()
            seen["untimed"] = backend.poll(None), list(spy.after_ms)
            writer.join()
            backend.unregister(r)
        finally:
            backend.close()
            del backend, spy  # Tcl must be let go of on the thread that made it

    thread = threading.Thread(target=on_a_thread)
    thread.start()
    thread.join(30)
    assert seen["timed"] == ([], [250])  # one timer for the whole wait
    assert seen["untimed"] == ([(r, READ)], [])  # no timer at all: Tk waits for the pipe

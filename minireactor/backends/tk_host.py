"""Hosting a reactor on Tk's `mainloop()`: the drivers that run its passes.

A GUI program calls `root.mainloop()` and never returns until the window
closes, so the reactor cannot have a loop of its own there. `Reactor.start()`
returns at once and hands the reactor to the backend's `drive()`, which
makes one of these drivers:

* `TkDriver` (native mode): Tk's file handlers and one Tk timer say when the
  reactor has work: a descriptor became ready, the next reactor timer is due,
  or a GUI callback called `call_soon`/`call_later`/`stop`. Then, and only
  then, one non-blocking reactor pass runs (`reactor.iterate(0)`). Idle, it
  costs nothing: the reactor never blocks Tk and Tk never polls.
* `IntervalDriver` (interval mode): a Tk timer runs a non-blocking pass every
  `interval` seconds, whatever happens: Twisted's "run any reactor at brief
  intervals as the GUI event loop is running".

`mainloop(reactor)` is the one call a GUI program needs: start, run Tk's
loop, and shut the reactor down cleanly when the window closes (or close the
window's loop when the reactor stops). A program that runs Tk's loop itself
calls `reactor.start()` before and `stop_now(reactor)` after.

The reactor surface used here is small and listed in one place (the
functions at the bottom): `start`, `iterate`, `next_timeout`, `stopping`,
`shutdown`, `running`, its backend, and a notification when `call_soon`,
`call_at` or `stop` add work from outside a pass (the one hook a hosted
backend needs that a waiting backend does not).

Read next: `../demo/chat_gui.py`, a chat window built on this.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import BackendError

if TYPE_CHECKING:
    from ..reactor import Reactor
    from .tk import TkBackend

log = logging.getLogger("minireactor")


class TkDriver:
    """Native route: run a reactor pass when Tk says there is work, and only then."""

    def __init__(self, backend: TkBackend, reactor: Reactor) -> None:
        self._backend = backend
        self._tk: Any = backend.root.tk
        self._reactor = reactor
        self._pass: Any = None  # Tk timer handle of a pass asked for "now"
        self._in_pass = False
        self._timer: Any = None  # Tk timer handle of the reactor's next timer
        self._timer_due = 0.0
        notify_on_new_work(reactor, self.work_added)

    def start(self) -> None:
        self.schedule_pass()

    def schedule_pass(self) -> None:
        """Run one reactor pass on Tk's next turn (once, however often asked)."""
        if self._pass is None and not self._in_pass:
            self._pass = self._tk.createtimerhandler(0, self._run_pass)

    def work_added(self) -> None:
        """The reactor got work from outside a pass (a GUI callback, say)."""
        if not self._in_pass:
            self.schedule_pass()  # the pass's end recomputes the next wake-up

    def cancel(self) -> None:
        """Forget every Tk timer, and let go of Tk and of the reactor's methods."""
        for handle in (self._pass, self._timer):
            if handle is not None:
                handle.deletetimerhandler()
        self._pass = self._timer = None
        forget_new_work(self._reactor)
        self._tk = None  # see TkBackend.close: Tk must not outlive the reactor in a cycle

    def _run_pass(self) -> None:
        self._pass = None
        reactor = self._reactor
        if reactor_closed(reactor):
            return
        self._in_pass = True
        try:
            run_one_pass(reactor)
        finally:
            self._in_pass = False
        if reactor_stopping(reactor):
            finish_shutdown(reactor)  # outside the pass: shutdown runs passes of its own
            return
        # A callback that called root.update() may have let Tk note events
        # while the pass ran: they need a pass now, whatever the timers say.
        self._arrange_next(0.0 if self._backend.has_noted() else next_timeout(reactor))

    def _arrange_next(self, delay: float | None) -> None:
        """Be back when the reactor next has work: now, at its next timer, or on I/O."""
        if delay is None:
            self._cancel_timer()
        elif delay <= 0:
            self._cancel_timer()
            self.schedule_pass()
        else:
            due = self._reactor.seconds() + delay
            # Keep a pending Tk timer that is already at (about) that time.
            if self._timer is None or abs(self._timer_due - due) > 0.0005:
                self._cancel_timer()
                self._timer_due = due
                # Whole milliseconds, rounded up: early would mean an empty pass.
                self._timer = self._tk.createtimerhandler(math.ceil(delay * 1000), self._fired)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.deletetimerhandler()
            self._timer = None

    def _fired(self) -> None:
        self._timer = None
        self.schedule_pass()


class IntervalDriver:
    """Interval route: one non-blocking reactor pass every `interval` seconds."""

    def __init__(self, backend: TkBackend, reactor: Reactor) -> None:
        self._tk: Any = backend.root.tk
        self._reactor = reactor
        self._ms = max(1, round(backend.interval * 1000))
        self._timer: Any = None

    def start(self) -> None:
        self._timer = self._tk.createtimerhandler(0, self._tick)

    def schedule_pass(self) -> None:
        """Nothing to do: the next tick comes anyway (that is the interval route's cost)."""

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.deletetimerhandler()
            self._timer = None
        self._tk = None  # see TkBackend.close

    def _tick(self) -> None:
        self._timer = None
        reactor = self._reactor
        if reactor_closed(reactor):
            return
        run_one_pass(reactor)
        if reactor_stopping(reactor):
            finish_shutdown(reactor)
            return
        self._timer = self._tk.createtimerhandler(self._ms, self._tick)


def mainloop(reactor: Reactor) -> None:
    """Run Tk's mainloop() with `reactor` hosted on it, until one of them ends.

    When the reactor stops (`reactor.stop()` from a button, say), it shuts
    down and Tk's loop returns; when the window is closed first, the reactor
    is stopped and shut down cleanly here. Either way, on return the reactor
    is closed.

    Raises:
        BackendError: `reactor` is not on the tk backend.
    """
    backend = tk_backend_of(reactor)
    root = backend.root
    reactor.add_system_event_trigger("after", "shutdown", root.quit)
    if not reactor.running:
        reactor.start()
    root.mainloop()
    stop_now(reactor)  # if the window went first


def stop_now(reactor: Reactor) -> None:
    """Stop a hosted reactor and shut it down at once, from outside Tk's loop.

    For when Tk's `mainloop()` has returned (so no pass will run again) and
    the reactor is still running: it stops, flushes and closes its
    connections, runs its shutdown triggers and closes. Harmless otherwise.
    """
    if reactor.running:
        reactor.stop()
        finish_shutdown(reactor)


# -- the reactor surface a hosted driver uses (one place to adapt) --------------------


def tk_backend_of(reactor: Reactor) -> TkBackend:
    """The `TkBackend` under `reactor`.

    Raises:
        BackendError: `reactor` runs on another backend.
    """
    from .tk import TkBackend

    backend = getattr(reactor, "_raw_backend", None)
    if not isinstance(backend, TkBackend):
        raise BackendError(
            f"this reactor runs on the {reactor.backend_name!r} backend; a Tk window needs "
            f"Reactor(backend='tk') or Reactor(backend=TkBackend(root))"
        )
    return backend


def run_one_pass(reactor: Reactor) -> None:
    """One non-blocking pass; nothing it raises may reach Tk (it would end mainloop())."""
    try:
        reactor.iterate(0.0)
    except Exception:
        log.exception("a reactor pass hosted on Tk failed")


def next_timeout(reactor: Reactor) -> float | None:
    """0.0 when callbacks are ready, the delay to the next timer, or None (I/O only)."""
    return reactor.next_timeout()


def reactor_stopping(reactor: Reactor) -> bool:
    return reactor.stopping


def reactor_closed(reactor: Reactor) -> bool:
    return bool(reactor._closed)


def finish_shutdown(reactor: Reactor) -> None:
    """After stop(): shutdown triggers, ports and connections closed, reactor closed."""
    try:
        reactor.shutdown()
    except Exception:
        log.exception("shutting down a reactor hosted on Tk failed")


def notify_on_new_work(reactor: Reactor, work_added: Callable[[], None]) -> None:
    """Call `work_added()` after `reactor.call_soon`/`call_at`/`stop` (outside a pass too).

    Wraps the three methods on this one reactor instance, as the asyncio
    backend does, so that reactors on other backends pay nothing.
    """
    for name in ("call_soon", "call_at", "stop"):
        method = getattr(reactor, name)

        def notifying(*args: Any, _method: Any = method) -> Any:
            result = _method(*args)
            work_added()
            return result

        setattr(reactor, name, notifying)


def forget_new_work(reactor: Reactor) -> None:
    """Undo `notify_on_new_work` (the wrappers hold the driver, and so Tk)."""
    for name in ("call_soon", "call_at", "stop"):
        reactor.__dict__.pop(name, None)

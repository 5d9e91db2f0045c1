"""The `tk` backend: minireactor inside a Tk window's event loop.

A GUI toolkit has an event loop of its own: Tk's `mainloop()` waits for
mouse clicks, key presses and "please repaint" messages from the display
server, and runs their callbacks. A callback that blocks (a `recv()`, a
`time.sleep()`) stops that loop, and the window freezes. So the network
must be waited for by the same loop, never beside it. Twisted's reactor
paper names two routes; this file has both, chosen by `mode`:

* *native* (Unix): Tk watches our descriptors. `register(fd, ...)` becomes
  `tk.createfilehandler(fd, mask, ...)`, so Tcl's notifier waits for the
  network, the display and Tk's own timers in one place. Cost model: on a
  threaded Tcl (every Linux distribution's) the notifier is a thread doing
  select(2) over all file handlers; each file event crosses from it to the
  Tk thread (about 0.1-0.3 ms here), and since it is select(2), descriptors
  at or above 1024 cannot be watched at all (`register` refuses them).
* *interval* (Windows, where Tk has no `createfilehandler`): Tk knows
  nothing of our descriptors; a private selector watches them, and the
  reactor looks at it without waiting, every `interval` seconds. Cost
  model: up to `interval` of added latency on every event, and a wake-up
  every `interval` even when nothing happens (idle CPU); both are measured
  by `minireactor.lab.gui_lag.interval_cost()`.

Who waits? Standalone (`reactor.run()` or `iterate()`), `poll(timeout)`
turns Tk's loop (`tk.dooneevent`) until one of our descriptors is ready or
the timeout expires, so the window stays live while the reactor runs (on
the main thread, in slices of at most 0.1 s, so that Ctrl+C gets through).
Hosted (`reactor.start()`, then Tk's own `mainloop()`), Tk waits: this is
a `HostedBackend` (`hosted.py`) whose three host hooks are Tk's
`createfilehandler`, `createtimerhandler(0, ...)` and
`createtimerhandler(ms, ...)`, so `HostDriver` runs a reactor pass only when
there is work, and `poll` only hands back what Tk noted. In interval mode,
`IntervalDriver` (at the bottom) runs a pass every `interval` instead.

Read next: `tk_host.py` (`mainloop(reactor)`), then `../demo/chat_gui.py`.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import selectors
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import BackendError, FileDescriptorTooLarge
from .base import READ, WRITE
from .hosted import Cancel, Hostable, HostDriver, HostedBackend

if TYPE_CHECKING:
    import tkinter

log = logging.getLogger("minireactor")

TCL_FD_LIMIT = 1024
"""Tcl's Unix notifier uses select(2): descriptors at or above this cannot be watched."""
SIGNAL_SLICE = 0.1
"""Longest single wait in Tk's loop on the main thread, so that Ctrl+C gets through."""
SWEEP_LIMIT = 1000
"""Most Tk events handled by one non-blocking sweep, so a pass always ends."""
# Tcl's flags for tk.dooneevent(): 2 is TCL_DONT_WAIT (tkinter.DONT_WAIT),
# and 0 means "all kinds of event, and wait for one".
_DONT_WAIT = 2
_READABLE, _WRITABLE, _EXCEPTION = 2, 4, 8  # tkinter.READABLE, WRITABLE, EXCEPTION


def tk_problem() -> str | None:
    """Why the tk backend cannot work on this machine now, or None if it can."""
    if importlib.util.find_spec("_tkinter") is None:
        return (
            "tkinter is not installed for this Python (on Debian or Ubuntu: "
            "apt install python3-tk; a pyenv Python needs tk-dev when it is built)"
        )
    if sys.platform in ("win32", "darwin"):
        return None  # Tk draws on the native window system, always there
    if not os.environ.get("DISPLAY"):
        return (
            "no display: DISPLAY is not set. Run under a desktop, or on a virtual one "
            "(xvfb-run python ..., or minireactor.lab.display.virtual_display())"
        )
    return None


class TkBackend(HostedBackend):
    """Readiness reported through Tk's event loop (natively, or by polling at intervals).

    Args:
        root: the application's `tkinter.Tk()`. By default the one it already
            made (tkinter's default root), or else a new, hidden one that
            this backend destroys when it closes.
        mode: "native" (Tk watches the descriptors), "interval" (a pass every
            `interval` seconds), or "auto": native where Tk can do it.
        interval: seconds between passes in interval mode (default 5 ms).

    Raises:
        BackendError: no display or no tkinter here, or an unknown mode.
    """

    name = "tk"

    def __init__(
        self, root: tkinter.Misc | None = None, *, mode: str = "auto", interval: float = 0.005
    ) -> None:
        if mode not in ("auto", "native", "interval"):
            raise BackendError(f"unknown tk mode {mode!r}: choose 'native', 'interval' or 'auto'")
        if interval <= 0:
            raise BackendError(f"interval must be a positive number of seconds, not {interval}")
        self._root: tkinter.Misc | None
        self._root, self._owns_root = _find_root(root)
        self._tk: Any = self._root.tk
        native_ok = hasattr(self._tk, "createfilehandler")
        if mode == "auto":
            mode = "native" if native_ok else "interval"
        if mode == "native" and not native_ok:
            if self._owns_root:
                self._root.destroy()
            raise BackendError(
                "this Tk cannot watch descriptors (no createfilehandler, as on Windows): "
                "use TkBackend(mode='interval')"
            )
        super().__init__()
        self.mode = mode
        self.interval = interval
        self._repeated = False  # the last file event only repeated a noted one
        self._work_added = False  # the core got work during a standalone wait
        self._selector = selectors.DefaultSelector() if mode == "interval" else None
        self._soon: Any = None  # Tk's token for the pass asked for "now", if pending
        # Turn Tk's loop once now: a threaded Tcl starts its notifier thread
        # (and that thread's pipe) lazily, and aborts the whole process if the
        # pipe cannot be made later, when a server has used up its descriptors.
        self._sweep()

    @property
    def root(self) -> tkinter.Misc:
        """The window whose loop this backend uses.

        Raises:
            BackendError: the backend is closed (it lets go of Tk then).
        """
        if self._root is None:
            raise BackendError("this tk backend is closed; make a new Reactor(backend='tk')")
        return self._root

    @classmethod
    def is_available(cls) -> bool:
        """True when tkinter imports and there is a display to open windows on."""
        return tk_problem() is None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why `is_available()` is False, in words (None when it is True)."""
        return tk_problem()

    def host(self, core: Hostable) -> None:
        """Run `core`'s passes from Tk's loop (`Reactor.start()` calls this)."""
        if self._selector is None:
            super().host(core)  # native: HostDriver, a pass when Tk says there is work
        else:
            driver = IntervalDriver(self, core)
            self.driver = driver
            driver.start()

    # -- the Backend interface and the host hooks ---------------------------------

    def register(self, fd: int, events: int) -> None:
        if self.mode == "native" and fd >= TCL_FD_LIMIT:
            raise FileDescriptorTooLarge(
                f"the tk backend cannot watch descriptor {fd}: Tcl's notifier uses select(2), "
                f"which only handles descriptors below {TCL_FD_LIMIT}. Use "
                f"TkBackend(mode='interval'), or run the reactor on its own thread."
            )
        super().register(fd, events)

    def _host_watch(self, fd: int, old: int, new: int) -> None:
        """Make Tk's (or, in interval mode, the private selector's) interest match `new`."""
        if self._selector is not None:
            mask = _selector_mask(new)
            if old and mask:
                self._selector.modify(fd, mask)
            elif mask:
                self._selector.register(fd, mask)
            elif old:
                self._selector.unregister(fd)
            return
        # _tkinter keeps one record per createfilehandler call: delete the old
        # handler before making a new one, or the old record leaks.
        if old:
            self._tk.deletefilehandler(fd)
        if new:
            mask = (_READABLE if new & READ else 0) | (_WRITABLE if new & WRITE else 0)
            self._tk.createfilehandler(fd, mask, self._on_file)

    def _host_call_soon(self, func: Callable[[], Any]) -> None:
        def soon() -> None:
            self._soon = None
            _guarded(func)

        self._soon = self._tk.createtimerhandler(0, soon)

    def _host_call_later(self, delay: float, func: Callable[[], Any]) -> Cancel:
        ms = math.ceil(delay * 1000)  # whole milliseconds, rounded up: early = an empty pass
        return _TkTimer(self._tk.createtimerhandler(ms, lambda: _guarded(func)))

    def _on_file(self, fd: int, mask: int) -> None:
        """Tk says `fd` is ready (a Tk file handler)."""
        # Hang-ups and errors count as readable, as in select(2): the read says what happened.
        ours = (READ if mask & (_READABLE | _EXCEPTION) else 0) | (WRITE if mask & _WRITABLE else 0)
        self._note(fd, ours)

    def _note(self, fd: int, event: int) -> None:
        before = self._noted.get(fd, 0)
        self._repeated = before | event == before  # Tk said it already (see _sweep)
        super()._note(fd, event)  # hosted: asks HostDriver for a pass

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        if self.driver is None:  # standalone: the reactor waits, turning Tk's loop
            if self._selector is not None:
                self._wait_at_intervals(timeout)
            else:
                if not self._noted and timeout != 0:
                    self._wait_for_tk(timeout)
                self._sweep()
            timeout = 0.0
        elif self._selector is not None:  # hosted, interval: only the selector knows
            self._select(timeout)
            timeout = 0.0
        # Hosted, native: Tk did the waiting. A wait here only happens at
        # shutdown, inside a Tk callback, so HostedBackend waits directly,
        # without turning Tk's loop again.
        return super().poll(timeout)

    def work_added(self) -> None:
        self._work_added = True  # a GUI callback added work: a standalone wait ends
        super().work_added()  # hosted: HostDriver asks for a pass

    def _wait_at_intervals(self, timeout: float | None) -> None:
        """Interval mode, standalone: look at our descriptors, let Tk catch up, repeat.

        Twisted's `tksupport` the other way round: here the reactor waits,
        and Tk's pending events are handled every `interval` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        self._work_added = False
        while True:
            left = self.interval if deadline is None else deadline - time.monotonic()
            self._select(max(0.0, min(left, self.interval)))
            self._sweep()
            if self._noted or self._work_added:
                return
            if deadline is not None and time.monotonic() >= deadline:
                return

    def _wait_for_tk(self, timeout: float | None) -> None:
        """Turn Tk's loop until a descriptor of ours is ready, work is added, or time is up.

        Discussion: a signal (Ctrl+C) does not end Tk's wait, as it ends
        epoll_wait(2): on a threaded Tcl this thread sleeps on a condition
        variable while the notifier thread select()s. So on the main thread,
        where Python handles signals, the wait is cut into slices of
        SIGNAL_SLICE seconds. The timer that ends a slice is a Tcl script,
        not a Python callback: Python's signal handler must run after
        `dooneevent` returns, in our frame, because a KeyboardInterrupt
        raised inside a Tk callback is swallowed by tkinter.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        on_main = threading.current_thread() is threading.main_thread()
        self._work_added = False
        while not (self._noted or self._work_added):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            if on_main:
                left = SIGNAL_SLICE if left is None else min(left, SIGNAL_SLICE)
            # Tk's timers count whole milliseconds; rounding up never wakes us early.
            timer = None if left is None else self._tk.call("after", math.ceil(left * 1000), "")
            try:
                self._tk.dooneevent(0)
            finally:
                if timer is not None:
                    self._tk.call("after", "cancel", timer)

    def _sweep(self) -> None:
        """Handle the Tk events already pending (repaints, clicks, file events), without waiting.

        Discussion: Tcl's file events are level-triggered. A descriptor we
        noted stays readable until the reactor reads it, after this poll, so
        Tk reports it again on every turn; a sweep that went on until Tk had
        nothing left would spin SWEEP_LIMIT times. So it stops at the first
        event that only repeats what was already noted.
        """
        for _ in range(SWEEP_LIMIT):
            self._repeated = False
            if not self._tk.dooneevent(_DONT_WAIT) or self._repeated:
                break

    def _select(self, timeout: float | None) -> None:
        """Interval mode: wait on our descriptors with the private selector, without Tk.

        Only this notes events in interval mode, and each poll hands them all over."""
        assert self._selector is not None
        for key, mask in self._selector.select(timeout):
            self._noted[key.fd] = (READ if mask & selectors.EVENT_READ else 0) | (
                WRITE if mask & selectors.EVENT_WRITE else 0
            )

    def close(self) -> None:
        if self._soon is not None:  # a pending pass would keep the core alive in Tk
            self._soon.deletetimerhandler()
            self._soon = None
        super().close()  # unregisters every descriptor, cancels the driver's timer
        if self._selector is not None:
            self._selector.close()
        root, self._root, self._tk = self._root, None, None
        if root is not None and self._owns_root:
            try:
                root.destroy()
            except Exception:  # tkinter.TclError: the window is already gone, as we wanted
                log.debug("the tk backend's own window was already destroyed")
        # Discussion: letting go of Tk here matters. A reactor usually sits in
        # reference cycles (connections point back at it), so the garbage
        # collector frees it, in whatever thread happens to allocate then; if
        # it still held Tk, Tcl would be deleted from the wrong thread, and
        # Tcl aborts the whole process when that happens.


class IntervalDriver(HostDriver):
    """Interval route: one non-blocking pass every `interval` seconds, whatever happens.

    Twisted's "run any reactor at brief intervals as the GUI event loop is
    running". Asking for a pass does nothing: the next tick comes anyway.
    """

    def __init__(self, backend: TkBackend, core: Hostable) -> None:
        super().__init__(backend, core)
        self._interval = backend.interval

    def start(self) -> None:
        self._timer = self._backend._host_call_later(0.0, self._tick)

    def schedule_pass(self) -> None:
        """Nothing to do: the next tick comes anyway (that is the interval route's cost)."""

    def _tick(self) -> None:
        self._timer = None
        self._run_pass()  # a pass; shutdown after stop(); then _arrange_next

    def _arrange_next(self, delay: float | None) -> None:
        self._timer = self._backend._host_call_later(self._interval, self._tick)


class _TkTimer:
    """What `_host_call_later` returns: `cancel()` deletes the Tk timer."""

    def __init__(self, token: Any) -> None:
        self._token = token

    def cancel(self) -> None:
        self._token.deletetimerhandler()


def _guarded(func: Callable[[], Any]) -> None:
    """Run a host callback; nothing it raises may reach Tk (it would end mainloop())."""
    try:
        func()
    except Exception:
        log.exception("a reactor pass hosted on Tk failed")


def _selector_mask(events: int) -> int:
    return (selectors.EVENT_READ if events & READ else 0) | (
        selectors.EVENT_WRITE if events & WRITE else 0
    )


def _find_root(root: tkinter.Misc | None) -> tuple[tkinter.Misc, bool]:
    """The window to host on, and whether we made it (and so must destroy it)."""
    if root is not None:
        return root, False
    problem = tk_problem()
    if problem is not None:
        raise BackendError(f"the 'tk' backend is not available: {problem}")
    import tkinter  # here, not at the top: most reactors never need it

    default = getattr(tkinter, "_default_root", None)
    if default is not None:
        return default, False
    try:
        made = tkinter.Tk()
    except tkinter.TclError as exc:
        raise BackendError(
            f"the 'tk' backend could not open a window on DISPLAY={os.environ.get('DISPLAY')!r}: "
            f"{exc}. Is the display server running? (xvfb-run starts a virtual one)"
        ) from None
    made.withdraw()  # a window only for waiting: keep it off the screen
    return made, True

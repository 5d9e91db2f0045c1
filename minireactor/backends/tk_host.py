"""Hosting a reactor on Tk's `mainloop()`: the one call a GUI program needs.

A GUI program calls `root.mainloop()` and never returns until the window
closes, so the reactor cannot have a loop of its own there. `Reactor.start()`
returns at once and hands the loop core to the backend's `host()`:

* native mode: `HostDriver` (`hosted.py`) runs one non-blocking pass when
  Tk says there is work: a file handler fired, the next reactor timer is
  due, or a GUI callback called `call_soon`/`call_later`/`stop` (the core
  tells the backend, `work_added()`). Idle, it costs nothing: the reactor
  never blocks Tk and Tk never polls.
* interval mode: `tk.IntervalDriver` runs a pass every `interval` seconds,
  whatever happens.

`mainloop(reactor)` starts the reactor, runs Tk's loop, and shuts the
reactor down cleanly when the window closes (or ends Tk's loop when the
reactor stops). A program that runs Tk's loop itself calls
`reactor.start()` before and `stop_now(reactor)` after.

What these functions ask of a reactor is `TkHosted` below: the hosting
surface of `hosted.Hostable` plus `start`, `stop`, `running` and a shutdown
trigger. A backend may not import `Reactor` (it sits in a layer above; see
`tests/test_layers.py`), so it is written as a Protocol that `Reactor` meets.

Read next: `../demo/chat_gui.py`, a chat window built on this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from ..errors import BackendError
from .hosted import Hostable
from .tk import TkBackend

log = logging.getLogger("minireactor")


class TkHosted(Hostable, Protocol):
    """What `mainloop` and `stop_now` use of a reactor (`minireactor.Reactor` is one)."""

    backend_name: str

    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def add_system_event_trigger(
        self, phase: str, event: str, func: Callable[..., Any], *args: Any
    ) -> Any: ...


def mainloop(reactor: TkHosted) -> None:
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


def stop_now(reactor: TkHosted) -> None:
    """Stop a hosted reactor and shut it down at once, from outside Tk's loop.

    For when Tk's `mainloop()` has returned (so no pass will run again) and
    the reactor is still running: it stops, flushes and closes its
    connections, runs its shutdown triggers and closes. Harmless otherwise.
    """
    if reactor.running:
        reactor.stop()
        try:
            reactor.shutdown()
        except Exception:
            log.exception("shutting down a reactor hosted on Tk failed")


def tk_backend_of(reactor: TkHosted) -> TkBackend:
    """The `TkBackend` under `reactor`.

    Raises:
        BackendError: `reactor` runs on another backend.
    """
    backend = getattr(reactor, "_raw_backend", None)  # the core's backend, never wrapped
    if not isinstance(backend, TkBackend):
        raise BackendError(
            f"this reactor runs on the {reactor.backend_name!r} backend; a Tk window needs "
            f"Reactor(backend='tk') or Reactor(backend=TkBackend(root))"
        )
    return backend

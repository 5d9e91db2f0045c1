"""Hosted backends: another loop does the waiting, the reactor rides on it.

Jupyter's kernel runs an asyncio loop; a Tk program runs Tk's mainloop. In
both, the host loop must keep control (a notebook cell, a GUI callback must
return), so the reactor cannot block in `run()`. A hosted backend inverts
who waits:

* `register(fd, ...)` asks the *host* to watch the descriptor
  (`_host_watch`: asyncio's `add_reader`/`add_writer`, Tk's
  `createfilehandler`). When the host reports it ready, `_note` records the
  event and asks for one reactor pass (several events share a pass).
* A pass is `core.iterate(0)`: `poll(0)` returns the events noted since the
  last pass, and the core runs ready callbacks, I/O and due timers exactly as
  on any backend. After the pass, `HostDriver` asks `core.next_timeout()`
  when to come back: at once, at the next timer, or only on I/O.

The hook, and all a new host needs to write (`asyncio_hosted.py` is one):

    class MyHost(HostedBackend):
        name = "myhost"
        def _host_watch(self, fd, old, new): ...   # make the host watch `new` events
        def _host_call_soon(self, func): ...       # run func() on the host's next turn
        def _host_call_later(self, delay, func): ... # run it in `delay` s; returns a cancel()

`Reactor.start()` hands the core to `host(core)`; the core tells the backend
about work added from outside a pass (`work_added()`, e.g. `call_soon` in a
notebook cell). Nothing is replaced on the reactor instance.

Read next: `asyncio_hosted.py`, a host in 80 lines.
"""

from __future__ import annotations

import abc
import selectors
import time
from collections.abc import Callable
from typing import Any, Protocol

from .base import READ, WRITE, Backend


class Cancel(Protocol):
    """What `_host_call_later` returns: asyncio's TimerHandle, or a wrapper of Tk's after id."""

    def cancel(self) -> Any: ...


class Hostable(Protocol):
    """What a host loop needs from the loop core to drive its passes."""

    def iterate(self, timeout: float = 0.0) -> None: ...

    def next_timeout(self) -> float | None: ...

    @property
    def stopping(self) -> bool: ...

    @property
    def closed(self) -> bool: ...

    def shutdown(self) -> None: ...


class HostedBackend(Backend):
    """A backend whose waiting is done by a host loop; see the module docstring."""

    def __init__(self) -> None:
        self._watched: dict[int, int] = {}  # fd -> the events the host watches for
        self._noted: dict[int, int] = {}  # fd -> events the host reported since the last pass
        self.driver: HostDriver | None = None

    # -- the hook a host implements ---------------------------------------------

    @abc.abstractmethod
    def _host_watch(self, fd: int, old: int, new: int) -> None:
        """Make the host watch `fd` for `new` events (it watched `old`); call `_note` when ready."""

    @abc.abstractmethod
    def _host_call_soon(self, func: Callable[[], Any]) -> None:
        """Run `func()` on the host loop's next turn."""

    @abc.abstractmethod
    def _host_call_later(self, delay: float, func: Callable[[], Any]) -> Cancel:
        """Run `func()` on the host loop in `delay` seconds; the result cancels it."""

    def _host_time(self) -> float:
        """The host's clock (seconds); only differences are used. Default: monotonic."""
        return time.monotonic()

    # -- driving ------------------------------------------------------------------

    def host(self, core: Hostable) -> None:
        """Run `core`'s passes from the host loop from now on (`Reactor.start()` calls this)."""
        self.driver = HostDriver(self, core)
        self.driver.schedule_pass()

    def work_added(self) -> None:
        """The core got a callback, a timer or `stop()` from outside a pass."""
        if self.driver is not None:
            self.driver.work_added()

    # -- the Backend interface ----------------------------------------------

    def register(self, fd: int, events: int) -> None:
        if fd in self._watched:
            raise KeyError(f"descriptor {fd} is already registered")
        self._watched[fd] = 0
        self.modify(fd, events)

    def modify(self, fd: int, events: int) -> None:
        self._host_watch(fd, self._watched[fd], events)
        self._watched[fd] = events

    def unregister(self, fd: int) -> None:
        self.modify(fd, 0)
        del self._watched[fd]
        self._noted.pop(fd, None)  # a stale event must not reach a reused fd

    def _note(self, fd: int, event: int) -> None:
        """The host says `fd` is ready: remember it and make sure a pass follows."""
        self._noted[fd] = self._noted.get(fd, 0) | event
        if self.driver is not None:
            self.driver.schedule_pass()

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        if not self._noted and timeout != 0:
            self._wait_directly(timeout)
        ready = list(self._noted.items())
        self._noted.clear()
        return ready

    def _wait_directly(self, timeout: float | None) -> None:
        """Block on our own descriptors, without the host loop.

        Discussion: a hosted core blocks only while it flushes connections
        during shutdown, which runs inside one host callback; the host cannot
        report events meanwhile, so we ask the kernel ourselves.
        """
        with selectors.DefaultSelector() as selector:
            for fd, events in self._watched.items():
                mask = (selectors.EVENT_READ if events & READ else 0) | (
                    selectors.EVENT_WRITE if events & WRITE else 0
                )
                if mask:
                    selector.register(fd, mask)
            for key, mask in selector.select(timeout):
                ours = (READ if mask & selectors.EVENT_READ else 0) | (
                    WRITE if mask & selectors.EVENT_WRITE else 0
                )
                self._noted[key.fd] = self._noted.get(key.fd, 0) | ours

    def close(self) -> None:
        for fd in list(self._watched):
            self.unregister(fd)
        if self.driver is not None:
            self.driver.cancel()
            self.driver = None


class HostDriver:
    """Schedules a core's passes on the host loop: now, at its next timer, or on I/O."""

    def __init__(self, backend: HostedBackend, core: Hostable) -> None:
        self._backend = backend
        self._core = core
        self._pass_scheduled = False
        self._in_pass = False
        self._timer: Cancel | None = None
        self._timer_due = 0.0

    def schedule_pass(self) -> None:
        """Run one pass on the host loop's next turn (once, however often asked)."""
        if not self._pass_scheduled and not self._in_pass:
            self._pass_scheduled = True
            self._backend._host_call_soon(self._run_pass)

    def work_added(self) -> None:
        if not self._in_pass:
            self.schedule_pass()  # the pass's end recomputes the next wake-up

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _run_pass(self) -> None:
        self._pass_scheduled = False
        core = self._core
        if core.closed:
            return
        self._in_pass = True
        try:
            core.iterate(0.0)
        finally:
            self._in_pass = False
        if core.stopping:
            core.shutdown()  # outside the pass: shutdown runs passes of its own
            return
        # A callback that turned the host's loop itself (Tk's root.update())
        # let it report I/O during the pass, when no pass could be asked for:
        # those events need a pass now, whatever the timers say.
        self._arrange_next(0.0 if self._backend._noted else core.next_timeout())

    def _arrange_next(self, delay: float | None) -> None:
        """Be back when the core next has work: now, at its next timer, or on I/O."""
        if delay is None:
            self.cancel()
        elif delay <= 0:
            self.cancel()
            self.schedule_pass()
        else:
            due = self._backend._host_time() + delay
            # Keep a pending timer that is already at (about) that time.
            if self._timer is None or abs(self._timer_due - due) > 0.0005:
                self.cancel()
                self._timer_due = due
                self._timer = self._backend._host_call_later(delay, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        self.schedule_pass()

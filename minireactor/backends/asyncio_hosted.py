"""The `asyncio` backend: minireactor hosted on an asyncio loop that is already running.

Jupyter's kernel runs an asyncio loop, and a notebook cell must return for
the next one to run: a cell cannot call `reactor.run()`, which blocks until
`stop()`. So this backend inverts who waits. The asyncio loop waits; the
reactor rides on it:

* `register(fd, ...)` becomes `loop.add_reader(fd, ...)` / `add_writer`.
  When asyncio reports the descriptor ready, we note it and schedule one
  reactor pass with `loop.call_soon` (several events share one pass).
* A pass is `reactor.iterate(0)`: `poll(0)` returns the events noted since
  the last pass, and the reactor runs ready callbacks, I/O and due timers
  exactly as it does on any backend.
* After each pass, `AsyncioDriver` asks the reactor when it next needs to
  run (`next_timeout()`): at once (callbacks ready), at the next timer
  (one `loop.call_later`, replaced when that time changes), or only on I/O.

So a server started in one cell keeps serving while later cells run, and
`reactor.stop()` in a later cell shuts it down on the loop's next turn.

Discussion: `poll(timeout)` with a timeout above zero is still honoured,
by waiting on our descriptors with a private selector. The reactor does
that only when it must block: while it flushes connections during
shutdown. A hosted reactor never calls `run()`: `Reactor.start()` returns
at once, and this backend's `drive()` takes over.

Read next: `../jupyter.py`, the one-liner for notebooks.
"""

from __future__ import annotations

import selectors
import sys
import threading
from typing import TYPE_CHECKING, Any

from ..errors import BackendError
from .base import READ, WRITE, Backend

if TYPE_CHECKING:
    import asyncio

    from ..reactor import Reactor


class AsyncioHostedBackend(Backend):
    """Readiness reported by a running asyncio loop; reactor passes scheduled on it.

    Args:
        loop: the host loop; by default the one running in this thread.

    Raises:
        BackendError: no asyncio loop is running here (and none was given).
    """

    name = "asyncio"

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is None:
            import asyncio  # here, not at the top: a plain reactor never needs it

            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise BackendError(
                    "the 'asyncio' backend hosts minireactor on an asyncio loop that is already "
                    "running (as in Jupyter): create the Reactor inside a coroutine or a notebook "
                    "cell, or choose another backend (minireactor.available_backends())"
                ) from None
        self.loop = loop
        self._watched: dict[int, tuple[int, Any]] = {}  # fd -> (events, handler)
        self._noted: dict[int, int] = {}  # fd -> events asyncio reported since the last pass
        self.driver: AsyncioDriver | None = None
        self._loop_thread = threading.get_ident()
        super().__init__()  # registers the waker, through register() below

    @classmethod
    def is_available(cls) -> bool:
        """True while an asyncio loop runs in this thread (there is something to host on)."""
        asyncio = sys.modules.get("asyncio")
        if asyncio is None:
            return False  # not even imported, so certainly not running
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def drive(self, reactor: Reactor) -> None:
        """Run `reactor`'s passes from the host loop from now on (`Reactor.start()` calls this)."""
        self.driver = AsyncioDriver(self, reactor)
        self.driver.schedule_pass()

    # -- the Backend interface ----------------------------------------------

    def register(self, fd: int, events: int, handler: Any) -> None:
        if fd in self._watched:
            raise KeyError(f"descriptor {fd} is already registered")
        self._watched[fd] = (0, handler)
        self._watch(fd, events)

    def modify(self, fd: int, events: int) -> None:
        self._watch(fd, events)

    def unregister(self, fd: int) -> None:
        self._watch(fd, 0)
        del self._watched[fd]
        self._noted.pop(fd, None)  # a stale event must not reach a reused fd

    def _watch(self, fd: int, events: int) -> None:
        """Make the host loop's interest in `fd` match `events`."""
        old, handler = self._watched[fd]
        if events & READ and not old & READ:
            self.loop.add_reader(fd, self._note, fd, READ)
        elif old & READ and not events & READ:
            self.loop.remove_reader(fd)
        if events & WRITE and not old & WRITE:
            self.loop.add_writer(fd, self._note, fd, WRITE)
        elif old & WRITE and not events & WRITE:
            self.loop.remove_writer(fd)
        self._watched[fd] = (events, handler)

    def _note(self, fd: int, event: int) -> None:
        """asyncio says `fd` is ready: remember it and make sure a pass follows."""
        self._noted[fd] = self._noted.get(fd, 0) | event
        if self.driver is not None:
            self.driver.schedule_pass()

    def poll(self, timeout: float | None) -> list[tuple[Any, int]]:
        if not self._noted and timeout != 0:
            self._wait_directly(timeout)
        ready = []
        for fd, events in self._noted.items():
            handler = self._watched[fd][1]
            if handler is self._waker:
                self._waker.drain()
            else:
                ready.append((handler, events))
        self._noted.clear()
        return ready

    def _wait_directly(self, timeout: float | None) -> None:
        """Block on our own descriptors, without the host loop (used at shutdown)."""
        with selectors.DefaultSelector() as selector:
            for fd, (events, _) in self._watched.items():
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
        super().close()


class AsyncioDriver:
    """Schedules a reactor's passes on the host loop: now, at its next timer, or on I/O."""

    def __init__(self, backend: AsyncioHostedBackend, reactor: Reactor) -> None:
        self._loop = backend.loop
        self._reactor = reactor
        self._pass_scheduled = False
        self._in_pass = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = 0.0
        _notify_on_new_work(reactor, self)

    def schedule_pass(self) -> None:
        """Run one reactor pass on the host loop's next turn (once, however often asked)."""
        if not self._pass_scheduled and not self._in_pass:
            self._pass_scheduled = True
            self._loop.call_soon(self._run_pass)

    def work_added(self) -> None:
        """The reactor got a callback or timer from outside a pass (e.g. a notebook cell)."""
        if not self._in_pass:
            self.schedule_pass()  # the pass's end recomputes the next wake-up

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _run_pass(self) -> None:
        self._pass_scheduled = False
        reactor = self._reactor
        if reactor_closed(reactor):
            return
        self._in_pass = True
        try:
            reactor.iterate(0.0)
        finally:
            self._in_pass = False
        if reactor_stopping(reactor):
            finish_shutdown(reactor)  # outside the pass: shutdown runs passes of its own
            return
        self._arrange_next(next_timeout(reactor))

    def _arrange_next(self, delay: float | None) -> None:
        """Be back when the reactor next has work: now, at its next timer, or on I/O."""
        if delay is None:
            self.cancel()
        elif delay <= 0:
            self.cancel()
            self.schedule_pass()
        else:
            due = self._loop.time() + delay
            # Keep a pending call_later that is already at (about) that time.
            if self._timer is None or abs(self._timer_due - due) > 0.0005:
                self.cancel()
                self._timer_due = due
                self._timer = self._loop.call_later(delay, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        self.schedule_pass()


# -- driving the reactor's lifecycle from the host loop ----------------------------


def start(reactor: Reactor) -> None:
    """Start `reactor` without blocking and let its asyncio backend drive it."""
    reactor.start()


def next_timeout(reactor: Reactor) -> float | None:
    """0.0 when callbacks are ready, the delay to the next timer, or None (I/O only)."""
    return reactor.next_timeout()


def reactor_stopping(reactor: Reactor) -> bool:
    return reactor.stopping


def reactor_closed(reactor: Reactor) -> bool:
    return bool(reactor._closed)


def finish_shutdown(reactor: Reactor) -> None:
    """After stop(): shutdown triggers, ports and connections closed, reactor closed."""
    reactor.shutdown()


def _notify_on_new_work(reactor: Reactor, driver: AsyncioDriver) -> None:
    """Tell `driver` when `reactor.call_soon`/`call_at`/`stop` add work outside a pass.

    Wraps the three methods on this one reactor instance, so that reactors on
    other backends pay nothing for the hosted mode.
    """
    for name in ("call_soon", "call_at", "stop"):
        method = getattr(reactor, name)

        def notifying(*args: Any, _method: Any = method) -> Any:
            result = _method(*args)
            driver.work_added()
            return result

        setattr(reactor, name, notifying)

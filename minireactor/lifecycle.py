"""How a reactor starts up, shuts down and closes.

`Reactor` inherits `Lifecycle`. A reactor's life is: created -> `run()`
fires the startup triggers, then loops -> `stop()` -> `_shutdown()`:

1. "before shutdown" triggers run; any that return a Deferred (the
   thread pool waiting for its workers, say) are waited for;
2. listening ports stop, and every connection is asked to `close()`: it
   flushes what it has buffered, then goes;
3. the loop keeps turning until they are gone or `shutdown_timeout` runs
   out; whatever is left is aborted;
4. "during" and "after" shutdown triggers run;

-> `close()` releases the descriptors, timers and backend. A closed reactor
cannot run again; make a new one (they are cheap).

Read next: `triggers.py` (the phases), then `threads.py` (a trigger user).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import ReactorNotRestartable
from .instrument import describe
from .timers import TimerQueue
from .triggers import Triggers

if TYPE_CHECKING:
    from .backends import Backend
    from .listener import ReserveDescriptor
    from .reactor import _FdWatch
    from .threads import ThreadPool
    from .trace import _TracingBackend

log = logging.getLogger("minireactor")


class Lifecycle:
    """Startup triggers, a clean shutdown, and closing."""

    # Set by Reactor.__init__; declared here for the type checker.
    shutdown_timeout: float
    reserve_fd: ReserveDescriptor | None
    _backend: Backend | _TracingBackend
    _timers: TimerQueue
    _ready: deque[tuple[Callable[..., Any], tuple[Any, ...]]]
    _watches: dict[int, _FdWatch]
    _triggers: Triggers
    _ports: set[Any]
    _connections: set[Any]
    _thread_pool: ThreadPool | None
    _running: bool
    _stopping: bool
    _closed: bool

    if TYPE_CHECKING:  # the loop's own methods, in reactor.py

        def _call(
            self, func: Callable[..., Any], args: tuple[Any, ...], kind: str = "", late: float = 0.0
        ) -> None: ...

        def _run_once(self, max_wait: float | None) -> None: ...

    def _fire_startup(self) -> None:
        for phase in ("before", "during", "after"):
            for func, args in self._triggers.take(phase, "startup"):
                self._call(func, args)

    def _shutdown(self) -> None:
        """Run shutdown triggers, close ports, flush and close connections."""
        self._stopping = True
        deadline = time.monotonic() + self.shutdown_timeout
        pending = [self._call_trigger(f, a) for f, a in self._triggers.take("before", "shutdown")]
        self._spin_until(lambda: all(p[0] for p in pending), deadline)
        for port in list(self._ports):
            self._call(port.stop_listening, ())
        for conn in list(self._connections):
            self._call(conn.close, ())
        self._spin_until(lambda: not self._connections, deadline)
        for conn in list(self._connections):
            self._call(conn.abort, ())
        for phase in ("during", "after"):
            for func, args in self._triggers.take(phase, "shutdown"):
                self._call(func, args)

    def _call_trigger(self, func: Callable[..., Any], args: tuple[Any, ...]) -> list[bool]:
        """Run a "before" trigger; returns a one-item list that turns True when it is done."""
        done = [True]
        try:
            result = func(*args)
        except Exception:
            log.exception("Unhandled error in shutdown trigger %s", describe(func))
            return done
        if hasattr(result, "add_both"):  # a Deferred: wait for it
            done[0] = False

            def finished(value: Any) -> Any:
                done[0] = True
                return value

            result.add_both(finished)
        return done

    def _spin_until(self, condition: Callable[[], bool], deadline: float) -> None:
        self._stopping = False  # let the loop sleep again while we wait
        try:
            while not condition() and time.monotonic() < deadline:
                self._run_once(max(0.0, deadline - time.monotonic()))
        finally:
            self._stopping = True

    def close(self) -> None:
        """Release everything: ports, connections (aborted), timers, the backend.

        `run()` calls this when it ends. Call it yourself for a reactor driven
        by `iterate()` or never run. Closing twice is harmless.

        Raises:
            RuntimeError: called while `run()` is running (use `stop()`).
        """
        if self._closed:
            return
        if self._running:
            raise RuntimeError("close() cannot be called while the reactor runs; call stop()")
        if self._thread_pool is not None:
            # run() stopped it already ("before shutdown"); iterate()-driven reactors did not.
            self._thread_pool.stop(timeout=self.shutdown_timeout)
        for port in list(self._ports):
            self._call(port.stop_listening, ())
        for conn in list(self._connections):
            self._call(conn.abort, ())
        # Aborted connections report connection_lost on the next pass; run it.
        for _ in range(len(self._ready)):
            func, args = self._ready.popleft()
            self._call(func, args)
        for fd in list(self._watches):
            self._backend.unregister(fd)
        self._watches.clear()
        self._timers.clear()
        self._ready.clear()
        self._closed = True
        self._backend.close()
        if self.reserve_fd is not None:
            self.reserve_fd.close()

    def _require_open(self, what: str) -> None:
        if self._closed:
            raise ReactorNotRestartable(
                f"cannot {what}: this reactor has shut down. Create a new Reactor() "
                f"(they are cheap), or use minireactor.run(main) for one-off runs"
            )

"""How a loop core starts up, shuts down, and releases what it owns.

Each `LoopCore` (core.py) has one `Lifecycle`, which holds the system
event triggers (`triggers.py`) and the resources the core owns. A
*resource* is anything with `close()` (graceful: it calls `core.disown`
once it is gone) and `abort()` (at once): ports, connections, the thread
pool, the listeners' reserve descriptor. Whatever the kind, one rule.

A reactor's life: created -> `run()` fires the startup triggers, then
loops -> `stop()` -> `shut_down()`:

1. "before shutdown" triggers run; any that return a Deferred (the thread
   pool waiting for its workers, say) are waited for;
2. every owned resource is asked to `close()`: ports stop listening,
   connections flush what they have buffered, then go;
3. the loop keeps turning until they are all gone or `shutdown_timeout`
   runs out; whatever is left is aborted;
4. "during" and "after" shutdown triggers run;

-> `close()` aborts what is left, then releases the descriptors, timers,
backend and waker. A closed core cannot run again; make a new one.

Read next: `triggers.py` (the phases), then `backends/base.py`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import ReactorNotRestartable
from .instrument import describe
from .triggers import Triggers

if TYPE_CHECKING:
    from .core import LoopCore
    from .interface import Resource
    from .trace import Trace

log = logging.getLogger("minireactor")

R = TypeVar("R")


class Lifecycle:
    """Startup and shutdown triggers, the owned resources, and closing."""

    def __init__(self, core: LoopCore, shutdown_timeout: float) -> None:
        self._core = core
        self.shutdown_timeout = shutdown_timeout
        self.triggers = Triggers()
        self._owned: dict[Resource, None] = {}  # an ordered set: closed in the order owned
        self._shared: dict[type[Any], Any] = {}

    # -- ownership --------------------------------------------------------------

    def own(self, resource: Resource) -> None:
        self._owned[resource] = None

    def disown(self, resource: Resource) -> None:
        self._owned.pop(resource, None)

    def owned(self) -> list[Resource]:
        """What is owned now, oldest first."""
        return list(self._owned)

    def shared(self, kind: type[R], make: Callable[[], R]) -> R:
        """The core's one `kind` helper (a thread pool, a reserve descriptor), made on first use.

        `make()` builds it; it owns itself (`core.own`) if it needs closing.
        """
        helper = self._shared.get(kind)
        if helper is None:
            helper = self._shared[kind] = make()
        return helper

    def find_shared(self, kind: type[R]) -> R | None:
        """The `kind` helper if `shared` has made it, else None."""
        return self._shared.get(kind)

    def tell_tracer(self, trace: Trace | None) -> None:
        """Hand the new tracer to owned transports that report their reads and writes."""
        for resource in self._owned:
            if hasattr(resource, "tracer"):
                resource.tracer = trace

    # -- start-up and shutdown ------------------------------------------------

    def start_up(self) -> None:
        for phase in ("before", "during", "after"):
            for func, args in self.triggers.take(phase, "startup"):
                self._core._call(func, args)

    def shut_down(self) -> None:
        """Run shutdown triggers; close every owned resource, gracefully if there is time."""
        core = self._core
        deadline = time.monotonic() + self.shutdown_timeout
        pending = [self._call_trigger(f, a) for f, a in self.triggers.take("before", "shutdown")]
        core._turn_until(lambda: all(p[0] for p in pending), deadline)
        for resource in list(self._owned):
            core._call(resource.close, ())
        core._turn_until(lambda: not self._owned, deadline)
        for resource in list(self._owned):
            core._call(resource.abort, ())
        for phase in ("during", "after"):
            for func, args in self.triggers.take(phase, "shutdown"):
                core._call(func, args)

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

    # -- closing ----------------------------------------------------------------

    def close(self) -> None:
        """Abort what is still owned, then release descriptors, timers, backend and waker.

        `run()` calls this when it ends. Call it yourself for a reactor driven
        by `iterate()` or never run. Closing twice is harmless.

        Raises:
            RuntimeError: called while `run()` is running (use `stop()`).
        """
        core = self._core
        if core.closed:
            return
        if core.running:
            raise RuntimeError("close() cannot be called while the reactor runs; call stop()")
        for resource in list(self._owned):
            core._call(resource.abort, ())
        self._owned.clear()
        core._release()

    def require_open(self, what: str) -> None:
        if self._core.closed:
            raise ReactorNotRestartable(
                f"cannot {what}: this reactor has shut down. Create a new Reactor() "
                f"(they are cheap), or use minireactor.run(main) for one-off runs"
            )

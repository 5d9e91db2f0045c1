"""The reactor: one loop that waits for events and runs callbacks.

Design principles (read these first):

1. One thread. Every callback (timer, I/O, protocol method) runs on the
   thread that called `run()`. Other threads hand work in through
   `call_from_thread`, the one thread-safe method.
2. Two small methods call user code: `_call` (scheduled callbacks and
   timers) and `_dispatch` (I/O callbacks, the hot path). Both catch and log
   what a callback raises, so one broken callback never stops the loop.
3. The loop is three steps, on one screen (`_run_once`): decide how long
   we may sleep, ask the backend which descriptors are ready, then run the
   ready callbacks, the I/O callbacks and the due timers.
4. No global reactor. Make as many as you like; each owns its backend,
   timers and connections, and `run()` leaves nothing open behind it.

This file has the loop, scheduling and descriptors. `Reactor` inherits
the rest from three small classes, one file each: `Endpoints`
(endpoints.py: listen_tcp, connect_tcp, ...), `Lifecycle` (lifecycle.py:
startup, a clean shutdown, close) and `Instrumented` (instrument.py: the
slow-callback warning and the tracer's hooks).

Read next: `timers.py` (the heap behind `call_later`), `backends/base.py`
(what `_backend.poll` promises), `lifecycle.py`, then `endpoints.py` and
`tcp.py` (transports built on `add_reader`/`add_writer`).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .backends import READ, WRITE, Backend, create_backend
from .endpoints import Endpoints
from .errors import BackendError, ReactorAlreadyRunning, WrongThreadError
from .instrument import Instrumented, describe, in_jupyter_kernel
from .lifecycle import Lifecycle
from .listener import ReserveDescriptor
from .timers import DelayedCall, TimerQueue
from .trace import Trace, _TracingBackend, trace_from_environment
from .triggers import Triggers

if TYPE_CHECKING:
    from .threads import ThreadPool

log = logging.getLogger("minireactor")


class _FdWatch:
    """What the reactor wants done when one descriptor is ready."""

    __slots__ = ("fd", "reader", "writer")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        # Callables taking no arguments: add_reader(fd, f, *args) stores
        # partial(f, *args), so dispatch is one plain call per event.
        self.reader: Callable[[], Any] | None = None
        self.writer: Callable[[], Any] | None = None

    def events(self) -> int:
        return (READ if self.reader else 0) | (WRITE if self.writer else 0)


def _fileno(fd: Any) -> int:
    """Accept a descriptor number or any object with a `fileno()` method."""
    return fd if isinstance(fd, int) else int(fd.fileno())


class Reactor(Endpoints, Instrumented, Lifecycle):
    """An event loop over one pluggable backend.

    Args:
        backend: "auto" (the best here, or $MINIREACTOR_BACKEND), one of
            `minireactor.available_backends()`, or a `Backend` instance or
            subclass of your own.
        shutdown_timeout: seconds `run()` waits, once stopped, for "before
            shutdown" triggers to finish and for connections to flush.
        slow_callback_duration: log a warning naming any callback that blocks
            the loop this long (seconds). None: off, except inside a Jupyter
            kernel, where students most need it and it defaults to 0.1 s.
        trace: record a `Trace` of everything the loop does into `self.trace`
            (see `trace.py`; `with minireactor.trace.record(reactor)` does the
            same for a block of code).
    """

    def __init__(
        self,
        backend: str | Backend | type[Backend] = "auto",
        *,
        shutdown_timeout: float = 5.0,
        slow_callback_duration: float | None = None,
        trace: bool = False,
    ) -> None:
        self._raw_backend = create_backend(backend)
        self._backend: Backend | _TracingBackend = self._raw_backend  # wrapped while tracing
        self.backend_name: str = self._raw_backend.name
        self.shutdown_timeout = shutdown_timeout
        self._timers = TimerQueue(time.monotonic)
        self._ready: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._watches: dict[int, _FdWatch] = {}
        self._triggers = Triggers()
        self._ports: set[Any] = set()
        self._connections: set[Any] = set()
        self._thread_id: int | None = None
        self._wake_pending = False
        self._running = False
        self._stopping = False
        self._closed = False
        self.reserve_fd: ReserveDescriptor | None = None
        self._thread_pool: ThreadPool | None = None
        self._thread_pool_size = 10
        self.tracer: Trace | None = None
        self.trace: Trace | None = None
        if slow_callback_duration is None and in_jupyter_kernel():
            slow_callback_duration = 0.1
        self.slow_callback_duration = slow_callback_duration
        if trace or trace_from_environment() is not None:
            self.trace = trace_from_environment() or Trace()
            self.set_tracer(self.trace)

    # -- the loop ---------------------------------------------------------

    def run(self) -> None:
        """Run until `stop()`; then shut down cleanly and close the reactor.

        KeyboardInterrupt (a notebook's interrupt button) also shuts down
        cleanly, then propagates.

        Raises:
            ReactorAlreadyRunning: `run()` was called from inside the loop.
            ReactorNotRestartable: this reactor already ran and shut down.
        """
        if self._running:
            raise ReactorAlreadyRunning(
                "this reactor is already running; schedule work with call_soon() instead "
                "of calling run() again"
            )
        self._require_open("run")
        self._running = True
        self._thread_id = threading.get_ident()
        try:
            try:
                self._fire_startup()
                while not self._stopping:
                    self._run_once(None)
            finally:
                self._shutdown()
        finally:
            self._running = False
            self.close()

    def stop(self) -> None:
        """Ask the loop to stop after the current pass (then it shuts down).

        Called before `run()`, it makes `run()` start up and shut down at once.
        From another thread, use `reactor.call_from_thread(reactor.stop)`.
        """
        self._check_thread()
        self._stopping = True

    def start(self) -> None:
        """Start a reactor that another loop drives, and return at once.

        For hosted backends such as "asyncio" (Jupyter's running loop, see
        `minireactor.jupyter`), where the host loop waits for events and runs
        our passes. `stop()` later shuts it down on the host's next turn.

        Raises:
            BackendError: this backend waits by itself: call `run()` instead.
        """
        if self._running:
            raise ReactorAlreadyRunning("this reactor is already running")
        self._require_open("start")
        drive = getattr(self._raw_backend, "drive", None)
        if drive is None:
            raise BackendError(
                f"start() is for hosted backends such as 'asyncio'; the {self.backend_name!r} "
                f"backend waits by itself: call run() instead"
            )
        self._running = True
        self._thread_id = threading.get_ident()
        self._fire_startup()
        drive(self)

    def shutdown(self) -> None:
        """Shut down a reactor begun with `start()`, after `stop()` (run() does this itself)."""
        try:
            self._shutdown()
        finally:
            self._running = False
            self.close()

    @property
    def stopping(self) -> bool:
        """True once `stop()` has been called."""
        return self._stopping

    def next_timeout(self) -> float | None:
        """How long the loop may sleep: 0.0 with work ready, until the next timer, or None."""
        if self._ready or self._stopping:
            return 0.0
        due = self._timers.next_time()
        return None if due is None else max(0.0, due - time.monotonic())

    def release_thread(self) -> None:
        """Forget which thread drives an idle reactor (an asyncio loop may move threads)."""
        if not self._running and self._thread_id == threading.get_ident():
            self._thread_id = None

    def discard_pending(self) -> None:
        """Drop queued `call_soon` callbacks without running them (asyncio's close())."""
        self._ready.clear()

    def iterate(self, timeout: float = 0.0) -> None:
        """Run one pass of the loop, waiting at most `timeout` seconds.

        For tests and for embedding the reactor in another loop; `run()` is
        the normal way to run a reactor.
        """
        self._require_open("iterate")
        if self._thread_id is None:
            self._thread_id = threading.get_ident()
        self._check_thread()
        self._run_once(timeout)

    def _run_once(self, max_wait: float | None) -> None:
        """One pass: wait for I/O (not past the next timer), then run callbacks."""
        # 1. How long may we sleep? Not at all if work is ready; otherwise
        #    until the next timer is due (None: until an I/O event).
        timeout = self.next_timeout()
        if max_wait is not None and (timeout is None or timeout > max_wait):
            timeout = max_wait
        # 2. Wait for I/O. Timers due by the end of the wait run in this pass.
        events = self._backend.poll(timeout)
        now = time.monotonic()
        self._wake_pending = False  # later call_from_thread() calls must wake us again
        # 3. Run what was ready before now (call_soon, call_from_thread), then
        #    the callbacks of ready descriptors, then the timers that are due:
        #    asyncio's order. What these schedule waits for the next pass, so
        #    a callback that reschedules itself cannot starve I/O.
        ready = self._ready
        for _ in range(len(ready)):
            func, args = ready.popleft()
            self._call(func, args)
        self._dispatch(events)
        if self._timers:
            for call in self._timers.pop_due(now):
                self._call(call.func, call.args, "timer", now - call.time)

    def _call(
        self, func: Callable[..., Any], args: tuple[Any, ...], kind: str = "", late: float = 0.0
    ) -> None:
        """Run one scheduled callback or timer; log what it raises.

        `kind` and `late` (a timer's delay past its due time) are for the tracer.
        """
        try:
            func(*args)
        except Exception:
            log.exception("Unhandled error in callback %s", describe(func))

    def _dispatch(self, events: list[tuple[_FdWatch, int]]) -> None:
        """Run the reader and writer callbacks of the descriptors that are ready.

        `_call` inlined: this is the hottest loop of the reactor, and saving
        a Python call per event cut the echo benchmark's server CPU by about
        5% (benchmarks/README.md). Instrumentation (instrument.py) swaps in
        `_dispatch_instrumented`, just as it swaps `_call`.
        """
        for watch, mask in events:
            if mask & READ and watch.reader is not None:
                try:
                    watch.reader()
                except Exception:
                    log.exception("Unhandled error in callback %s", describe(watch.reader))
            if mask & WRITE and watch.writer is not None:
                try:
                    watch.writer()
                except Exception:
                    log.exception("Unhandled error in callback %s", describe(watch.writer))

    # -- scheduling ---------------------------------------------------------

    def seconds(self) -> float:
        """The reactor's clock: `time.monotonic()`, in seconds."""
        return time.monotonic()

    def call_soon(self, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` on the next pass of the loop, in call order."""
        if self._thread_id is not None and self._thread_id != threading.get_ident():
            self._wrong_thread("call_soon")
        self._ready.append((func, args))

    def call_later(self, delay: float, func: Callable[..., Any], *args: Any) -> DelayedCall:
        """Run `func(*args)` in `delay` seconds; returns a cancellable `DelayedCall`."""
        return self.call_at(time.monotonic() + delay, func, *args)

    def call_at(self, when: float, func: Callable[..., Any], *args: Any) -> DelayedCall:
        """Run `func(*args)` at `when` on the `seconds()` clock."""
        self._check_thread()
        return self._timers.schedule(when, func, args)

    def call_from_thread(self, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` on the reactor thread, soon. Safe from any thread.

        Calls from one thread run in the order they were made. A sleeping
        loop is woken at once through the backend's waker.
        """
        if self._closed:
            log.warning("call_from_thread(%s) after the reactor closed: dropped", describe(func))
            return
        self._ready.append((func, args))  # deque.append is atomic
        if not self._wake_pending:
            self._wake_pending = True
            self._backend.wakeup()

    def call_when_running(self, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` once the reactor is running (now, if it is)."""
        if self._running:
            self.call_soon(func, *args)
        else:
            self._triggers.add("after", "startup", func, args)

    def add_system_event_trigger(
        self, phase: str, event: str, func: Callable[..., Any], *args: Any
    ) -> Any:
        """Run `func(*args)` in `phase` ("before"/"during"/"after") of `event`.

        `event` is "startup" or "shutdown". Returns a handle for
        `remove_system_event_trigger`.
        """
        return self._triggers.add(phase, event, func, args)

    def remove_system_event_trigger(self, handle: Any) -> None:
        """Cancel a trigger added by `add_system_event_trigger`."""
        self._triggers.remove(handle)

    @property
    def running(self) -> bool:
        """True from `run()` until shutdown has finished."""
        return self._running

    # -- descriptors --------------------------------------------------------

    def add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        """Call `callback(*args)` whenever `fd` is readable (replaces any reader)."""
        watch = self._watch(_fileno(fd))
        watch.reader = functools.partial(callback, *args) if args else callback
        self._update(watch)

    def add_writer(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        """Call `callback(*args)` whenever `fd` is writable (replaces any writer)."""
        watch = self._watch(_fileno(fd))
        watch.writer = functools.partial(callback, *args) if args else callback
        self._update(watch)

    def remove_reader(self, fd: Any) -> bool:
        """Stop watching `fd` for reading; True if it was watched."""
        watch = self._watches.get(_fileno(fd))
        if watch is None or watch.reader is None:
            return False
        watch.reader = None
        self._update(watch)
        return True

    def remove_writer(self, fd: Any) -> bool:
        """Stop watching `fd` for writing; True if it was watched."""
        watch = self._watches.get(_fileno(fd))
        if watch is None or watch.writer is None:
            return False
        watch.writer = None
        self._update(watch)
        return True

    def _watch(self, fd: int) -> _FdWatch:
        self._check_thread()
        self._require_open("watch a descriptor")
        watch = self._watches.get(fd)
        if watch is None:
            watch = _FdWatch(fd)
        return watch

    def _update(self, watch: _FdWatch) -> None:
        """Tell the backend what we now want from `watch.fd`."""
        events = watch.events()
        registered = self._watches.get(watch.fd)
        if registered is None:
            if events:
                self._backend.register(watch.fd, events, watch)
                self._watches[watch.fd] = watch
        elif not events:
            del self._watches[watch.fd]
            self._backend.unregister(watch.fd)
        else:
            self._backend.modify(watch.fd, events)

    # -- networking: listen_tcp, connect_tcp, ... are in endpoints.py ----------

    def track(self, obj: Any) -> None:
        """Record a port (has `stop_listening`) or connection (has `abort`) to close at shutdown."""
        (self._ports if hasattr(obj, "stop_listening") else self._connections).add(obj)

    def untrack(self, obj: Any) -> None:
        """Forget an object recorded by `track` (it closed by itself)."""
        self._ports.discard(obj)
        self._connections.discard(obj)

    # -- threads ------------------------------------------------------------

    @property
    def thread_pool(self) -> ThreadPool:
        """This reactor's worker threads (see threads.py), created on first use."""
        if self._thread_pool is None:
            from .threads import ThreadPool  # here: threads.py imports defer/, a layer above

            self._thread_pool = ThreadPool(self, self._thread_pool_size)
        return self._thread_pool

    def call_in_thread(self, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` in a worker thread; errors are logged.

        For the result, use `minireactor.threads.defer_to_thread`, which
        returns a Deferred fired back on the reactor thread.
        """
        self.thread_pool.submit(func, *args)

    def suggest_thread_pool_size(self, n: int) -> None:
        """Allow at most `n` worker threads (default 10)."""
        self._thread_pool_size = n
        if self._thread_pool is not None:
            self._thread_pool.resize(n)

    def in_reactor_thread(self) -> bool:
        """True when called from the thread that runs (or last iterated) this reactor."""
        return self._thread_id == threading.get_ident()

    def _check_thread(self) -> None:
        if self._thread_id is not None and self._thread_id != threading.get_ident():
            self._wrong_thread("this method")

    def _wrong_thread(self, what: str) -> None:
        raise WrongThreadError(
            f"{what} was called from a thread that is not the reactor's; only "
            f"call_from_thread() is thread-safe: use reactor.call_from_thread(f, *args)"
        )

    # -- startup, shutdown and close() are in lifecycle.py ---------------------

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self._running else "idle"
        return f"<Reactor backend={self.backend_name} {state}>"

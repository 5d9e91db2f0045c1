"""The loop core: one loop that waits for events and runs callbacks.

Design principles (read these first):

1. One thread. Every callback (timer, I/O, protocol method) runs on the
   thread that called `run()`. Other threads hand work in through
   `call_from_thread`, the one thread-safe method, which wakes a sleeping
   loop through the core's waker (a reader like any other).
2. The core calls what it was handed through two small methods, `_call`
   (scheduled callbacks and timers) and `_dispatch` (I/O callbacks, the hot
   path). Both catch and log what a callback raises, so one broken callback
   never stops the loop. (A transport, one layer up, catches what *its
   protocol* raises and closes only that connection: `transport.py`.)
3. The loop is three steps, on one screen (`_run_once`): decide how long
   we may sleep, ask the backend which descriptors are ready, then run the
   ready callbacks, the I/O callbacks and the due timers.
4. No global reactor, and nothing left open: the core owns every port,
   connection and helper made for it (`own`), and `close()` releases them.

`LoopCore` knows nothing of sockets: `Reactor` (reactor.py) is a facade
over it that adds listen_*, connect_*, spawn_process and threads.

Read next: `timers.py` (the heap behind `call_later`), `backends/base.py`
(what `poll` promises), `descriptors.py`, `lifecycle.py` (start-up,
shutdown, what the core owns), then `interface.py` and `transport.py`.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .backends import READABLE, WRITABLE, Backend, create_backend
from .backends.hosted import HostedBackend
from .backends.waker import Waker
from .descriptors import Descriptors, fileno
from .errors import BackendError, ReactorAlreadyRunning, WrongThreadError
from .instrument import describe, in_jupyter_kernel, instrument
from .lifecycle import Lifecycle
from .timers import DelayedCall, TimerQueue
from .trace import Trace, TracingBackend, trace_from_environment

if TYPE_CHECKING:
    from .interface import Resource

log = logging.getLogger("minireactor")
R = TypeVar("R")


class LoopCore:
    """An event loop over one pluggable backend; see the module docstring.

    Args:
        backend: "auto" (the best here, or $MINIREACTOR_BACKEND), a name from
            `minireactor.available_backends()`, or a `Backend` (class or instance).
        shutdown_timeout: seconds `run()` waits, once stopped, for "before
            shutdown" triggers to finish and for connections to flush.
        slow_callback_duration: warn about any callback that blocks the loop
            this long (s). None: off, except in a Jupyter kernel (0.1 s there).
        trace: record a `Trace` of everything the loop does into `self.tracer`.
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
        self._backend: Backend | TracingBackend = self._raw_backend  # wrapped while tracing
        self._host = self._raw_backend if isinstance(self._raw_backend, HostedBackend) else None
        self.backend_name: str = self._raw_backend.name
        self._timers = TimerQueue(time.monotonic)
        self._ready: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._fds = Descriptors(self._raw_backend)
        self._watches, self._dropped = self._fds.watches, self._fds.dropped
        self._thread_id: int | None = None
        self._wake_pending = False
        self._running = False
        self._stopping = False
        self._closed = False
        self.lifecycle = Lifecycle(self, shutdown_timeout)
        self._waker = Waker()  # the core's own reader; lifecycle.close() closes it last
        self.add_reader(self._waker, self._waker.drain)
        self.tracer: Trace | None = None
        if slow_callback_duration is None and in_jupyter_kernel():
            slow_callback_duration = 0.1
        self._slow_callback_duration = slow_callback_duration
        self._instrument()
        if trace or trace_from_environment() is not None:
            self.set_tracer(trace_from_environment() or Trace())

    # -- the loop ---------------------------------------------------------

    def run(self) -> None:
        """Run until `stop()`; then shut down cleanly and close (also on KeyboardInterrupt).

        Raises:
            ReactorAlreadyRunning: `run()` was called from inside the loop.
            ReactorNotRestartable: this reactor already ran and shut down.
        """
        if self._running:
            raise ReactorAlreadyRunning(
                "this reactor is already running; schedule work with call_soon() instead "
                "of calling run() again"
            )
        self.lifecycle.require_open("run")
        self._running = True
        self._thread_id = threading.get_ident()
        try:
            self.lifecycle.start_up()
            while not self._stopping:
                self._run_once(None)
        finally:
            self.shutdown()

    def stop(self) -> None:
        """Stop after this pass, then shut down (from another thread: `call_from_thread`)."""
        self._check_thread()
        self._stopping = True
        if self._host is not None:
            self._host.work_added()

    def start(self) -> None:
        """Start a reactor whose hosted backend (backends/hosted.py) lets another loop drive it.

        Raises:
            BackendError: this backend waits by itself: call `run()` instead.
        """
        if self._running:
            raise ReactorAlreadyRunning("this reactor is already running")
        self.lifecycle.require_open("start")
        if self._host is None:
            raise BackendError(
                f"start() is for hosted backends such as 'asyncio'; the {self.backend_name!r} "
                f"backend waits by itself: call run() instead"
            )
        self._running = True
        self._thread_id = threading.get_ident()
        self.lifecycle.start_up()
        self._host.host(self)

    def shutdown(self) -> None:
        """Shut down and close (`run()` ends with this; a hosted reactor's host calls it)."""
        self._stopping = True
        try:
            self.lifecycle.shut_down()
        finally:
            self._running = False
            self.close()

    def close(self) -> None:
        """Release what this core owns, its timers, backend and waker (RuntimeError if running)."""
        self.lifecycle.close()

    def _turn_until(self, condition: Callable[[], bool], deadline: float) -> None:
        """Keep the loop turning (during shutdown) until `condition()` or `deadline`."""
        self._stopping = False  # let the loop sleep again while we wait
        try:
            while not condition() and time.monotonic() < deadline:
                self._run_once(max(0.0, deadline - time.monotonic()))
        finally:
            self._stopping = True

    def _release(self) -> None:
        """The end of `close()`, once every owned resource is aborted: drop the rest."""
        ready = self._ready
        for _ in range(len(ready)):  # aborted connections report connection_lost: run it
            func, args = ready.popleft()
            self._call(func, args)
        self._fds.clear()
        self._timers.clear()
        ready.clear()
        self._closed = True
        self._raw_backend.close()
        self._waker.close()

    @property
    def stopping(self) -> bool:
        """True once `stop()` has been called."""
        return self._stopping

    @property
    def closed(self) -> bool:
        """True once `close()` has released everything; a closed reactor cannot run."""
        return self._closed

    @property
    def running(self) -> bool:
        """True from `run()` until shutdown has finished."""
        return self._running

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
        """Run one pass, waiting at most `timeout` s (tests, embedding; else use `run()`)."""
        self.lifecycle.require_open("iterate")
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
        if self._dropped:  # remember only what is unregistered from now on (descriptors.py)
            self._dropped.clear()
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
        """Run one scheduled callback or timer; log what it raises (`kind`, `late`: tracer's)."""
        try:
            func(*args)
        except Exception:
            log.exception("Unhandled error in callback %s", describe(func))

    def _dispatch(self, events: list[tuple[int, int]]) -> None:
        """Run the reader and writer callbacks of the descriptors that are ready.

        TROUBLE (an error, a hang-up) runs both; `Descriptors.watch_for`, inlined,
        skips what was dropped since the wait or is not ours. The hottest loop: no `_call`.
        """
        watches = self._watches
        dropped = self._dropped
        for fd, mask in events:
            if dropped and fd in dropped:
                continue
            try:
                watch = watches[fd]
            except KeyError:
                continue
            if mask & READABLE and watch.reader is not None:
                try:
                    watch.reader()
                except Exception:
                    log.exception("Unhandled error in callback %s", describe(watch.reader))
            if mask & WRITABLE and watch.writer is not None:
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
        if self._host is not None:
            self._host.work_added()

    def call_later(self, delay: float, func: Callable[..., Any], *args: Any) -> DelayedCall:
        """Run `func(*args)` in `delay` seconds; returns a cancellable `DelayedCall`."""
        return self.call_at(time.monotonic() + delay, func, *args)

    def call_at(self, when: float, func: Callable[..., Any], *args: Any) -> DelayedCall:
        """Run `func(*args)` at `when` on the `seconds()` clock."""
        self._check_thread()
        call = self._timers.schedule(when, func, args)
        if self._host is not None:
            self._host.work_added()
        return call

    def call_from_thread(self, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` on the reactor thread, soon. Safe from any thread.

        Calls from one thread run in order; a sleeping loop is woken at once.
        """
        if self._closed:
            log.warning("call_from_thread(%s) after the reactor closed: dropped", describe(func))
            return
        self._ready.append((func, args))  # deque.append is atomic
        if not self._wake_pending:
            self._wake_pending = True
            self._waker.wake()

    # -- descriptors --------------------------------------------------------

    def add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        """Call `callback(*args)` whenever `fd` is readable (replaces any reader)."""
        self._check_thread()
        self.lifecycle.require_open("watch a descriptor")
        self._fds.set_reader(fileno(fd), functools.partial(callback, *args) if args else callback)

    def add_writer(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        """Call `callback(*args)` whenever `fd` is writable (replaces any writer)."""
        self._check_thread()
        self.lifecycle.require_open("watch a descriptor")
        self._fds.set_writer(fileno(fd), functools.partial(callback, *args) if args else callback)

    def remove_reader(self, fd: Any) -> bool:
        """Stop watching `fd` for reading; True if it was watched."""
        return self._fds.remove_reader(fileno(fd))

    def remove_writer(self, fd: Any) -> bool:
        """Stop watching `fd` for writing; True if it was watched."""
        return self._fds.remove_writer(fileno(fd))

    # -- start-up, shutdown, ownership: lifecycle.py ---------------------------

    def own(self, resource: Resource) -> None:
        """Close `resource` (a port, a connection, a helper) when the core shuts down."""
        self.lifecycle.own(resource)

    def disown(self, resource: Resource) -> None:
        """Forget `resource`: it closed by itself."""
        self.lifecycle.disown(resource)

    def shared(self, kind: type[R], make: Callable[[], R]) -> R:
        """This core's one `kind` helper, made with `make()` on first use."""
        return self.lifecycle.shared(kind, make)

    # -- threads and instrumentation -------------------------------------------

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

    @property
    def slow_callback_duration(self) -> float | None:
        """Warn about callbacks that run at least this many seconds (None: off)."""
        return self._slow_callback_duration

    @slow_callback_duration.setter
    def slow_callback_duration(self, seconds: float | None) -> None:
        self._slow_callback_duration = seconds
        self._instrument()

    def set_tracer(self, trace: Trace | None) -> None:
        """Record into `trace` from now on (None: stop). See `trace.record`."""
        raw = self._raw_backend
        self._backend = raw if trace is None else TracingBackend(raw, trace)
        self.tracer = trace
        self.lifecycle.tell_tracer(trace)
        self._instrument()

    def _instrument(self) -> None:
        """Call through `TimedCalls` while the tracer or the slow check is on (instrument.py)."""
        instrument(self, self.tracer, self._slow_callback_duration, self._fds)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self._running else "idle"
        return f"<{type(self).__name__} backend={self.backend_name} {state}>"

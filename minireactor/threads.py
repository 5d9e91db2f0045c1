"""Threads: run blocking code beside the reactor without blocking it.

A callback that blocks (a DNS lookup, a database driver, `time.sleep`, heavy
CPU work) stops every other connection until it returns. The way out is a
*thread pool*: a few worker threads that take jobs from a queue. The
reactor thread never waits for them; results come back the only thread-safe
way, `reactor.call_from_thread`, so every callback still runs on the reactor
thread and needs no lock.

* `ThreadPool`: bounded (at most `max_workers` threads), started lazily (a
  thread is created only when a job finds no idle worker), and stopped
  *before* the reactor shuts down: it registers a "before shutdown" trigger,
  so the reactor keeps running while workers finish their current job and
  their results are still delivered. Jobs that never started are cancelled.
* `defer_to_thread(reactor, f, *args)`: run `f` in the pool, get a Deferred.
* `blocking_call_from_thread(reactor, f, *args)`: the reverse, for code in
  a worker that needs something done in the reactor thread, and waits.

Layer: beside the reactor, above `defer/`. Read next: `main.py`.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from asyncio import CancelledError
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .defer import Deferred, maybe_deferred
from .errors import WrongThreadError
from .instrument import describe

__all__ = ["ThreadPool", "blocking_call_from_thread", "defer_to_thread"]

log = logging.getLogger("minireactor.threads")

OnResult = Callable[[bool, Any], None]


@dataclass
class _Job:
    func: Callable[..., Any]
    args: tuple[Any, ...]
    on_result: OnResult | None


class ThreadPool:
    """A bounded pool of worker threads owned by one reactor.

    Args:
        reactor: the reactor whose shutdown stops this pool (anything with
            `call_from_thread`, `add_system_event_trigger` and `own`).
        max_workers: the most threads that will ever run at once.
    """

    _names = itertools.count(1)  # thread names: minireactor-worker-1, -2, ...

    def __init__(self, reactor: Any, max_workers: int = 10) -> None:
        if max_workers < 1:
            raise ValueError(
                f"a thread pool needs at least 1 worker, got max_workers={max_workers}"
            )
        self._reactor = reactor
        self.max_workers = max_workers
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # guards _threads, _idle and _stopping
        self._threads: list[threading.Thread] = []
        self._idle = 0  # workers waiting for a job that no submit() has claimed yet
        self._stopping = False
        self._all_exited: Deferred[None] = Deferred()
        reactor.add_system_event_trigger("before", "shutdown", self.stop)
        reactor.own(self)

    @property
    def size(self) -> int:
        """How many worker threads exist now (0 until the first job)."""
        with self._lock:
            return len(self._threads)

    def submit(self, f: Callable[..., Any], *args: Any, on_result: OnResult | None = None) -> None:
        """Run `f(*args)` in a worker thread.

        `on_result(succeeded, result_or_exception)` is called *in the worker
        thread* when `f` returns or raises (use `call_from_thread` in it to
        reach the reactor). Without `on_result`, an exception is logged.

        Raises:
            RuntimeError: the pool has been stopped (the reactor is shutting down).
        """
        with self._lock:
            if self._stopping:
                raise RuntimeError(
                    "this thread pool has stopped (its reactor is shutting down); "
                    "no new work can start in it"
                )
            self._queue.put(_Job(f, args, on_result))
            if self._idle:
                self._idle -= 1  # an idle worker will take it
            elif len(self._threads) < self.max_workers:
                self._start_worker()
            # else: every worker is busy and we are at the limit; the job waits in the queue

    def resize(self, max_workers: int) -> None:
        """Change the limit. Extra threads exit once they finish their current job."""
        if max_workers < 1:
            raise ValueError(f"a thread pool needs at least 1 worker, got {max_workers}")
        with self._lock:
            self.max_workers = max_workers
            for _ in range(len(self._threads) - max_workers):
                self._queue.put(None)  # "exit" for whichever worker takes it
                if self._idle:
                    self._idle -= 1

    def _start_worker(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"minireactor-worker-{next(self._names)}", daemon=True
        )
        # daemon: a worker stuck in a blocking call must not keep the process
        # alive after the reactor has given up waiting for it.
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        """A worker's life: take a job, run it, report, repeat until told to exit."""
        while (job := self._queue.get()) is not None:
            start = time.perf_counter()
            ok, result = _run(job.func, job.args)
            tracer = self._reactor.tracer
            if tracer is not None:  # the tracer draws each job in this worker's lane
                tracer.add("thread", describe(job.func), start, time.perf_counter())
            with self._lock:
                # Idle before reporting: whoever hears the result may submit
                # the next job at once, and should find this worker free.
                self._idle += 1
            if job.on_result is not None:
                _report(job.on_result, ok, result)
            elif not ok:
                log.error("Unhandled error in thread pool job %r", job.func, exc_info=result)
            del job, result  # drop references to the job while we wait for the next
        with self._lock:
            self._threads.remove(threading.current_thread())
            last = self._stopping and not self._threads
        if last and self._reactor.running:
            # The reactor is waiting for us in its shutdown. (If it gave up
            # and closed, nobody is waiting, and stop() fires the Deferred.)
            self._reactor.call_from_thread(self._fire_all_exited)

    def stop(self, timeout: float | None = None) -> Deferred[None]:
        """Stop the pool: take no new jobs, cancel queued ones, let running ones finish.

        Queued jobs that never started get `on_result(False, CancelledError)`.
        The reactor calls this before it shuts down and keeps running until
        the returned Deferred fires (or its shutdown timeout passes), so the
        results of jobs that finish meanwhile still reach their callbacks.

        Args:
            timeout: if given, also wait here up to `timeout` seconds for the
                threads to end: for a reactor that is not running (in the
                reactor thread of a running one, use the Deferred instead).

        Returns:
            A Deferred that fires in the reactor thread once every worker has exited.
        """
        with self._lock:
            if not self._stopping:
                self._stopping = True
                self._cancel_queued()
                for _ in self._threads:
                    self._queue.put(None)
            threads = list(self._threads)
        if timeout is not None:
            _join_all(threads, timeout)
        if not self.size:
            self._fire_all_exited()
        return self._all_exited

    def close(self) -> None:
        """As an owned resource, at shutdown: the "before shutdown" trigger already waited."""
        self.stop()
        self._reactor.disown(self)

    def abort(self) -> None:
        """As an owned resource, when the reactor closes: stop, joining the workers a while."""
        self.stop(timeout=self._reactor.shutdown_timeout)
        self._reactor.disown(self)

    def _cancel_queued(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None and job.on_result is not None:
                reason = CancelledError("the thread pool stopped before this job ran")
                _report(job.on_result, False, reason)

    def _fire_all_exited(self) -> None:
        if not self._all_exited.called:
            self._all_exited.callback(None)

    def __repr__(self) -> str:
        state = "stopped" if self._stopping else "running"
        return f"<ThreadPool {state} threads={self.size}/{self.max_workers}>"


def _run(func: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bool, Any]:
    try:
        return True, func(*args)
    except BaseException as exc:  # everything is reported: a worker must not die silently
        return False, exc


def _report(on_result: OnResult, ok: bool, result: Any) -> None:
    try:
        on_result(ok, result)
    except Exception:
        log.exception("Unhandled error in on_result callback %r", on_result)


def _join_all(threads: list[threading.Thread], timeout: float) -> None:
    """Join `threads`, all within one shared `timeout`."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _pool(reactor: Any) -> ThreadPool:
    try:
        pool: ThreadPool = reactor.thread_pool
    except AttributeError:
        raise TypeError(
            f"{reactor!r} has no thread_pool; defer_to_thread needs a minireactor Reactor"
        ) from None
    return pool


def defer_to_thread(reactor: Any, f: Callable[..., Any], *args: Any) -> Deferred[Any]:
    """Run `f(*args)` in the reactor's thread pool; the Deferred fires in the reactor thread.

    Cancelling the Deferred cannot stop a thread that is running: it fires at
    once with `CancelledError`, and the result, when it comes, is dropped.
    """
    d: Deferred[Any] = Deferred()

    def deliver(ok: bool, result: Any) -> None:  # runs in the reactor thread
        # (if `d` was cancelled meanwhile, it ignores this late result, once)
        if ok and not isinstance(result, BaseException):
            d.callback(result)
        else:
            d.errback(result)

    def on_result(ok: bool, result: Any) -> None:  # runs in the worker thread
        reactor.call_from_thread(deliver, ok, result)

    _pool(reactor).submit(f, *args, on_result=on_result)
    return d


def blocking_call_from_thread(reactor: Any, f: Callable[..., Any], *args: Any) -> Any:
    """From a worker thread: run `f(*args)` in the reactor thread and wait for its result.

    `f` may return a Deferred or be an `async def`; we wait until it fires.
    Its exception is raised here, in the calling thread.

    Raises:
        WrongThreadError: called in the reactor thread, which would wait for
            itself forever (call `f` directly there instead).
    """
    if reactor.in_reactor_thread():
        raise WrongThreadError(
            "blocking_call_from_thread() was called in the reactor thread, which would "
            "wait for itself forever; call the function directly (or await it) instead"
        )
    outcome: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def in_reactor() -> None:
        maybe_deferred(f, *args).add_both(outcome.put)  # put() returns None: consumed

    reactor.call_from_thread(in_reactor)
    result = outcome.get()
    if isinstance(result, BaseException):
        raise result
    return result

"""Tests for minireactor.threads, on every backend: the pool, defer_to_thread, shutdown."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import spin

from minireactor import Reactor, WrongThreadError
from minireactor.defer import CancelledError, Deferred, defer_later, ensure_deferred
from minireactor.testing import MemoryReactor
from minireactor.threads import ThreadPool, blocking_call_from_thread, defer_to_thread

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def r(reactor: Reactor) -> Iterator[Reactor]:
    """The `reactor` fixture with a small pool; checks no worker outlives the test."""
    reactor.suggest_thread_pool_size(4)
    yield reactor
    pool: ThreadPool = reactor.thread_pool
    pool.stop(timeout=5)
    assert pool.size == 0, "worker threads outlived the test"


def outcome(d: Deferred[Any]) -> list[Any]:
    box: list[Any] = []
    d.add_both(box.append)
    return box


def test_defer_to_thread_runs_f_in_a_worker_and_fires_in_the_reactor_thread(r: Reactor) -> None:
    ran_in: list[int] = []
    fired_in: list[int] = []

    def work(a: int, b: int) -> int:
        ran_in.append(threading.get_ident())
        return a * b

    d = defer_to_thread(r, work, 6, 7)
    d.add_callback(lambda v: (fired_in.append(threading.get_ident()), v)[1])
    box = outcome(d)
    spin(r, lambda: bool(box))
    assert box == [42]
    assert ran_in[0] != threading.get_ident()
    assert fired_in == [threading.get_ident()]


def test_defer_to_thread_errbacks_with_the_exception(r: Reactor) -> None:
    def work() -> None:
        raise ValueError("in a thread")

    box = outcome(defer_to_thread(r, work))
    spin(r, lambda: bool(box))
    assert isinstance(box[0], ValueError)
    frames = []
    tb = box[0].__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "work" in frames  # the traceback from the worker thread came along


def test_pool_starts_lazily_and_never_exceeds_its_bound(reactor: Reactor) -> None:
    pool = ThreadPool(reactor, max_workers=2)
    assert pool.size == 0
    release = threading.Event()
    lock = threading.Lock()
    active = [0, 0]  # now, most ever

    def job(i: int) -> int:
        with lock:
            active[0] += 1
            active[1] = max(active[1], active[0])
        release.wait(10)
        with lock:
            active[0] -= 1
        return i

    results: list[tuple[bool, Any]] = []
    for i in range(6):
        pool.submit(job, i, on_result=lambda ok, res: results.append((ok, res)))
    assert pool.size == 2
    release.set()
    pool.stop(timeout=10)
    # jobs queued when stop() came were cancelled, not lost
    assert len(results) == 6
    assert active[1] == 2
    assert pool.size == 0


def test_idle_worker_is_reused_instead_of_starting_a_new_thread(reactor: Reactor) -> None:
    pool = ThreadPool(reactor, max_workers=5)
    done = threading.Semaphore(0)
    for _ in range(4):
        pool.submit(lambda: None, on_result=lambda ok, res: done.release())
        assert done.acquire(timeout=10)
    assert pool.size == 1
    pool.stop(timeout=5)


def test_job_without_on_result_logs_its_error(
    reactor: Reactor, caplog: pytest.LogCaptureFixture
) -> None:
    pool = ThreadPool(reactor, max_workers=1)

    def broken() -> None:
        raise KeyError("lost otherwise")

    with caplog.at_level(logging.ERROR, logger="minireactor"):
        pool.submit(broken)
        pool.stop(timeout=5)
    assert "lost otherwise" in caplog.text and "broken" in caplog.text


def test_submit_after_stop_is_refused(reactor: Reactor) -> None:
    pool = ThreadPool(reactor, max_workers=1)
    pool.stop(timeout=1)
    with pytest.raises(RuntimeError, match="stopped"):
        pool.submit(print)
    with pytest.raises(ValueError):
        ThreadPool(reactor, max_workers=0)


def test_pool_registers_a_before_shutdown_trigger_and_is_owned() -> None:
    fake = MemoryReactor()
    pool = ThreadPool(fake, max_workers=1)
    [trigger] = fake.triggers
    assert (trigger.phase, trigger.event, trigger.func) == ("before", "shutdown", pool.stop)
    assert fake.owned == [pool]
    pool.close()
    assert fake.owned == []


def test_blocking_call_from_thread_waits_for_a_deferred_in_the_reactor(r: Reactor) -> None:
    def in_reactor(x: int) -> Deferred[Any]:
        assert r.in_reactor_thread()
        return defer_later(r, 0.01, lambda: x + 1)

    def worker() -> tuple[int, str]:
        value = blocking_call_from_thread(r, in_reactor, 41)
        try:
            blocking_call_from_thread(r, lambda: 1 / 0)
        except ZeroDivisionError as exc:
            return value, type(exc).__name__
        return value, "no error"

    box = outcome(defer_to_thread(r, worker))
    spin(r, lambda: bool(box))
    assert box == [(42, "ZeroDivisionError")]


def test_blocking_call_from_thread_accepts_coroutines(r: Reactor) -> None:
    async def in_reactor() -> str:
        await defer_later(r, 0.01, lambda: None)
        return "awaited"

    box = outcome(defer_to_thread(r, blocking_call_from_thread, r, in_reactor))
    spin(r, lambda: bool(box))
    assert box == ["awaited"]


def test_blocking_call_from_the_reactor_thread_raises_instead_of_deadlocking(r: Reactor) -> None:
    r.iterate(0)  # the reactor now knows its thread
    with pytest.raises(WrongThreadError, match="wait for itself"):
        blocking_call_from_thread(r, lambda: None)


def test_shutdown_delivers_results_of_workers_that_finish_in_time(r: Reactor) -> None:
    release = threading.Event()
    results: list[Any] = []

    def stop_then_release() -> None:
        r.stop()
        release.set()  # the worker finishes only after stop() was asked

    def start() -> None:
        d = defer_to_thread(r, lambda: release.wait(10) and "finished")
        d.add_both(results.append)
        r.call_later(0.01, stop_then_release)

    r.call_when_running(start)
    r.run()
    assert results == ["finished"]


def test_shutdown_with_a_stuck_worker_does_not_hang(backend: str) -> None:
    reactor = Reactor(backend=backend, shutdown_timeout=0.3)
    pool = ThreadPool(reactor, max_workers=1)
    stuck = threading.Event()
    results: list[Any] = []

    def start() -> None:
        pool.submit(stuck.wait, 20)  # busy far longer than the shutdown timeout
        d: Deferred[Any] = Deferred()
        pool.submit(print, on_result=lambda ok, res: d.errback(res))  # queued: cancelled
        d.add_both(results.append)
        reactor.call_later(0.01, reactor.stop)

    reactor.call_when_running(start)
    started = reactor.seconds()
    reactor.run()
    assert reactor.seconds() - started < 5
    assert len(results) == 1 and isinstance(results[0], CancelledError)
    stuck.set()
    pool.stop(timeout=5)
    assert pool.size == 0


def test_cancelling_defer_to_thread_fires_at_once_and_drops_the_late_result(
    r: Reactor,
) -> None:
    release = threading.Event()
    d = defer_to_thread(r, lambda: release.wait(10) and "late")
    d.cancel()
    box = outcome(d)
    assert isinstance(box[0], CancelledError)
    release.set()
    finished = outcome(ensure_deferred(_settle(r)))
    spin(r, lambda: bool(finished))
    assert len(box) == 1


async def _settle(r: Reactor) -> None:
    """Give the late result time to arrive (it must be ignored)."""
    await defer_later(r, 0.1, lambda: None)


def test_reactor_call_in_thread_uses_its_bounded_pool(reactor: Reactor) -> None:
    reactor.suggest_thread_pool_size(1)
    ran_in: list[str] = []
    done = threading.Event()

    def job(name: str) -> None:
        ran_in.append(threading.current_thread().name)
        if len(ran_in) == 3:
            done.set()

    for name in "abc":
        reactor.call_in_thread(job, name)
    assert done.wait(10)
    assert len(set(ran_in)) == 1 and ran_in[0].startswith("minireactor-worker")
    assert reactor.thread_pool.size == 1


def test_closing_an_iterated_reactor_stops_its_pool(backend: str) -> None:
    reactor = Reactor(backend=backend)
    box = outcome(defer_to_thread(reactor, lambda: "ok"))
    spin(reactor, lambda: bool(box))
    pool = reactor.thread_pool
    assert pool.size == 1
    reactor.close()
    assert pool.size == 0

"""Tests for minireactor.defer: the callback chain, errors, cancellation, coroutines."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import pytest

from minireactor import Reactor, run
from minireactor.defer import (
    AlreadyCalledError,
    CancelledError,
    Deferred,
    DeferredList,
    defer_later,
    ensure_deferred,
    fail,
    gather,
    maybe_deferred,
    sleep,
    succeed,
)
from minireactor.testing import Clock

UNHANDLED = "Unhandled error in Deferred"


def outcome(d: Deferred[Any]) -> list[Any]:
    """Attach a catch-all and return a list that receives the result."""
    box: list[Any] = []
    d.add_both(box.append)
    return box


# -- the chain ------------------------------------------------------------------


def test_callbacks_run_in_order_each_getting_the_previous_result() -> None:
    d: Deferred[int] = Deferred()
    d.add_callback(lambda x: x + 1).add_callback(lambda x, k: x * k, 10)
    box = outcome(d)
    assert box == [] and not d.called
    d.callback(1)
    assert box == [20]
    assert d.called


def test_callback_added_after_firing_runs_at_once() -> None:
    d = succeed(3)
    assert outcome(d.add_callback(lambda x: x * 2)) == [6]


def test_raising_callback_switches_to_error_path_and_errback_recovers() -> None:
    seen: list[str] = []

    def boom(_: Any) -> None:
        raise ValueError("bad")

    d = succeed(1).add_callback(boom)
    d.add_callback(lambda _: seen.append("skipped callback"))
    d.add_errback(lambda exc: f"recovered from {exc}")
    d.add_errback(lambda _: seen.append("skipped errback"))
    assert outcome(d) == ["recovered from bad"]
    assert seen == []


def test_error_keeps_its_traceback() -> None:
    def deep() -> None:
        raise KeyError("k")

    d = maybe_deferred(deep)
    box = outcome(d)
    exc = box[0]
    assert isinstance(exc, KeyError)
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "deep" in frames


def test_add_both_returning_its_argument_passes_an_error_on() -> None:
    cleaned: list[Any] = []
    d = fail(ValueError("x")).add_both(lambda r: (cleaned.append(r), r)[1])
    box = outcome(d)
    assert isinstance(cleaned[0], ValueError)
    assert isinstance(box[0], ValueError)


def test_add_callbacks_runs_exactly_one_side() -> None:
    calls: list[str] = []
    succeed(1).add_callbacks(lambda _: calls.append("ok"), lambda _: calls.append("bad"))
    fail(OSError()).add_callbacks(lambda _: calls.append("ok"), lambda _: calls.append("bad"))
    assert calls == ["ok", "bad"]


def test_firing_twice_raises_already_called() -> None:
    d = succeed(1)
    with pytest.raises(AlreadyCalledError):
        d.callback(2)
    with pytest.raises(AlreadyCalledError):
        d.errback(ValueError())


def test_callback_rejects_exceptions_and_deferreds() -> None:
    d: Deferred[Any] = Deferred()
    with pytest.raises(TypeError, match="errback"):
        d.callback(ValueError())
    with pytest.raises(TypeError):
        d.callback(Deferred())
    assert not d.called


def test_errback_without_argument_uses_the_exception_being_handled() -> None:
    d: Deferred[Any] = Deferred()
    try:
        raise ZeroDivisionError("now")
    except ZeroDivisionError:
        d.errback()
    assert isinstance(outcome(d)[0], ZeroDivisionError)
    with pytest.raises(TypeError):
        Deferred().errback()


# -- chaining -------------------------------------------------------------------


def test_callback_returning_a_deferred_pauses_the_chain() -> None:
    inner: Deferred[str] = Deferred()
    outer = succeed(1).add_callback(lambda _: inner).add_callback(lambda s: s.upper())
    box = outcome(outer)
    assert box == []
    assert "waiting on" in repr(outer)
    inner.callback("done")
    assert box == ["DONE"]
    assert inner.result is None  # its result now belongs to outer


def test_chained_error_travels_to_the_outer_deferred() -> None:
    inner: Deferred[Any] = Deferred()
    outer = succeed(1).add_callback(lambda _: inner)
    inner.errback(RuntimeError("inner failed"))
    assert isinstance(outcome(outer)[0], RuntimeError)


def test_chaining_an_already_fired_deferred_continues_at_once() -> None:
    assert outcome(succeed(1).add_callback(lambda _: succeed(5))) == [5]


def test_long_chain_of_fired_deferreds_does_not_overflow_the_stack() -> None:
    d = succeed(0)
    for _ in range(5000):
        d.add_callback(lambda x: succeed(x + 1))
    assert outcome(d) == [5000]


# -- cancellation ----------------------------------------------------------------


def test_cancel_errbacks_with_asyncio_cancelled_error_and_calls_canceller() -> None:
    cancelled: list[Deferred[Any]] = []
    d: Deferred[Any] = Deferred(canceller=cancelled.append)
    d.cancel()
    assert cancelled == [d]
    box = outcome(d)
    assert isinstance(box[0], asyncio.CancelledError)
    d.callback("late result")  # the work finishing later is ignored, once
    with pytest.raises(AlreadyCalledError):
        d.callback("twice late")


def test_canceller_may_fire_the_deferred_itself() -> None:
    d: Deferred[Any] = Deferred(canceller=lambda d: d.errback(TimeoutError("gave up")))
    d.cancel()
    assert isinstance(outcome(d)[0], TimeoutError)


def test_cancel_after_result_does_nothing() -> None:
    d = succeed("kept")
    d.cancel()
    assert outcome(d) == ["kept"]


def test_cancel_while_chained_cancels_the_inner_deferred() -> None:
    inner: Deferred[Any] = Deferred()
    outer = succeed(1).add_callback(lambda _: inner)
    outer.cancel()
    assert isinstance(outcome(outer)[0], CancelledError)


# -- unhandled errors are logged at garbage collection ---------------------------


def test_unhandled_error_is_logged_once_at_gc(caplog: pytest.LogCaptureFixture) -> None:
    def raise_it() -> None:
        raise ValueError("nobody listens")

    def make() -> None:
        maybe_deferred(raise_it)

    with caplog.at_level(logging.ERROR, logger="minireactor"):
        make()
        gc.collect()
        gc.collect()
    records = [r for r in caplog.records if UNHANDLED in r.getMessage()]
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], ValueError)
    assert "nobody listens" in caplog.text
    assert "Traceback" in caplog.text and "in raise_it" in caplog.text


def test_handled_and_cancelled_errors_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    def make() -> None:
        fail(ValueError("handled")).add_errback(lambda _: None)
        Deferred().cancel()
        inner: Deferred[Any] = Deferred()
        succeed(1).add_callback(lambda _: inner).add_errback(lambda _: None)
        inner.errback(OSError("handled by outer"))

    with caplog.at_level(logging.ERROR, logger="minireactor"):
        make()
        gc.collect()
    assert UNHANDLED not in caplog.text


# -- succeed, fail, DeferredList, gather -------------------------------------------


def test_deferred_list_reports_every_outcome_in_order() -> None:
    a: Deferred[Any] = Deferred()
    b: Deferred[Any] = Deferred()
    dl = DeferredList([a, b], consume_errors=True)
    box = outcome(dl)
    b.errback(KeyError("b"))
    assert box == []
    a.callback("a")
    [(ok_a, res_a), (ok_b, res_b)] = box[0]
    assert (ok_a, res_a, ok_b) == (True, "a", False)
    assert isinstance(res_b, KeyError)
    assert b.result is None  # consumed


def test_deferred_list_fire_on_one_callback_and_empty() -> None:
    a: Deferred[Any] = Deferred()
    b: Deferred[Any] = Deferred()
    box = outcome(DeferredList([a, b], fire_on_one_callback=True))
    b.callback("fast")
    assert box == [("fast", 1)]
    assert outcome(DeferredList([])) == [[]]


def test_gather_fires_with_results_in_argument_order() -> None:
    a: Deferred[Any] = Deferred()
    b: Deferred[Any] = Deferred()
    box = outcome(gather(a, b, succeed(3)))
    b.callback(2)
    a.callback(1)
    assert box == [[1, 2, 3]]


def test_gather_errbacks_with_the_first_error_and_consumes_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def make() -> list[Any]:
        a: Deferred[Any] = Deferred()
        box = outcome(gather(a, Deferred()))
        a.errback(LookupError("first"))
        return box

    with caplog.at_level(logging.ERROR, logger="minireactor"):
        box = make()
        gc.collect()
    assert isinstance(box[0], LookupError)
    assert UNHANDLED not in caplog.text


def test_cancelling_gather_cancels_the_pending_deferreds() -> None:
    a: Deferred[Any] = Deferred()
    g = gather(a, succeed(1))
    g.cancel()
    assert a.called and a.result is None  # cancelled, and its error consumed by gather
    assert isinstance(outcome(g)[0], CancelledError)


# -- time: defer_later, sleep, add_timeout ------------------------------------------


def test_defer_later_calls_f_after_the_delay() -> None:
    clock = Clock()
    box = outcome(defer_later(clock, 2.0, lambda a, b: a + b, 1, 2))
    clock.advance(1.9)
    assert box == []
    clock.advance(0.1)
    assert box == [3]


def test_cancelled_defer_later_never_calls_f() -> None:
    clock = Clock()
    calls: list[int] = []
    d = defer_later(clock, 1.0, calls.append, 1)
    d.cancel()
    clock.advance(5)
    assert calls == []
    assert clock.get_delayed_calls() == []
    assert isinstance(outcome(d)[0], CancelledError)


def test_sleep_fires_with_none_after_the_delay() -> None:
    clock = Clock()
    box = outcome(sleep(clock, 0.5))
    clock.advance(0.5)
    assert box == [None]


def test_add_timeout_turns_cancellation_into_timeout_error() -> None:
    clock = Clock()
    d: Deferred[Any] = Deferred()
    box = outcome(d.add_timeout(3, clock))
    clock.advance(2.9)
    assert box == []
    clock.advance(0.2)
    assert isinstance(box[0], TimeoutError)
    assert isinstance(box[0].__cause__, CancelledError)


def test_add_timeout_is_cancelled_when_the_result_comes_in_time() -> None:
    clock = Clock()
    d: Deferred[Any] = Deferred()
    d.add_timeout(3, clock)
    d.callback("in time")
    assert clock.get_delayed_calls() == []
    assert outcome(d) == ["in time"]


# -- coroutines ---------------------------------------------------------------------


def test_ensure_deferred_runs_a_coroutine_awaiting_deferreds() -> None:
    clock = Clock()

    async def main() -> int:
        await sleep(clock, 1)
        first = await succeed(20)  # already fired: no waiting
        second = await defer_later(clock, 1, lambda: 22)
        return first + second

    box = outcome(ensure_deferred(main()))
    clock.advance(1)
    assert box == []
    clock.advance(1)
    assert box == [42]


def test_errors_are_raised_at_the_await_and_can_be_caught() -> None:
    async def main() -> str:
        try:
            await fail(ValueError("inside"))
        except ValueError as exc:
            return f"caught {exc}"
        return "not reached"

    assert outcome(ensure_deferred(main())) == ["caught inside"]


def test_uncaught_error_in_coroutine_errbacks_its_deferred() -> None:
    async def main() -> None:
        raise OSError("oops")

    assert isinstance(outcome(ensure_deferred(main()))[0], OSError)


def test_many_ready_awaits_do_not_grow_the_stack() -> None:
    async def main() -> int:
        total = 0
        for i in range(5000):
            total += await succeed(i)
        return total

    assert outcome(ensure_deferred(main())) == [sum(range(5000))]


def test_cancelling_ensure_deferred_throws_into_the_coroutine_at_its_await() -> None:
    clock = Clock()
    where: list[str] = []

    async def main() -> str:
        try:
            await sleep(clock, 10)
        except CancelledError:
            where.append("cancelled at sleep")
            raise
        return "finished"

    d = ensure_deferred(main())
    d.cancel()
    assert where == ["cancelled at sleep"]
    assert isinstance(outcome(d)[0], CancelledError)
    assert clock.get_delayed_calls() == []  # the sleep's timer was cancelled too


def test_coroutine_may_swallow_cancellation_and_return() -> None:
    waiting: Deferred[Any] = Deferred()

    async def main() -> str:
        try:
            await waiting
        except CancelledError:
            return "cleaned up"
        return "not reached"

    d = ensure_deferred(main())
    d.cancel()
    assert outcome(d) == ["cleaned up"]


def test_awaiting_something_else_is_a_clear_type_error() -> None:
    async def main() -> None:
        await asyncio.sleep(0)

    box = outcome(ensure_deferred(main()))
    assert isinstance(box[0], TypeError)
    with pytest.raises(TypeError, match="coroutine"):
        ensure_deferred(lambda: None)  # type: ignore[arg-type]


def test_maybe_deferred_accepts_values_errors_deferreds_and_coroutines() -> None:
    async def coro() -> str:
        return "c"

    def boom() -> None:
        raise ValueError

    assert outcome(maybe_deferred(lambda: 1)) == [1]
    assert isinstance(outcome(maybe_deferred(boom))[0], ValueError)
    assert outcome(maybe_deferred(lambda: succeed("d"))) == ["d"]
    assert outcome(maybe_deferred(coro)) == ["c"]


# -- asyncio futures ------------------------------------------------------------------


def test_as_future_lets_asyncio_await_a_deferred() -> None:
    async def main() -> tuple[Any, Any]:
        loop = asyncio.get_running_loop()
        d: Deferred[str] = Deferred()
        loop.call_soon(d.callback, "value")
        bad: Deferred[Any] = Deferred()
        loop.call_soon(bad.errback, KeyError("k"))
        value = await d.as_future(loop)
        with pytest.raises(KeyError):
            await bad.as_future(loop)
        return value, bad.result

    assert asyncio.run(main()) == ("value", None)


def test_cancelling_the_future_cancels_the_deferred_and_back() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        cancelled: list[Deferred[Any]] = []
        d: Deferred[Any] = Deferred(canceller=cancelled.append)
        fut = d.as_future(loop)
        fut.cancel()
        await asyncio.sleep(0)  # done callbacks run on the loop's next pass
        assert cancelled == [d] and d.called
        d2: Deferred[Any] = Deferred()
        fut2 = d2.as_future(loop)
        d2.cancel()
        assert fut2.cancelled()

    asyncio.run(main())


def test_from_future_follows_the_future() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ok: asyncio.Future[int] = loop.create_future()
        bad: asyncio.Future[int] = loop.create_future()
        gone: asyncio.Future[int] = loop.create_future()
        boxes = [outcome(Deferred.from_future(f)) for f in (ok, bad, gone)]
        ok.set_result(7)
        bad.set_exception(ValueError("v"))
        gone.cancel()
        await asyncio.sleep(0)  # done callbacks run on the loop's next pass
        assert boxes[0] == [7]
        assert isinstance(boxes[1][0], ValueError)
        assert isinstance(boxes[2][0], CancelledError)
        pending: asyncio.Future[int] = loop.create_future()
        Deferred.from_future(pending).cancel()
        assert pending.cancelled()

    asyncio.run(main())


# -- run() on a real reactor ---------------------------------------------------------


@pytest.mark.timeout(10)
def test_run_sync_main_returns_its_value(backend: str) -> None:
    seen: list[Reactor] = []

    def main(reactor: Reactor) -> str:
        seen.append(reactor)
        return "hello"

    assert run(main, backend=backend) == "hello"
    assert seen[0].backend_name == backend
    assert not seen[0].running


@pytest.mark.timeout(10)
def test_run_async_main_with_real_timers(backend: str) -> None:
    async def main(reactor: Reactor, x: int) -> int:
        await sleep(reactor, 0.01)
        return await defer_later(reactor, 0.01, lambda: x * 2)

    assert run(main, 21, backend=backend) == 42


@pytest.mark.timeout(10)
def test_run_raises_mains_error(backend: str) -> None:
    async def main(reactor: Reactor) -> None:
        await sleep(reactor, 0)
        raise LookupError("from main")

    with pytest.raises(LookupError, match="from main"):
        run(main, backend=backend)


@pytest.mark.timeout(10)
def test_run_when_reactor_is_stopped_early_cancels_main(backend: str) -> None:
    cancelled: list[bool] = []

    async def main(reactor: Reactor) -> None:
        reactor.call_later(0.01, reactor.stop)
        try:
            await sleep(reactor, 60)
        except CancelledError:
            cancelled.append(True)
            raise

    with pytest.raises(RuntimeError, match="stopped before main"):
        run(main, backend=backend)
    assert cancelled == [True]

"""Exact tests of defer/deferred.py that mutation testing showed were missing.

`python scripts/mutation.py deferred` seeds one bug at a time into
deferred.py; these tests kill the ones tests/test_defer.py let through:
arguments an errback is given, the error for a callback that returns its own
Deferred, `repr`, and which cancellations `add_timeout` turns into
`TimeoutError` (only its own, never the caller's).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from minireactor.defer import Deferred
from minireactor.testing import Clock


def outcome(d: Deferred[Any]) -> Any:
    box: list[Any] = []
    d.add_both(box.append)
    assert box, "the Deferred has not fired"
    return box[0]


def test_add_errback_passes_its_extra_arguments() -> None:
    seen: list[Any] = []
    d: Deferred[int] = Deferred()
    d.add_errback(lambda exc, *args, **kwargs: seen.append((type(exc), args, kwargs)), 1, 2, k=3)
    d.errback(ValueError("boom"))
    assert seen == [(ValueError, (1, 2), {"k": 3})]


def test_a_callback_returning_its_own_deferred_is_an_error_not_a_hang() -> None:
    d: Deferred[int] = Deferred()
    d.add_callback(lambda _: d)
    d.callback(1)
    error = outcome(d)
    assert isinstance(error, RuntimeError)
    assert str(error) == "a callback returned its own Deferred; it would wait forever"


def test_repr_says_pending_result_or_what_it_waits_on() -> None:
    d: Deferred[int] = Deferred()
    assert repr(d) == "<Deferred pending>"
    assert d.called is False and d.result is None  # not merely falsy
    inner: Deferred[int] = Deferred()
    d.add_callback(lambda _: inner)
    d.callback(1)
    assert repr(d) == "<Deferred waiting on <Deferred pending>>"
    assert d.result is inner  # while paused, the result is what it waits on (as in Twisted)
    inner.callback(5)
    assert repr(d) == "<Deferred result=5>"


def test_add_timeout_turns_only_its_own_cancellation_into_timeout_error() -> None:
    clock = Clock()
    mine: Deferred[int] = Deferred()
    mine.add_timeout(2.0, clock)
    mine.cancel()  # the caller cancelled: that stays a CancelledError
    assert isinstance(outcome(mine), asyncio.CancelledError)
    assert clock.get_delayed_calls() == []  # and the timer is gone
    late: Deferred[int] = Deferred()
    late.add_timeout(0.5, clock)
    clock.advance(0.5)
    error = outcome(late)
    assert isinstance(error, TimeoutError) and isinstance(error.__cause__, asyncio.CancelledError)
    assert "had no result within 0.5 s" in str(error) and str(error).startswith("<Deferred")


def test_add_timeout_lets_a_result_in_time_through() -> None:
    clock = Clock()
    d: Deferred[int] = Deferred()
    assert d.add_timeout(1.0, clock) is d
    clock.advance(0.9)
    d.callback(7)
    assert outcome(d) == 7 and clock.get_delayed_calls() == []


def test_as_future_carries_the_exception_itself() -> None:
    async def main() -> None:
        d: Deferred[int] = Deferred()
        future = d.as_future(asyncio.get_running_loop())
        error = KeyError("k")
        d.errback(error)
        with pytest.raises(KeyError) as info:
            await future
        assert info.value is error

    asyncio.run(main())


def test_every_way_of_adding_a_step_passes_keyword_arguments() -> None:
    seen: list[Any] = []

    def step(result: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append((result if not isinstance(result, Exception) else "error", args, kwargs))
        return result

    ok: Deferred[int] = Deferred()
    ok.add_callback(step, 1, a=1)
    ok.add_both(step, 2, b=2)
    ok.add_callbacks(step, step, (3,), {"c": 3}, (4,), {"d": 4})
    ok.callback(0)
    failed: Deferred[int] = Deferred()
    failed.add_both(step, 5, e=5)
    failed.add_callbacks(step, step, (6,), {"f": 6}, (7,), {"g": 7})
    failed.errback(KeyError("k"))
    assert seen == [
        (0, (1,), {"a": 1}),
        (0, (2,), {"b": 2}),
        (0, (3,), {"c": 3}),
        ("error", (5,), {"e": 5}),
        ("error", (7,), {"g": 7}),
    ]
    assert isinstance(outcome(failed), KeyError)


def test_misuse_errors_say_what_to_do() -> None:
    d: Deferred[Any] = Deferred()
    with pytest.raises(TypeError) as plain:
        d.callback(Deferred())
    assert str(plain.value).startswith("callback() needs a plain value, not <Deferred pending>")
    assert str(plain.value).endswith(
        ": report errors with errback() and chain Deferreds by returning them from a callback"
    )
    with pytest.raises(TypeError, match=r"errback\(\) needs an exception instance, got 5"):
        d.errback(5)  # type: ignore[arg-type]
    d.callback(1)
    with pytest.raises(Exception) as info:
        d.callback(2)
    assert str(info.value).endswith(
        "already has a result; a Deferred fires exactly once (create a new one for each result)"
    )


def test_a_step_added_from_inside_the_chain_runs_after_the_steps_already_waiting() -> None:
    log: list[tuple[str, int]] = []
    d: Deferred[int] = Deferred()

    def first(result: int) -> int:
        d.add_callback(lambda r: log.append(("added", r)))  # re-enters the running chain
        return result + 1

    d.add_callback(first)
    d.add_callback(lambda r: log.append(("waiting", r)) or r * 10)
    d.callback(1)
    assert log == [("waiting", 2), ("added", 20)]


def test_an_unhandled_error_is_logged_when_collected(caplog: pytest.LogCaptureFixture) -> None:
    import gc

    d: Deferred[int] = Deferred()
    d.errback(ValueError("nobody took me"))
    del d
    gc.collect()
    [record] = [r for r in caplog.records if "Unhandled error" in r.getMessage()]
    assert record.getMessage() == (
        "Unhandled error in Deferred (no errback took it before it was garbage collected):"
    )
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)

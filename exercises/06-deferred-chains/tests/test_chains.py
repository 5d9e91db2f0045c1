"""Graded tests for exercise 06 (deferred-chains): results, errors, call counts."""

from __future__ import annotations

from typing import Any

from chains import first_success, log_outcome, parse_and_double, recover_only, with_default

from minireactor.defer import Deferred
from minireactor.grader.testing import expect, points


def outcome(d: Deferred[Any]) -> tuple[str, Any]:
    """("ok", value) or ("error", the exception) of a fired Deferred, consuming errors."""
    box: list[tuple[str, Any]] = []
    d.add_callbacks(lambda v: box.append(("ok", v)), lambda e: box.append(("error", e)))
    assert box, "the Deferred returned has not fired"
    return box[0]


@points(2)
def test_parse_and_double() -> None:
    d: Deferred[str] = Deferred()
    chained = parse_and_double(d)
    d.callback("21")
    expect(outcome(chained), ("ok", 42), "parse_and_double('21')")
    bad: Deferred[str] = Deferred()
    result = parse_and_double(bad)
    bad.callback("twenty-one")
    kind, exc = outcome(result)
    expect((kind, type(exc).__name__), ("error", "ValueError"), "parse_and_double('twenty-one')")


@points(2)
def test_with_default() -> None:
    good: Deferred[Any] = Deferred()
    good.callback("value")
    expect(outcome(with_default(good, "default")), ("ok", "value"), "with_default on success")
    bad: Deferred[Any] = Deferred()
    chained = with_default(bad, "default")
    bad.errback(ConnectionError("refused"))
    expect(outcome(chained), ("ok", "default"), "with_default on an error")


@points(2)
def test_recover_only_its_kind() -> None:
    d: Deferred[Any] = Deferred()
    chained = recover_only(d, LookupError, "recovered")
    d.errback(KeyError("missing"))  # a subclass of LookupError
    expect(outcome(chained), ("ok", "recovered"), "recover_only(LookupError) after a KeyError")
    other: Deferred[Any] = Deferred()
    error = TimeoutError("slow")
    chained = recover_only(other, LookupError, "recovered")
    other.errback(error)
    kind, exc = outcome(chained)
    expect(kind, "error", "recover_only(LookupError) after a TimeoutError")
    expect(exc is error, True, "the same exception object passed on")


@points(2)
def test_log_outcome_passes_things_on() -> None:
    log: list[tuple[str, Any]] = []
    ok: Deferred[Any] = Deferred()
    chained_ok = log_outcome(ok, log)
    ok.callback(7)
    bad: Deferred[Any] = Deferred()
    chained_bad = log_outcome(bad, log)
    bad.errback(OSError("disk"))
    expect(log, [("ok", 7), ("error", "OSError")], "the log")
    expect(outcome(chained_ok), ("ok", 7), "the value after log_outcome")
    kind, exc = outcome(chained_bad)
    expect((kind, type(exc).__name__), ("error", "OSError"), "the error after log_outcome")


@points(2)
def test_first_success_tries_in_order_and_stops() -> None:
    calls: list[str] = []
    pending: dict[str, Deferred[Any]] = {}

    def attempt(name: str) -> Any:
        def call() -> Deferred[Any]:
            calls.append(name)
            pending[name] = Deferred()
            return pending[name]
        return call

    result = first_success([attempt("a"), attempt("b"), attempt("c")])
    expect(calls, ["a"], "attempts called before the first one finished")
    pending["a"].errback(ConnectionError("a failed"))
    expect(calls, ["a", "b"], "attempts called after the first failed")
    pending["b"].callback("from b")
    expect(calls, ["a", "b"], "attempts called after the second succeeded")
    expect(outcome(result), ("ok", "from b"), "first_success's result")

"""Hidden tests for exercise 06: all attempts fail; none given."""

from __future__ import annotations

from typing import Any

from chains import first_success

from minireactor.defer import Deferred, fail
from minireactor.grader.testing import expect, points


def outcome(d: Deferred[Any]) -> tuple[str, Any]:
    box: list[tuple[str, Any]] = []
    d.add_callbacks(lambda v: box.append(("ok", v)), lambda e: box.append(("error", e)))
    assert box, "the Deferred returned has not fired"
    return box[0]


@points(1)
def test_all_fail_with_the_last_error() -> None:
    last = TimeoutError("c")
    result = first_success([lambda: fail(OSError("a")), lambda: fail(KeyError("b")),
                            lambda: fail(last)])
    kind, exc = outcome(result)
    expect((kind, exc is last), ("error", True), "(outcome, the last error)")


@points(1)
def test_no_attempts() -> None:
    kind, exc = outcome(first_success([]))
    expect((kind, type(exc).__name__), ("error", "ValueError"), "first_success([])")

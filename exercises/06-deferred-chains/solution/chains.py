"""Exercise 06 - deferred-chains: reference solution.

Every function is a few `add_*` calls. The one idea worth a comment is in
`first_success`: an errback that *returns a Deferred* pauses the chain until
that Deferred fires, and its outcome becomes the chain's - so trying the next
attempt is just "return attempt()" from an errback, added once per attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minireactor.defer import Deferred


def parse_and_double(d: Deferred[str]) -> Deferred[int]:
    """When `d` fires with a string like "21", the chain yields int("21") * 2.

    Errors (from `d`, or a string that is not a number: ValueError) pass through.
    """
    d.add_callback(int)
    d.add_callback(lambda number: number * 2)
    return d  # type: ignore[return-value]


def with_default(d: Deferred[Any], default: Any) -> Deferred[Any]:
    """Recover from any error by yielding `default`; successes pass unchanged."""
    return d.add_errback(lambda exc: default)


def recover_only(d: Deferred[Any], kind: type[BaseException], value: Any) -> Deferred[Any]:
    """Recover from errors of type `kind` (and subclasses) with `value`.

    Any other error continues down the chain unchanged (the same exception object).
    """
    def maybe_recover(exc: BaseException) -> Any:
        if isinstance(exc, kind):
            return value
        return exc  # returning the exception keeps the chain on its error path, unchanged

    return d.add_errback(maybe_recover)


def log_outcome(d: Deferred[Any], log: list[tuple[str, Any]]) -> Deferred[Any]:
    """Append ("ok", result) or ("error", exception class name) to `log`.

    The result or the error then continues down the chain unchanged.
    """
    def record(outcome: Any) -> Any:
        if isinstance(outcome, BaseException):
            log.append(("error", type(outcome).__name__))
        else:
            log.append(("ok", outcome))
        return outcome

    return d.add_both(record)


def first_success(attempts: list[Callable[[], Deferred[Any]]]) -> Deferred[Any]:
    """Call the attempts one at a time until one's Deferred succeeds.

    Returns a Deferred that fires with the first success. An attempt is called
    only after the previous one failed. If all fail, it fails with the last
    error. With no attempts, it fails with ValueError.
    """
    if not attempts:
        failed: Deferred[Any] = Deferred()
        failed.errback(ValueError("first_success() needs at least one attempt"))
        return failed
    d = attempts[0]()
    for attempt in attempts[1:]:
        # Bind `attempt` now: a lambda would see only the loop's last value.
        d.add_errback(lambda exc, attempt=attempt: attempt())
    return d

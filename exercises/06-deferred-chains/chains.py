"""Exercise 06 - deferred-chains: build pipelines out of callbacks and errbacks.

A `minireactor.defer.Deferred` runs its callbacks in order, each one getting
the previous one's result; a raised exception switches to the errbacks, and
an errback that returns a value recovers. Each function below *adds steps to*
a Deferred and returns it (or a new one). Read README.md first; check with
`minireactor grade deferred-chains`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minireactor.defer import Deferred


def parse_and_double(d: Deferred[str]) -> Deferred[int]:
    """When `d` fires with a string like "21", the chain yields int("21") * 2.

    Errors (from `d`, or a string that is not a number: ValueError) pass through.
    """
    raise NotImplementedError("parse_and_double: two d.add_callback(...) steps")


def with_default(d: Deferred[Any], default: Any) -> Deferred[Any]:
    """Recover from any error by yielding `default`; successes pass unchanged."""
    raise NotImplementedError("with_default: one d.add_errback(...) that returns default")


def recover_only(d: Deferred[Any], kind: type[BaseException], value: Any) -> Deferred[Any]:
    """Recover from errors of type `kind` (and subclasses) with `value`.

    Any other error continues down the chain unchanged (the same exception object).
    """
    raise NotImplementedError("recover_only: an errback that returns value or re-raises")


def log_outcome(d: Deferred[Any], log: list[tuple[str, Any]]) -> Deferred[Any]:
    """Append ("ok", result) or ("error", exception class name) to `log`.

    The result or the error then continues down the chain unchanged.
    """
    raise NotImplementedError("log_outcome: d.add_both(...) - and pass the outcome on")


def first_success(attempts: list[Callable[[], Deferred[Any]]]) -> Deferred[Any]:
    """Call the attempts one at a time until one's Deferred succeeds.

    Returns a Deferred that fires with the first success. An attempt is called
    only after the previous one failed. If all fail, it fails with the last
    error. With no attempts, it fails with ValueError.
    """
    raise NotImplementedError(
        "first_success: an errback that returns the next attempt's Deferred (chaining)"
    )

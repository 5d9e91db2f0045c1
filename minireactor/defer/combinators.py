"""Combining Deferreds: wait for several at once, or for a delay.

`DeferredList` waits for a list of Deferreds and reports every outcome;
`gather` is the everyday form (all the results, or the first error, like
asyncio's `gather`). `defer_later` and `sleep` turn a timer into a Deferred,
which is how a coroutine waits: `await sleep(reactor, 1)`.

Layer: built only from `deferred.py`; timers come from any `Scheduler`, so a
`testing.Clock` works as well as a reactor. Read next: `coroutines.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..timers import Scheduler
from .deferred import Deferred, _is_error


class DeferredList(Deferred[Any]):
    """Wait for several Deferreds; fire with `[(succeeded, result), ...]` in their order.

    Args:
        deferreds: the Deferreds to wait for.
        fire_on_one_callback: fire with `(result, index)` on the first success.
        fire_on_one_errback: errback with the first error instead of waiting.
        consume_errors: leave each failed Deferred holding None, so its error
            is reported here only (not again as "unhandled" at GC).

    Cancelling the list cancels every Deferred in it that has no result yet.
    """

    def __init__(
        self,
        deferreds: list[Deferred[Any]],
        fire_on_one_callback: bool = False,
        fire_on_one_errback: bool = False,
        consume_errors: bool = False,
    ) -> None:
        super().__init__(canceller=self._cancel_all)
        self._deferreds = list(deferreds)
        self._results: list[tuple[bool, Any] | None] = [None] * len(self._deferreds)
        self._remaining = len(self._deferreds)
        self._fire_on_one_callback = fire_on_one_callback
        self._fire_on_one_errback = fire_on_one_errback
        self._consume_errors = consume_errors
        if not self._deferreds and not fire_on_one_callback:
            self.callback([])
        for index, d in enumerate(self._deferreds):
            d.add_both(self._one_done, index)

    def _one_done(self, result: Any, index: int) -> Any:
        ok = not _is_error(result)
        self._results[index] = (ok, result)
        self._remaining -= 1
        if not self.called:
            if ok and self._fire_on_one_callback:
                self.callback((result, index))
            elif not ok and self._fire_on_one_errback:
                self.errback(result)
            elif self._remaining == 0:
                self.callback(self._results)
        if not ok and self._consume_errors:
            return None
        return result

    def _cancel_all(self, _: Deferred[Any]) -> None:
        for d in self._deferreds:
            if not d.called:
                d.cancel()


def gather(*deferreds: Deferred[Any], consume_errors: bool = True) -> Deferred[list[Any]]:
    """Fire with the list of all results, or errback with the first error.

    The error is the original exception, not a wrapper. `consume_errors`
    defaults to True, unlike Twisted's `gatherResults`: the gathered Deferred
    already reports the failure, and asyncio's `gather` behaves the same way.
    """
    dl = DeferredList(list(deferreds), fire_on_one_errback=True, consume_errors=consume_errors)
    return dl.add_callback(lambda results: [result for _, result in results])


def defer_later(
    reactor: Scheduler, delay: float, f: Callable[..., Any], *args: Any
) -> Deferred[Any]:
    """Call `f(*args)` after `delay` seconds; the Deferred fires with its result.

    Cancelling before then cancels the timer, so `f` never runs.
    """
    d: Deferred[Any] = Deferred(canceller=lambda _: timer.cancel())
    timer = reactor.call_later(delay, d.callback, None)
    d.add_callback(lambda _: f(*args))
    return d


def sleep(reactor: Scheduler, seconds: float) -> Deferred[None]:
    """A Deferred that fires with None after `seconds`: `await sleep(reactor, 1)`."""
    return defer_later(reactor, seconds, lambda: None)

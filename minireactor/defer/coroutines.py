"""Coroutine glue: `await` on Deferreds, and calling anything to get a Deferred.

A coroutine that awaits a Deferred hands it up to its driver (see
`Deferred.__await__`); `ensure_deferred` is that driver: it resumes the
coroutine from a callback on the awaited Deferred and returns a Deferred
for the coroutine's result. `maybe_deferred` calls any function (plain,
`async def`, or returning a Deferred) and always gives a Deferred back.
(`minireactor.run(main)`, which runs a `main` on a fresh reactor, is built
on these in `../main.py`.)

Layer: above `deferred.py`; imports no reactor. Read next: `task.py`
(LoopingCall), then `threads.py`.
"""

from __future__ import annotations

import inspect
from asyncio import CancelledError
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .deferred import Deferred, _is_error, fail, succeed

_T = TypeVar("_T")


class _CoroutineRunner:
    """Drives one coroutine: each `await` of a Deferred becomes a callback.

    The coroutine yields the Deferred it awaits (see `Deferred.__await__`);
    we add a callback to it that resumes the coroutine. If that Deferred has
    already fired, the callback runs inside `add_both`, while `_step` is still
    on the stack; resuming recursively there would grow the stack with each
    ready await, so the callback leaves the result for `_step`'s loop instead.
    """

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._coro = coro
        self.deferred: Deferred[Any] = Deferred(canceller=self._cancel)
        self._awaiting: Deferred[Any] | None = None
        self._stepping = False
        self._ready: list[Any] = []  # a result that arrived while _step was running

    def _step(self, result: Any) -> None:
        self._stepping = True
        try:
            while True:
                try:
                    if _is_error(result):
                        awaited = self._coro.throw(result)
                    else:
                        awaited = self._coro.send(result)
                except StopIteration as stop:
                    self._finish(stop.value)
                    return
                except (Exception, CancelledError) as exc:
                    self.deferred.errback(exc)
                    return
                if not isinstance(awaited, Deferred):
                    result = TypeError(
                        f"a coroutine run by ensure_deferred awaited {awaited!r}; it can only "
                        "await Deferreds (wrap an asyncio future with Deferred.from_future)"
                    )
                    continue
                self._awaiting = awaited
                awaited.add_both(self._resume)
                if not self._ready:
                    return  # it will resume us later, from its callback
                result = self._ready.pop()
        finally:
            self._stepping = False

    def _finish(self, value: Any) -> None:
        if isinstance(value, Deferred):
            value = TypeError(f"a coroutine returned {value!r}; await it instead of returning it")
        self.deferred._start(value)  # an exception returned is an error, as in any callback

    def _resume(self, result: Any) -> None:
        self._awaiting = None
        if self._stepping:
            self._ready.append(result)
        else:
            self._step(result)

    def _cancel(self, _: Deferred[Any]) -> None:
        # Cancelling the Deferred we await makes it errback with
        # CancelledError, which _step throws into the coroutine at its await.
        if self._awaiting is not None:
            self._awaiting.cancel()


def ensure_deferred(coro: Coroutine[Any, Any, _T] | Deferred[_T]) -> Deferred[_T]:
    """Start running a coroutine; return a Deferred for its result.

    The coroutine runs at once, up to its first `await` of a pending
    Deferred. Cancelling the returned Deferred throws `CancelledError` into
    the coroutine where it is waiting. A Deferred is returned unchanged.

    Raises:
        TypeError: `coro` is neither a coroutine nor a Deferred.
    """
    if isinstance(coro, Deferred):
        return coro
    if not inspect.iscoroutine(coro):
        raise TypeError(f"ensure_deferred() needs a coroutine (call your async def), got {coro!r}")
    runner = _CoroutineRunner(coro)
    runner._step(None)
    return runner.deferred


def maybe_deferred(f: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
    """Call `f` and always get a Deferred back, whatever it did.

    A plain value is wrapped with `succeed`, an exception with `fail`, a
    coroutine is started with `ensure_deferred`; a Deferred is returned as is.
    """
    try:
        result = f(*args, **kwargs)
    except Exception as exc:
        return fail(exc)
    if isinstance(result, Deferred):
        return result
    if inspect.iscoroutine(result):
        return ensure_deferred(result)
    return succeed(result)

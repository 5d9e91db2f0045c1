"""The Deferred: a result that is not there yet, and the functions waiting for it.

A `Deferred` is a promise that *someone* will call `callback(result)` or
`errback(exc)` later. Code that wants the result does not wait for it: it
registers functions with `add_callback` / `add_errback`, and the Deferred runs
them, in order, when the result arrives. Each function receives the previous
one's return value, so a Deferred is a little pipeline (Twisted's idea).

The one rule that makes the pipeline work: **an exception is an error**. A
callback that raises, or that returns an exception object, sends the chain
down the error path; an errback that returns anything else recovers it.

Layer: the bottom of `minireactor.defer`; it needs only `call_later` and
`seconds` from a reactor. Read next: `combinators.py` (several Deferreds).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from asyncio import CancelledError
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from ..errors import MiniReactorError
from ..timers import Scheduler

log = logging.getLogger("minireactor.defer")

_T = TypeVar("_T")
_S = TypeVar("_S")


class AlreadyCalledError(MiniReactorError, RuntimeError):
    """`callback` or `errback` was called on a Deferred that already has a result."""


def _is_error(result: Any) -> bool:
    return isinstance(result, BaseException)


@dataclass
class _Handler:
    """One function in a chain, with the extra arguments to pass it."""

    func: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


class Deferred(Generic[_T]):
    """A result that will arrive later, and the functions waiting for it.

    Attributes:
        called: True once `callback` or `errback` has been called.
        result: the current value at the end of the chain: the last callback's
            return value, an exception while the chain is on its error path,
            or (while paused on another Deferred) that Deferred.

    Errors are plain exception objects, and they keep their `__traceback__`,
    so an errback can log or re-raise them with the stack of the original
    failure. An error that reaches the end of the chain and stays there is
    logged as "Unhandled error in Deferred" when the Deferred is garbage
    collected: only then do we know for sure that nobody will ever add an
    errback. (Cancellation is not logged: you asked for it.)
    """

    def __init__(self, canceller: Callable[[Deferred[Any]], object] | None = None) -> None:
        """Create a Deferred that has no result yet.

        Args:
            canceller: called by `cancel()` to stop the work behind this
                Deferred (close a socket, cancel a timer). It may fire the
                Deferred itself; if not, `cancel()` errbacks it with
                `CancelledError`.
        """
        self.called = False
        self.result: Any = None
        self._canceller = canceller
        self._chain: list[tuple[_Handler | None, _Handler | None]] = []
        self._waiting_on: Deferred[Any] | None = None  # set while paused on another Deferred
        self._running = False  # True while _run_callbacks is on the stack
        self._suppress_already_called = False

    # -- registering callbacks ------------------------------------------------

    def add_callbacks(
        self,
        callback: Callable[..., Any] | None,
        errback: Callable[..., Any] | None = None,
        callback_args: tuple[Any, ...] = (),
        callback_kwargs: dict[str, Any] | None = None,
        errback_args: tuple[Any, ...] = (),
        errback_kwargs: dict[str, Any] | None = None,
    ) -> Deferred[Any]:
        """Add a callback for success and an errback for failure, as one step.

        Exactly one of the two runs. `None` on either side passes that kind of
        result through unchanged. Returns self, so calls can be chained; if
        the result is already here, the new step runs at once.
        """
        ok = None if callback is None else _Handler(callback, callback_args, callback_kwargs or {})
        bad = None if errback is None else _Handler(errback, errback_args, errback_kwargs or {})
        self._chain.append((ok, bad))
        if self.called:
            self._run_callbacks()
        return self

    def add_callback(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Run `f(result, *args, **kwargs)` on success; errors pass by."""
        return self.add_callbacks(f, None, args, kwargs)

    def add_errback(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Run `f(exc, *args, **kwargs)` on error; return a value to recover."""
        return self.add_callbacks(None, f, errback_args=args, errback_kwargs=kwargs)

    def add_both(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Run `f` on either outcome (like `finally`; return the argument to pass it on)."""
        return self.add_callbacks(f, f, args, kwargs, args, kwargs)

    # -- firing -----------------------------------------------------------------

    def callback(self, result: _T) -> None:
        """Deliver the result: the chain starts running now.

        Raises:
            AlreadyCalledError: this Deferred already has a result.
            TypeError: `result` is a Deferred or an exception (use `errback`).
        """
        if isinstance(result, Deferred) or _is_error(result):
            raise TypeError(
                f"callback() needs a plain value, not {result!r}: report errors with errback() "
                "and chain Deferreds by returning them from a callback"
            )
        self._start(result)

    def errback(self, exc: BaseException | None = None) -> None:
        """Deliver an error. With no argument, inside `except:`, the one being handled.

        Raises:
            AlreadyCalledError: this Deferred already has a result.
            TypeError: no exception given and none is being handled.
        """
        if exc is None:
            exc = sys.exc_info()[1]
        if not isinstance(exc, BaseException):
            raise TypeError(f"errback() needs an exception instance, got {exc!r}")
        self._start(exc)

    def _start(self, result: Any) -> None:
        if self.called:
            if self._suppress_already_called:
                # We were cancelled and errbacked ourselves; the work behind us
                # did not know and has now finished. Ignore it, once.
                self._suppress_already_called = False
                return
            raise AlreadyCalledError(
                f"{self!r} already has a result; a Deferred fires exactly once "
                "(create a new one for each result)"
            )
        self.called = True
        self.result = result
        self._run_callbacks()

    def cancel(self) -> None:
        """Ask for the work to stop; the Deferred errbacks with `CancelledError`.

        If the result is already here, there is nothing to cancel, unless the
        chain is paused waiting for another Deferred: then that one is cancelled.
        `CancelledError` is `asyncio.CancelledError` itself, so coroutines and
        asyncio code catch the same exception whichever loop runs them.
        """
        if not self.called:
            if self._canceller is not None:
                self._canceller(self)
            if not self.called:
                self.errback(CancelledError())
                self._suppress_already_called = True
        elif self._waiting_on is not None:
            self._waiting_on.cancel()

    # -- running the chain ------------------------------------------------------

    def _run_callbacks(self) -> None:
        """Run waiting steps until the chain is empty or paused on another Deferred."""
        if self._running:
            return  # re-entered from one of our own callbacks: the outer loop carries on
        self._running = True
        try:
            while self._chain and self._waiting_on is None:
                ok, bad = self._chain.pop(0)
                handler = bad if _is_error(self.result) else ok
                if handler is None:
                    continue  # this step does not handle this kind of result: pass it on
                try:
                    result = handler.func(self.result, *handler.args, **handler.kwargs)
                except (Exception, CancelledError) as exc:
                    # KeyboardInterrupt and SystemExit are not caught: they must
                    # stop the program, not travel down a chain.
                    result = exc
                if isinstance(result, Deferred):
                    self._pause_on(result)
                else:
                    self.result = result
        finally:
            self._running = False

    def _pause_on(self, inner: Deferred[Any]) -> None:
        """A callback returned a Deferred: wait for it, then go on with its result."""
        if inner is self:
            self.result = RuntimeError(
                "a callback returned its own Deferred; it would wait forever"
            )
            return
        self._waiting_on = inner
        self.result = inner
        inner.add_both(self._resume)  # may run at once, if inner has fired

    def _resume(self, result: Any) -> None:
        self._waiting_on = None
        self.result = result
        self._run_callbacks()
        # Returning None leaves `inner` holding None: its result, error or not,
        # now belongs to us, so `inner` must not report it as unhandled.

    def __del__(self) -> None:
        """Log an error that no errback took, now that none ever can.

        Discussion: while anyone holds this Deferred, they may still add an
        errback, so an error sitting at the end of the chain is not yet
        "unhandled"; logging it at once would cry wolf. Never logging it
        would hide bugs: the failure would vanish without a trace. Garbage
        collection is the one moment we know for sure. Python calls
        `__del__` once per object, even for objects in reference cycles
        (PEP 442; tracebacks often make cycles, which `gc.collect()` finds),
        so each error is logged exactly once.
        """
        result = getattr(self, "result", None)
        if isinstance(result, BaseException) and not isinstance(result, CancelledError):
            log.error(
                "Unhandled error in Deferred (no errback took it before it was garbage collected):",
                exc_info=result,
            )

    def __repr__(self) -> str:
        if self._waiting_on is not None:
            state = f"waiting on {self._waiting_on!r}"
        elif self.called:
            state = f"result={self.result!r}"
        else:
            state = "pending"
        return f"<Deferred {state}>"

    # -- timeouts ---------------------------------------------------------------

    def add_timeout(self, seconds: float, reactor: Scheduler) -> Deferred[_T]:
        """Cancel this Deferred if it has no result within `seconds`.

        A timeout shows up as `TimeoutError` (the built-in) instead of
        `CancelledError`. Returns self.
        """
        timed_out = False

        def expire() -> None:
            nonlocal timed_out
            timed_out = True
            self.cancel()

        timer = reactor.call_later(seconds, expire)

        def convert(result: Any) -> Any:
            if timer.active():
                timer.cancel()
            if timed_out and isinstance(result, CancelledError):
                raise TimeoutError(f"{self!r} had no result within {seconds} s") from result
            return result

        self.add_both(convert)
        return self

    # -- coroutines and asyncio -------------------------------------------------

    def __await__(self) -> Generator[Any, Any, _T]:
        """Awaiting a Deferred hands it to whoever drives the coroutine.

        The whole trick is one `yield`: the coroutine stops and passes this
        Deferred up to its driver (`ensure_deferred`), which adds a callback
        that resumes the coroutine with `send(result)`, or `throw(exc)` on
        error. Like any callback that returns None, that consumes the result:
        a second `await` of the same Deferred gets None.

        Inside an asyncio task, await `d.as_future(loop)` instead: asyncio's
        driver only understands its own futures.
        """
        result = yield self
        return cast(_T, result)

    def as_future(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[_T]:
        """An asyncio future on `loop` with this Deferred's outcome.

        Cancelling the future cancels this Deferred. Use from the loop's thread.
        """
        future: asyncio.Future[_T] = loop.create_future()

        def transfer(result: Any) -> None:
            if future.done():
                return  # it was cancelled from the asyncio side
            if isinstance(result, CancelledError):
                future.cancel()
            elif _is_error(result):
                future.set_exception(result)
            else:
                future.set_result(result)
            # Returning None: the future owns the outcome now (and asyncio
            # reports exceptions nobody retrieved from it).

        def on_done(f: asyncio.Future[_T]) -> None:
            if f.cancelled():
                self.cancel()

        future.add_done_callback(on_done)
        self.add_both(transfer)
        return future

    @staticmethod
    def from_future(future: asyncio.Future[_S]) -> Deferred[_S]:
        """A Deferred with the outcome of an asyncio future (cancel goes both ways)."""
        d: Deferred[_S] = Deferred(canceller=lambda _: future.cancel())

        def adapt(f: asyncio.Future[_S]) -> None:
            if d.called:
                return  # the Deferred was cancelled first and has its result
            if f.cancelled():
                d.errback(CancelledError())
            elif (exc := f.exception()) is not None:
                d.errback(exc)
            else:
                d.callback(f.result())

        future.add_done_callback(adapt)
        return d


def succeed(result: _T) -> Deferred[_T]:
    """A Deferred that already has `result`."""
    d: Deferred[_T] = Deferred()
    d.callback(result)
    return d


def fail(exc: BaseException) -> Deferred[Any]:
    """A Deferred that already failed with `exc`."""
    d: Deferred[Any] = Deferred()
    d.errback(exc)
    return d

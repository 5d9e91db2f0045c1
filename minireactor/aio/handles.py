"""Handles: asyncio's callback objects, queued on minireactor's reactor.

asyncio promises that `loop.call_soon(f)` returns a `Handle` and that
`loop.call_later(d, f)` returns a `TimerHandle`, both with `cancel()`.
minireactor's reactor keeps plain `(func, args)` pairs in its ready queue and
`DelayedCall`s in its `TimerQueue`. This module makes the two meet:

* The reactor's ready queue holds `handle._run` (a bound method). Cancelling
  a handle does not search the queue (a deque is O(n) in the middle): the
  handle stays queued and `_run` returns at once when its turn comes. That
  is exactly how asyncio's own `_run_once` skips cancelled handles.
* A `ReactorTimerHandle` remembers the `DelayedCall` the reactor scheduled for
  it, so `cancel()` cancels that call too (the heap then drops it lazily).

The reactor runs, in each pass, the callbacks that were ready before it,
then those of ready descriptors, then the timers that came due: asyncio's
own order, so asyncio code sees the same interleaving on both loops.

Discussion: `_run` is the hottest function in `minireactor.aio` (every task
step passes through it), so it is written out in full instead of calling
`asyncio.Handle._run` through `super()`: one Python frame less per callback.

Read next: `loop.py`, which creates these handles.
"""

from __future__ import annotations

import asyncio
import contextvars
from asyncio import format_helpers
from asyncio.log import logger
from collections.abc import Callable
from typing import Any


class ReadyHandle(asyncio.Handle):
    """A `Handle` that the reactor runs from its ready queue (see module docstring)."""

    __slots__ = ()
    # Attributes asyncio.Handle sets in __init__ (declared for the type checker).
    _callback: Callable[..., object]
    _context: contextvars.Context
    _loop: Any
    _source_traceback: Any

    def _run(self) -> None:
        if self._cancelled:
            return  # cancelled while queued: skip it, as asyncio does
        if self._source_traceback is not None:
            # Only handles made in debug mode carry a traceback.
            _run_in_debug_mode(self)
            return
        try:
            self._context.run(self._callback, *self._args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            report_callback_error(self, exc)


class ReactorTimerHandle(ReadyHandle, asyncio.TimerHandle):
    """A `TimerHandle` backed by a reactor `DelayedCall` (set in `_delayed`)."""

    __slots__ = ("_delayed",)
    _delayed: Any
    _scheduled: bool


def report_callback_error(handle: ReadyHandle, exc: BaseException) -> None:
    """Hand an exception raised by a callback to the loop's exception handler."""
    source = format_helpers._format_callback_source(handle._callback, handle._args)
    context: dict[str, Any] = {
        "message": f"Exception in callback {source}",
        "exception": exc,
        "handle": handle,
    }
    if handle._source_traceback:
        context["source_traceback"] = handle._source_traceback
    handle._loop.call_exception_handler(context)


def _run_in_debug_mode(handle: ReadyHandle) -> None:
    """Run `handle`, recording it as the current handle and warning when slow.

    asyncio's debug mode does the same: a callback that blocks the loop for
    longer than `loop.slow_callback_duration` (0.1 s) is logged.
    """
    loop = handle._loop
    loop._current_handle = handle
    start = loop.time()
    try:
        handle._context.run(handle._callback, *handle._args)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        report_callback_error(handle, exc)
    finally:
        loop._current_handle = None
    elapsed = loop.time() - start
    if elapsed >= loop.slow_callback_duration:
        logger.warning("Executing %s took %.3f seconds", _describe(handle), elapsed)


def _describe(handle: ReadyHandle) -> str:
    """A handle's repr, or its task's when the handle is a task step (more useful)."""
    owner = getattr(handle._callback, "__self__", None)
    return repr(owner) if isinstance(owner, asyncio.Task) else repr(handle)

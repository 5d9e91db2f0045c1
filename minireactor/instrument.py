"""Watching the loop: the slow-callback detector and the tracer's hooks.

While neither the tracer nor the slow-callback check is on, none of this
code runs: the loop core (core.py) calls user code through its plain
`_call` and `_dispatch`. Switching either on makes the core store the
methods of a `TimedCalls` as instance attributes of the same names, which
shadow the plain methods; switching both off deletes them again. So an
uninstrumented core pays nothing for the feature, not even an `if` per
callback (benchmarks/README.md has the measurement).

`describe` names a callback for log lines and trace events; `threads.py`
uses it too.

Read next: `trace.py` (what the tracer records and how it draws it).
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .backends import READABLE, WRITABLE

if TYPE_CHECKING:
    from .descriptors import Descriptors
    from .trace import Trace

log = logging.getLogger("minireactor")


def in_jupyter_kernel() -> bool:
    """True when running inside a Jupyter (IPython) kernel."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def describe(func: Callable[..., Any]) -> str:
    """A readable name for a callback, for log messages.

    An I/O callback is a transport's method (`TCPTransport._read_ready`); the
    code a student wrote is its protocol's, so that is named first.
    """
    if isinstance(func, functools.partial):
        func = func.func
    name = str(getattr(func, "__qualname__", None) or repr(func))
    protocol = getattr(getattr(func, "__self__", None), "_protocol", None)
    if protocol is not None:
        return f"{type(protocol).__qualname__} (via {name})"
    return name


def instrument(core: Any, tracer: Trace | None, slow: float | None, fds: Descriptors) -> None:
    """Make `core` call through `TimedCalls` while `tracer` or `slow` is set; else stop.

    Its methods become instance attributes that shadow the core's `_call`
    and `_dispatch`: an uninstrumented core pays nothing, not even an `if`.
    """
    shadows = vars(core)
    if tracer is not None or slow is not None:
        timed = TimedCalls(tracer, slow, fds)
        shadows["_call"] = timed.call
        shadows["_dispatch"] = timed.dispatch
    else:
        shadows.pop("_call", None)
        shadows.pop("_dispatch", None)


class TimedCalls:
    """The core's `_call` and `_dispatch`, timed: for the tracer and the slow-callback warning.

    Args:
        tracer: the `Trace` to record each call into, or None.
        slow: warn about callbacks that run at least this long (s), or None.
    """

    def __init__(self, tracer: Trace | None, slow: float | None, descriptors: Descriptors) -> None:
        self.tracer = tracer
        self.slow = slow
        self._descriptors = descriptors

    def dispatch(self, events: list[tuple[int, int]]) -> None:
        """`LoopCore._dispatch` through the timed `call`."""
        watch_for = self._descriptors.watch_for
        for fd, mask in events:
            watch = watch_for(fd)
            if watch is None:
                continue
            if mask & READABLE and watch.reader is not None:
                self.call(watch.reader, (), "callback")
            if mask & WRITABLE and watch.writer is not None:
                self.call(watch.writer, (), "callback")

    def call(
        self, func: Callable[..., Any], args: tuple[Any, ...], kind: str = "", late: float = 0.0
    ) -> None:
        """`LoopCore._call`, timed: warns about slow callbacks and feeds the tracer."""
        start = time.perf_counter()
        try:
            func(*args)
        except Exception:
            log.exception("Unhandled error in callback %s", describe(func))
        finally:
            end = time.perf_counter()
            if self.tracer is not None:
                self.tracer.add(kind or "callback", describe(func), start, end, {"late": late})
            slow = self.slow
            if slow is not None and end - start >= slow:
                log.warning(
                    "Slow callback: %s blocked the loop for %.3f s (limit %.3f s). Nothing else "
                    "runs meanwhile; move blocking or CPU-heavy work to a thread "
                    "(defer_to_thread) or split it up with call_soon.",
                    describe(func),
                    end - start,
                    slow,
                )

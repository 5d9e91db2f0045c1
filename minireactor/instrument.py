"""Watching the loop: the slow-callback detector and the tracer's hooks.

`Reactor` inherits `Instrumented`. While neither the tracer nor the
slow-callback check is on, none of this code runs: the reactor calls user
code through its plain `_call` and `_dispatch`. Switching either on stores
the timed versions below as instance attributes of the same names, which
shadow the plain methods; switching both off deletes them again. So an
uninstrumented reactor pays nothing for the feature, not even an `if` per
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

from .backends import READ, WRITE, Backend
from .trace import Trace, _TracingBackend

if TYPE_CHECKING:
    from .reactor import _FdWatch

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


class Instrumented:
    """The reactor's timed callback path, used while someone is watching."""

    # Set by Reactor.__init__; declared here for the type checker.
    tracer: Trace | None
    _slow_callback_duration: float | None
    _raw_backend: Backend
    _backend: Backend | _TracingBackend
    _connections: set[Any]

    def _dispatch_instrumented(self, events: list[tuple[_FdWatch, int]]) -> None:
        """`Reactor._dispatch` through the timed `_call_instrumented`."""
        for watch, mask in events:
            if mask & READ and watch.reader is not None:
                self._call_instrumented(watch.reader, (), "callback")
            if mask & WRITE and watch.writer is not None:
                self._call_instrumented(watch.writer, (), "callback")

    def _call_instrumented(
        self, func: Callable[..., Any], args: tuple[Any, ...], kind: str = "", late: float = 0.0
    ) -> None:
        """`Reactor._call`, timed: warns about slow callbacks and feeds the tracer."""
        start = time.perf_counter()
        try:
            func(*args)
        except Exception:
            log.exception("Unhandled error in callback %s", describe(func))
        finally:
            end = time.perf_counter()
            if self.tracer is not None:
                self.tracer.add(kind or "callback", describe(func), start, end, {"late": late})
            slow = self._slow_callback_duration
            if slow is not None and end - start >= slow:
                log.warning(
                    "Slow callback: %s blocked the loop for %.3f s (limit %.3f s). Nothing else "
                    "runs meanwhile; move blocking or CPU-heavy work to a thread "
                    "(defer_to_thread) or split it up with call_soon.",
                    describe(func),
                    end - start,
                    slow,
                )

    @property
    def slow_callback_duration(self) -> float | None:
        """Warn about callbacks that run at least this many seconds (None: off)."""
        return self._slow_callback_duration

    @slow_callback_duration.setter
    def slow_callback_duration(self, seconds: float | None) -> None:
        self._slow_callback_duration = seconds
        self._instrument()

    def set_tracer(self, trace: Trace | None) -> None:
        """Record into `trace` from now on (None: stop). See `trace.record`."""
        self._backend = (
            self._raw_backend if trace is None else _TracingBackend(self._raw_backend, trace)
        )
        self.tracer = trace
        for conn in self._connections:
            if hasattr(conn, "tracer"):  # transports that report their reads and writes
                conn.tracer = trace
        self._instrument()

    def _instrument(self) -> None:
        """Use the timed path while the tracer or the slow-callback check is on."""
        shadows = vars(self)  # instance attributes win over methods of the same name
        if self.tracer is not None or self._slow_callback_duration is not None:
            shadows["_call"] = self._call_instrumented
            shadows["_dispatch"] = self._dispatch_instrumented
        else:
            shadows.pop("_call", None)
            shadows.pop("_dispatch", None)

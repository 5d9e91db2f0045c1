"""The tracer: a record of what the loop did, to plot, count and export.

Switch it on for one reactor and every pass of the loop leaves a trail::

    with minireactor.trace.record(reactor) as trace:
        reactor.run()
    trace.plot()            # a timeline: one lane per thread, bars for callbacks
    trace.stats()           # per callback: count, total and longest time
    trace.save_perfetto("trace.json")   # open in Perfetto or chrome://tracing

What is recorded (each an `Event` with kind, name, start, end, thread, extra):

* ``wait``     each time the backend waited for I/O (extra: how many events came back);
* ``callback`` each callback the reactor ran (ready queue and I/O callbacks);
* ``timer``    each timer that fired (extra: how late it ran, the loop lag);
* ``accept``, ``read``, ``write``  socket operations, with ``extra["bytes"]``;
* ``thread``   work handed to a thread pool, drawn in the worker's lane.

`trace.plot_lag()` draws how late timers ran (loop lag), and `timeline`
also draws a lab fetch run (threads, processes: `minireactor.lab.trace_report`)
with the same renderer as a trace.

Cost: nothing when off. Tracing swaps in the core's timed `_call` and
wraps its backend in `TracingBackend`; transports check one attribute
(`reactor.tracer`, also what `Reactor(trace=True)` records into) before
reporting bytes. Times are `time.perf_counter()` seconds.

Layer: the core's, which feeds it (it imports nothing above). matplotlib is imported only by
`plot`. Read next: `instrument.py` (`TimedCalls`).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import LoopCore

KINDS = ("wait", "callback", "timer", "accept", "read", "write", "thread")

_COLOURS = {
    "wait": "#d9d9d9",
    "callback": "#4c72b0",
    "timer": "#dd8452",
    "accept": "#55a868",
    "read": "#8172b3",
    "write": "#c44e52",
    "thread": "#937860",
}


@dataclass
class Event:
    """One thing the loop did, from `start` to `end` (perf_counter seconds)."""

    kind: str
    name: str
    start: float
    end: float
    thread: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.end - self.start


class Trace:
    """The events recorded from one or more reactors (appends are thread-safe)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.origin = time.perf_counter()

    # -- recording (called by the reactor, transports and thread pools) --------

    def add(
        self, kind: str, name: str, start: float, end: float, extra: dict[str, Any] | None = None
    ) -> None:
        """Record an event on the calling thread's lane."""
        thread = threading.current_thread().name
        self.events.append(Event(kind, name, start, end, thread, extra or {}))

    def io(self, kind: str, owner: Any, nbytes: int) -> None:
        """Record a socket operation (`accept`, `read`, `write`) of `nbytes` bytes."""
        now = time.perf_counter()
        self.add(kind, type(owner).__name__, now, now, {"bytes": nbytes})

    # -- reading --------------------------------------------------------------

    def take(self) -> list[Event]:
        """Remove and return the events recorded so far: for live readers.

        A dashboard that reads a server's trace every half second takes what
        is new each time, so the trace does not grow for as long as the server
        runs. Safe while other threads record: only the prefix that was copied
        is deleted, so an event appended in between stays for the next take().
        """
        taken = self.events[:]
        del self.events[: len(taken)]
        return taken

    def of_kind(self, *kinds: str) -> list[Event]:
        return [e for e in self.events if e.kind in kinds]

    def stats(self) -> dict[str, dict[str, float]]:
        """Per callback name: how often it ran, total and longest time (seconds)."""
        table: dict[str, dict[str, float]] = {}
        for event in self.of_kind("callback", "timer", "thread"):
            row = table.setdefault(event.name, {"count": 0, "total": 0.0, "max": 0.0})
            row["count"] += 1
            row["total"] += event.duration
            row["max"] = max(row["max"], event.duration)
        return dict(sorted(table.items(), key=lambda item: -item[1]["total"]))

    def loop_lag(self) -> list[tuple[float, float]]:
        """(time, lag) for every timer: how long after its due time it ran."""
        return [(e.start - self.origin, e.extra["late"]) for e in self.of_kind("timer")]

    def plot(self, ax: Any = None) -> Any:
        """Draw the timeline (one lane per thread); returns the matplotlib figure."""
        return timeline(self.events, ax=ax, origin=self.origin)

    def plot_lag(self, ax: Any = None) -> Any:
        """Draw loop lag over time: how late each timer ran. Returns the figure."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(10, 2.5))
        points = self.loop_lag()
        ax.plot([t for t, _ in points], [1000 * lag for _, lag in points], ".", markersize=3)
        ax.set_xlabel("seconds")
        ax.set_ylabel("timer lateness (ms)")
        ax.set_title("loop lag: a callback that blocks makes every timer late")
        return ax.figure

    def to_perfetto(self) -> dict[str, Any]:
        """The trace as Chrome/Perfetto trace-event JSON (a dict)."""
        tids: dict[str, int] = {}
        out: list[dict[str, Any]] = []
        pid = os.getpid()
        for event in self.events:
            tid = tids.setdefault(event.thread, len(tids) + 1)
            out.append(
                {
                    "name": event.name,
                    "cat": event.kind,
                    "ph": "X",
                    "ts": (event.start - self.origin) * 1e6,
                    "dur": max(event.duration * 1e6, 0.001),
                    "pid": pid,
                    "tid": tid,
                    "args": event.extra,
                }
            )
        for name, tid in tids.items():
            out.append(
                {"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}}
            )
        return {"traceEvents": out, "displayTimeUnit": "ms"}

    def save_perfetto(self, path: str | os.PathLike[str]) -> None:
        """Write the trace-event JSON that Perfetto and chrome://tracing open."""
        with open(path, "w") as f:
            json.dump(self.to_perfetto(), f)


def timeline(
    events: Iterable[Event], ax: Any = None, origin: float | None = None, title: str = ""
) -> Any:
    """Draw events as a timeline, one lane per thread; returns the figure.

    The lab draws its threaded and multiprocess runs with this too (one lane
    per worker), so "threads" and "event loop" timelines can be compared.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    events = list(events)
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 3))
    if origin is None:
        origin = min((e.start for e in events), default=0.0)
    lanes: dict[str, int] = {}
    for event in events:
        lane = lanes.setdefault(event.thread, len(lanes))
        width = max(event.duration, 1e-6)
        ax.broken_barh(
            [(event.start - origin, width)],
            (lane - 0.4, 0.8),
            facecolors=_COLOURS.get(event.kind, "#4c72b0"),
        )
    ax.set_yticks(range(len(lanes)), list(lanes))
    ax.set_xlabel("seconds")
    ax.set_ylim(-0.6, max(len(lanes), 1) - 0.4)
    handles = [
        Rectangle((0, 0), 1, 1, color=_COLOURS[k])
        for k in KINDS
        if any(e.kind == k for e in events)
    ]
    labels = [k for k in KINDS if any(e.kind == k for e in events)]
    if handles:
        ax.legend(handles, labels, loc="upper right", fontsize="small", ncol=len(labels))
    if title:
        ax.set_title(title)
    return ax.figure


class TracingBackend:
    """Wraps a backend to record each wait; everything else passes through."""

    def __init__(self, backend: Any, trace: Trace) -> None:
        self._inner = backend
        self._trace = trace

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        start = time.perf_counter()
        ready: list[tuple[int, int]] = self._inner.poll(timeout)
        self._trace.add("wait", "backend.poll", start, time.perf_counter(), {"events": len(ready)})
        return ready

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextlib.contextmanager
def record(reactor: LoopCore, trace: Trace | None = None) -> Iterator[Trace]:
    """Trace `reactor` for the duration of the `with` block; yields the `Trace`."""
    trace = trace if trace is not None else Trace()
    reactor.set_tracer(trace)
    try:
        yield trace
    finally:
        reactor.set_tracer(None)


# -- `minireactor trace -o FILE -- python script.py` ------------------------------

TRACE_ENV = "MINIREACTOR_TRACE_FILE"
_script_trace: Trace | None = None


def trace_from_environment() -> Trace | None:
    """The shared trace of a script run under `minireactor trace`, else None.

    Every reactor the script creates records into it; it is written to the
    file named by $MINIREACTOR_TRACE_FILE when the interpreter exits.
    """
    global _script_trace
    path = os.environ.get(TRACE_ENV)
    if not path:
        return None
    if _script_trace is None:
        import atexit

        _script_trace = Trace()
        atexit.register(_script_trace.save_perfetto, path)
    return _script_trace

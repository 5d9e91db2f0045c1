"""Figures for the lab (matplotlib). Each returns its figure and accepts `ax=`.

* `timeline(report)`: a Gantt chart of one fetch run, one bar per request,
  one row per URL or per worker, coloured by worker. Sequential runs are a
  staircase; a pool is a brick wall `concurrency` rows high; the CPU step
  under threads shows as bars that stretch when many run at once.
* `wall_times(reports)`: one bar per strategy.
* `wall_vs_concurrency(reports)`: wall time against the concurrency limit,
  one line per strategy (log-log: a perfect speed-up is a straight line).
* `throughput_vs_clients(rows)` and `p99_vs_clients(rows)`: server models
  under growing load (rows from `compare.compare_servers`).
* `latency_cdf(results)`: the whole latency distribution of load runs, where
  percentiles are read off at a glance and tails cannot hide.
* `memory_per_connection(rows)`: the C10K lesson, KiB per open connection.
* `twisted_loops(results)`: one Twisted program on three loops.
* `demo_timeline(trace)`: what a live demo's reactor did, from its tracer.

One palette: `PALETTE` gives every strategy, server model, backend and loop
one colour and one marker, used by every figure here and in the workbook
(`style(name)`), so "asyncio" is the same blue dot everywhere. Names shared
by a fetch strategy and a server model (threads, asyncio, minireactor) are
the same idea and share a style; sequential and iterative ("one at a time")
share grey.

Pass `ax=` to draw into a figure of your own (subplots side by side).
matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .procs import require
from .report import Report

__all__ = [
    "BACKEND_PALETTE",
    "PALETTE",
    "demo_timeline",
    "latency_cdf",
    "memory_per_connection",
    "p99_vs_clients",
    "style",
    "throughput_vs_clients",
    "timeline",
    "twisted_loops",
    "wall_times",
    "wall_vs_concurrency",
]


PALETTE: dict[str, tuple[str, str]] = {
    # one at a time
    "sequential": ("#7f7f7f", "s"),
    "iterative": ("#7f7f7f", "s"),
    # threads
    "threads": ("#ff7f0e", "^"),
    "thread_pool": ("#bcbd22", "v"),
    # processes
    "multiprocessing": ("#e377c2", "P"),
    "process_pool": ("#8c564b", "X"),
    "prefork": ("#d62728", "D"),
    "dask": ("#2ca02c", "d"),
    # event loops
    "asyncio": ("#1f77b4", "o"),
    "aiohttp": ("#17becf", "h"),
    "minireactor": ("#9467bd", "*"),
    "minireactor_async": ("#c5b0d5", "p"),
    "twisted": ("#000000", ">"),
}
"""name -> (colour, marker) for every strategy, server model and Twisted loop."""

BACKEND_PALETTE: dict[str, tuple[str, str]] = {
    "epoll": ("#3f007d", "*"),
    "kqueue": ("#54278f", "*"),
    "poll": ("#807dba", "p"),
    "select": ("#bcbddc", "s"),
    "threaded": ("#fd8d3c", "^"),
    "asyncio": ("#6baed6", "o"),
}
"""backend -> (colour, marker): minireactor on each backend, purples for its own."""

_MARKERS = "o^sDvP*Xhpd<>"


def style(name: str) -> dict[str, str]:
    """The colour and marker of `name`, as keyword arguments for matplotlib.

    `name` is a strategy or server model ("asyncio"), a backend label as
    `compare_servers(..., backends=...)` makes them ("minireactor/epoll"),
    or anything else (a stable colour and marker derived from the name).
    """
    if name in PALETTE:
        colour, marker = PALETTE[name]
    elif "/" in name and name.rsplit("/", 1)[1] in BACKEND_PALETTE:
        colour, marker = BACKEND_PALETTE[name.rsplit("/", 1)[1]]
    else:
        n = zlib.crc32(name.encode())  # stable across runs, unlike hash()
        colour, marker = f"C{n % 10}", _MARKERS[n % len(_MARKERS)]
    return {"color": colour, "marker": marker}


def _axes(ax: Any, size: tuple[float, float] = (8.0, 4.5)) -> tuple[Any, Any]:
    """(figure, axes): the given axes and their figure, or new ones."""
    if ax is not None:
        return ax.figure, ax
    plt = require("matplotlib.pyplot", "notebooks")
    fig, new_ax = plt.subplots(figsize=size)
    return fig, new_ax


def timeline(report: Report, by: str = "url", ax: Any = None, max_rows: int = 200) -> Any:
    """A Gantt chart of `report`: a bar per request from its start to its end.

    Args:
        by: "url" (one row per request) or "worker" (one row per worker).
        max_rows: draw at most this many URL rows (the first ones).
    """
    fig, ax = _axes(ax)
    cmap = require("matplotlib", "notebooks").colormaps["tab20"]
    records = report.records[:max_rows] if by == "url" else report.records
    workers = sorted({r.worker for r in records})
    colour = {w: cmap(i % 20) for i, w in enumerate(workers)}
    rows = workers if by == "worker" else [r.url for r in records]
    row_of = {name: i for i, name in enumerate(rows)}
    for i, r in enumerate(records):
        y = row_of[r.worker] if by == "worker" else i
        ax.broken_barh(
            [(r.start - report.start, max(r.duration, 1e-4))],
            (y - 0.4, 0.8),
            facecolors=colour[r.worker],
            edgecolors="black" if not r.ok else "white",  # white: back-to-back requests part
            linewidth=0.6,
            hatch="//" if not r.ok else None,
        )
    ax.set_xlabel("seconds since the start")
    ax.set_ylabel("worker" if by == "worker" else "request")
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first request at the top
    if by == "worker" and len(rows) <= 30:
        ax.set_yticks(range(len(rows)), rows, fontsize=7)
    else:
        ax.yaxis.get_major_locator().set_params(integer=True)  # request numbers are whole
    ax.set_title(
        f"{report.strategy}, concurrency {report.concurrency}: {report.ok} ok, "
        f"{report.failed} failed (hatched), {report.wall:.2f} s"
    )
    return fig


def wall_times(reports: Iterable[Report], ax: Any = None) -> Any:
    """One bar per run: wall time by strategy."""
    fig, ax = _axes(ax)
    reports = list(reports)
    names = [r.strategy for r in reports]
    ax.bar(names, [r.wall for r in reports], color=[style(n)["color"] for n in names])
    ax.set_ylabel("wall time (s)")
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_title(f"{len(reports[0].records) if reports else 0} URLs per strategy")
    fig.tight_layout()
    return fig


def wall_vs_concurrency(reports: Iterable[Report], ax: Any = None) -> Any:
    """Wall time against concurrency, one line per strategy (log-log)."""
    fig, ax = _axes(ax)
    by_strategy: dict[str, list[tuple[int, float]]] = {}
    for r in reports:
        by_strategy.setdefault(r.strategy, []).append((r.concurrency, r.wall))
    for strategy, points in by_strategy.items():
        points.sort()
        ax.plot([c for c, _ in points], [w for _, w in points], label=strategy, **style(strategy))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("concurrency limit")
    ax.set_ylabel("wall time (s)")
    ax.legend(fontsize=8)
    return fig


def _by_model(rows: Sequence[Mapping[str, Any]], key: str, ax: Any, ylabel: str) -> Any:
    """One line per model (or model/backend label); runs with starved connections ringed."""
    fig, ax = _axes(ax)
    models: dict[str, list[tuple[int, float, int]]] = {}
    for row in rows:
        label = str(row.get("label") or row["model"])
        point = (int(row["clients"]), float(row[key]), int(row.get("starved") or 0))
        models.setdefault(label, []).append(point)
    for model, points in models.items():
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], label=model, **style(model))
    _mark_starved(ax, [p for points in models.values() for p in points])
    ax.set_xscale("log")
    ax.set_xlabel("concurrent clients")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return fig


def _mark_starved(ax: Any, points: Sequence[tuple[int, float, int]]) -> None:
    """Ring the points of runs where some connections were never served."""
    starved = [p for p in points if p[2] > 0]
    if not starved:
        return
    ax.scatter(
        [p[0] for p in starved],
        [p[1] for p in starved],
        s=220,
        facecolors="none",
        edgecolors="red",
        linewidths=1.5,
        label="ringed: some connections starved",
        zorder=3,
    )
    for clients, value, count in starved:
        ax.annotate(
            f"{count} starved",
            (clients, value),
            fontsize=7,
            color="red",
            xytext=(6, -10),
            textcoords="offset points",
        )


def throughput_vs_clients(rows: Sequence[Mapping[str, Any]], ax: Any = None) -> Any:
    """Requests per second against clients, one line per server model."""
    return _by_model(rows, "throughput", ax, "requests per second")


def p99_vs_clients(rows: Sequence[Mapping[str, Any]], ax: Any = None) -> Any:
    """99th-percentile latency (ms) against clients, one line per server model."""
    fig = _by_model(rows, "p99_ms", ax, "p99 latency (ms)")
    (ax or fig.axes[0]).set_yscale("log")
    return fig


def latency_cdf(results: Mapping[str, Any], ax: Any = None) -> Any:
    """The cumulative distribution of latencies, one curve per run.

    Args:
        results: label -> a `LoadResult`, or a sequence of latencies in seconds.
    """
    fig, ax = _axes(ax)
    for label, result in results.items():
        values = sorted(getattr(result, "latencies", result))
        if not values:
            continue
        n = len(values)
        starved = getattr(result, "starved", 0)
        if starved:  # they have no latency at all: say so, or the curve flatters
            label = f"{label} ({starved} of {result.clients} connections starved)"
        ax.step(
            [v * 1000 for v in values],
            [(i + 1) / n for i in range(n)],
            where="post",
            label=label,
            color=style(str(label).split(" (")[0])["color"],
        )
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of requests")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def memory_per_connection(rows: Sequence[Mapping[str, Any]], ax: Any = None) -> Any:
    """Resident KiB per open connection against connections, one line per model.

    Rows come from `memory.memory_per_connection`; skipped counts are left out.
    """
    fig, ax = _axes(ax)
    models: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        if row.get("per_connection_bytes") is not None:
            point = (int(row["connections"]), float(row["per_connection_bytes"]) / 1024)
            models.setdefault(str(row["model"]), []).append(point)
    for model, points in models.items():
        points.sort()
        ax.plot([c for c, _ in points], [k for _, k in points], label=model, **style(model))
        count, kib = points[-1]
        ax.annotate(
            f"{kib:.1f} KiB", (count, kib), fontsize=8, xytext=(4, 4), textcoords="offset points"
        )
    ax.set_xscale("log")
    ax.set_xlabel("open connections")
    ax.set_ylabel("resident memory per connection (KiB)")
    ax.set_ylim(bottom=0)
    ax.set_title("what one more connection costs the server")
    ax.legend(fontsize=8)
    return fig


def twisted_loops(results: Mapping[str, Mapping[str, Any]], ax: Any = None) -> Any:
    """Echo round trips per second of Twisted on each loop (`compare_twisted_loops`)."""
    fig, ax = _axes(ax, (7.0, 3.5))
    loops = list(results)
    rates = [results[k]["round_trips"] / results[k]["seconds"] for k in loops]
    labels = [f"{k}\n({results[k].get('reactor', '')})" for k in loops]
    ax.barh(labels, rates, color=[style(k)["color"] for k in loops])
    ax.invert_yaxis()
    ax.set_xlabel("echo round trips per second (higher is better)")
    ax.set_title("the same Twisted program on three loops")
    fig.tight_layout()
    return fig


def demo_timeline(trace: Any, bins: int = 40, axes: Any = None) -> Any:
    """What happened during a live demo, from a minireactor `Trace`: a figure to keep.

    Top: connections accepted, reads and writes per second. Bottom: how busy
    the loop was (share of each interval spent in callbacks and timers) and
    the latest a timer ran in each interval (loop lag).

    Args:
        trace: the `minireactor.trace.Trace` recorded during the demo.
        bins: intervals along the time axis.
        axes: two axes to draw into (top, bottom); None: a new figure.
    """
    if axes is None:
        plt = require("matplotlib.pyplot", "notebooks")
        fig, axes = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    top, bottom = axes
    fig = top.figure
    events = list(trace.events)
    end = max((e.end - trace.origin for e in events), default=1.0)
    width = max(end, 1e-3) / bins
    centres = [(i + 0.5) * width for i in range(bins)]

    def per_bin(kinds: tuple[str, ...], value: Callable[[Any], float]) -> list[float]:
        """The sum of `value(event)` over the events of `kinds` starting in each interval."""
        totals = [0.0] * bins
        for e in events:
            if e.kind in kinds:
                totals[min(bins - 1, max(0, int((e.start - trace.origin) / width)))] += value(e)
        return totals

    lines = (("accept", "#55a868", "--"), ("read", "#8172b3", "-"), ("write", "#c44e52", ":"))
    for kind, colour, dashes in lines:  # dashed: accepts and writes often coincide
        counts = per_bin((kind,), lambda e: 1.0)
        top.plot(centres, [c / width for c in counts], dashes, color=colour, label=f"{kind}s")
    top.set_ylabel("per second")
    top.legend(fontsize=8, loc="upper right")
    top.set_title("what happened during the demo")
    busy = per_bin(("callback", "timer"), lambda e: e.duration)
    bottom.bar(
        centres,
        [100 * b / width for b in busy],
        width * 0.9,
        color="#4c72b0",
        label="loop busy (%)",
    )
    bottom.set_ylabel("loop busy (%)")
    bottom.set_xlabel("seconds since the trace started")
    lag = [0.0] * bins
    for e in events:
        if e.kind == "timer":
            i = min(bins - 1, max(0, int((e.start - trace.origin) / width)))
            lag[i] = max(lag[i], 1000 * float(e.extra.get("late", 0.0)))
    twin = bottom.twinx()
    twin.plot(centres, lag, color="#dd8452", marker=".", label="latest timer (ms late)")
    twin.set_ylabel("timer lateness (ms)")
    return fig

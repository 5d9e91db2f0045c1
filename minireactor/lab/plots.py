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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .procs import require
from .report import Report

__all__ = [
    "BACKEND_PALETTE",
    "PALETTE",
    "latency_cdf",
    "p99_vs_clients",
    "style",
    "throughput_vs_clients",
    "timeline",
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
            edgecolors="black" if not r.ok else "none",
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

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

Pass `ax=` to draw into a figure of your own (subplots side by side).
matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .procs import require
from .report import Report

__all__ = [
    "latency_cdf",
    "p99_vs_clients",
    "throughput_vs_clients",
    "timeline",
    "wall_times",
    "wall_vs_concurrency",
]


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
    ax.bar([r.strategy for r in reports], [r.wall for r in reports], color="tab:blue")
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
        ax.plot([c for c, _ in points], [w for _, w in points], marker="o", label=strategy)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("concurrency limit")
    ax.set_ylabel("wall time (s)")
    ax.legend(fontsize=8)
    return fig


def _by_model(rows: Sequence[Mapping[str, Any]], key: str, ax: Any, ylabel: str) -> Any:
    fig, ax = _axes(ax)
    models: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        models.setdefault(str(row["model"]), []).append((int(row["clients"]), float(row[key])))
    for model, points in models.items():
        points.sort()
        ax.plot([c for c, _ in points], [v for _, v in points], marker="o", label=model)
    ax.set_xscale("log")
    ax.set_xlabel("concurrent clients")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return fig


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
        ax.step(
            [v * 1000 for v in values], [(i + 1) / n for i in range(n)], where="post", label=label
        )
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of requests")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig

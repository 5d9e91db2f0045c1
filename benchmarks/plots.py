"""Figures of the benchmark results, as functions that return a matplotlib Figure.

    from benchmarks import plots
    fig = plots.idle_figure("benchmarks/results/suite-.../idle.json")
    figs = plots.suite_figures("benchmarks/results/suite-...")   # {"echo": Figure, ...}

Each function takes a result document (the JSON a benchmark wrote, as a
path or an already-loaded dict) and returns a `matplotlib.figure.Figure`
built without pyplot, so notebooks can show it (it is the cell's value),
save it, or restyle its axes, and nothing global changes. Every figure
plots medians with min-max bars, so the spread stays visible. matplotlib is
imported only when a figure is drawn (the `notebooks` extra installs it).

Read next: `README.md`, "The idle-connection benchmark", which explains what
`idle_figure` shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Document = dict[str, Any]


def load(source: str | Path | Document) -> Document:
    """A result document from a JSON path, or the dict itself."""
    if isinstance(source, dict):
        return source
    return dict(json.loads(Path(source).read_text()))


def _figure(width: float, height: float, columns: int) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, columns, squeeze=False)[0]
    return fig, list(axes)


def _bars(ax: Axes, names: list[str], stats: list[dict[str, float]], color: str) -> None:
    """Horizontal bars at the medians, with min-max whiskers."""
    medians = [s["median"] for s in stats]
    low = [s["median"] - s["min"] for s in stats]
    high = [s["max"] - s["median"] for s in stats]
    ax.barh(names, medians, xerr=[low, high], color=color, capsize=3)
    ax.invert_yaxis()


def servers_figure(source: str | Path | Document, title: str = "") -> Figure:
    """req/s and CPU per request for each server, one row of panels per group.

    Works for the echo, streams and HTTP documents (all share `summary`
    {group: {server: {metric: {median, min, max}}}}).
    """
    doc = load(source)
    groups = {g: s for g, s in doc["summary"].items() if any(e["runs_ok"] for e in s.values())}
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 1.2 + 0.35 * 6 * max(1, len(groups))), layout="constrained")
    grid = fig.subplots(max(1, len(groups)), 2, squeeze=False)
    for row, (group, summary) in zip(grid, groups.items(), strict=False):
        ok = {name: e for name, e in summary.items() if e["runs_ok"]}
        names = list(ok)
        _bars(row[0], names, [ok[n]["req_per_s"] for n in names], "tab:blue")
        row[0].set_xlabel("requests/s (higher is better)")
        row[0].set_title(f"{group}", loc="left", fontsize=9)
        _bars(row[1], names, [ok[n]["server_total_us"] for n in names], "tab:orange")
        row[1].set_xlabel("server CPU us per request (lower is better)")
        row[1].set_yticklabels([])
    fig.suptitle(title or doc.get("meta", {}).get("command", ""), fontsize=10)
    return fig


def idle_figure(source: str | Path | Document) -> Figure:
    """Active req/s and CPU per request against the number of idle connections, per backend.

    select and poll fall as idle connections grow because each wait hands
    the kernel (and Python) every watched descriptor: O(n) per wait. epoll
    returns only the ready ones: O(ready). select's cells past FD_SETSIZE
    are gaps, marked on the plot.
    """
    doc = load(source)
    fig, (rate_ax, cpu_ax) = _figure(11, 4.2, 2)
    counts = sorted({int(g.removeprefix("idle")) for g in doc["summary"]})
    markers = {"select": "s", "poll": "^", "epoll": "o", "threaded": "D"}
    for backend in doc["meta"].get("backends", markers):
        name = f"minireactor-{backend}"
        xs, rates, cpus = [], [], []
        for n in counts:
            entry = doc["summary"].get(f"idle{n}", {}).get(name, {})
            if entry.get("runs_ok"):
                xs.append(n)
                rates.append(entry["req_per_s"])
                cpus.append(entry["server_total_us"])
        for ax, stats in ((rate_ax, rates), (cpu_ax, cpus)):
            if xs:
                med = [s["median"] for s in stats]
                err = [[m - s["min"] for m, s in zip(med, stats, strict=True)],
                       [s["max"] - m for m, s in zip(med, stats, strict=True)]]  # fmt: skip
                ax.errorbar(xs, med, yerr=err, marker=markers.get(backend, "o"), capsize=3,
                            label=backend)  # fmt: skip
    for cell in doc.get("gaps", {}):
        backend, _, n = cell.partition("@")
        rate_ax.axvline(int(n), color="grey", linestyle=":", linewidth=1)
        rate_ax.annotate(f"{backend}: no data at {n}\n(FD_SETSIZE = 1024)", (int(n), 0),
                         xytext=(-6, 8), textcoords="offset points", ha="right",
                         fontsize=8, color="grey")  # fmt: skip
    rate_ax.set_ylim(bottom=0)
    rate_ax.set_xlabel("idle connections")
    rate_ax.set_ylabel("active echo requests/s")
    rate_ax.set_title("throughput of 10 active connections", fontsize=10)
    rate_ax.legend()
    cpu_ax.set_xlabel("idle connections")
    cpu_ax.set_ylabel("server CPU us per request")
    cpu_ax.set_title("select/poll: O(watched fds) per wait; epoll: O(ready)", fontsize=10)
    cpu_ax.set_ylim(bottom=0)
    return fig


def _workload_figure(doc: Document, metric: str, label: str, title: str) -> Figure:
    """One panel per workload: horizontal bars of `metric` per implementation."""
    summary = doc["summary"]
    fig, axes = _figure(10, 1.2 + 0.4 * max(len(v) for v in summary.values()), len(summary))
    for ax, (workload, by_impl) in zip(axes, summary.items(), strict=False):
        names = list(by_impl)
        _bars(ax, names, [by_impl[n][metric] for n in names], "tab:green")
        ax.set_title(workload, fontsize=10)
        ax.set_xlabel(label)
    fig.suptitle(title, fontsize=10)
    return fig


def wakeups_figure(source: str | Path | Document) -> Figure:
    """Thread-to-loop calls per second, per implementation and workload."""
    return _workload_figure(load(source), "per_s", "calls/s (higher is better)", "wake-ups")


def timers_figure(source: str | Path | Document) -> Figure:
    """CPU seconds for 100k call_later and 1M call_soon, per implementation."""
    return _workload_figure(load(source), "cpu_s", "CPU s (lower is better)", "timers")


def suite_figures(directory: str | Path) -> dict[str, Figure]:
    """Every figure for a `python -m benchmarks` results directory, by section name."""
    directory = Path(directory)
    makers = {
        "echo": lambda p: servers_figure(p, "echo (asyncio, uvloop, minireactor)"),
        "streams": lambda p: servers_figure(
            p, "asyncio streams echo: stdlib, minireactor.aio, uvloop"
        ),
        "http": lambda p: servers_figure(p, 'HTTP keep-alive "hello"'),
        "idle": idle_figure,
        "wakeups": wakeups_figure,
        "timers": timers_figure,
    }
    return {
        name: make(directory / f"{name}.json")
        for name, make in makers.items()
        if (directory / f"{name}.json").exists()
    }

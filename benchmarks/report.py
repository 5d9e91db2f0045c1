"""Summaries and the printed table of the echo benchmark.

`echo.py` produces one record per run (one server, one message size, one
repeat). This module groups them, takes the median with the min-max spread
of each figure, and prints a table whose ratio columns divide each server's
median by the baseline's (asyncio's Protocol server): below 1.0 means less
CPU per request than asyncio, above 1.0 means more requests per second.

Read next: `benchmarks/README.md`, which explains every column.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# The figures summarised for each server, in table order.
METRICS = (
    "req_per_s",
    "server_total_us",
    "server_user_us",
    "p50_us",
    "p99_us",
    "server_cpu_pct",
    "client_cpu_pct",
    "server_cpu_others_pct",
    "server_cpu_steal_pct",
    "client_cpu_steal_pct",
    "errors",
)

# Ratios against the baseline, and the metric each is taken from.
RATIOS = {"req_per_s": "req/s", "server_total_us": "total CPU", "server_user_us": "user CPU"}

Run = dict[str, Any]
Summary = dict[str, dict[str, Any]]  # server name -> its summary, for one message size


def spread(values: Sequence[float]) -> dict[str, float]:
    """The median, minimum and maximum of `values`."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarise(runs: Iterable[Run], servers: Sequence[str]) -> dict[str, Summary]:
    """Group runs by message size (or their "group" key) then server; summarise each metric.

    Returns:
        {size or group (a string, for JSON): {server: {metric: spread, "runs_ok": n,
        "runs_failed": n, "errors_seen": [...]}}}, servers in `servers` order.
    """
    grouped: dict[str, dict[str, list[Run]]] = {}
    for run in runs:
        key = str(run.get("group", run["size"]))
        grouped.setdefault(key, {}).setdefault(run["server"], []).append(run)
    result: dict[str, Summary] = {}
    for size, by_server in grouped.items():
        result[size] = {}
        for name in servers:
            group = by_server.get(name, [])
            ok = [run for run in group if "error" not in run]
            entry: dict[str, Any] = {
                "runs_ok": len(ok),
                "runs_failed": len(group) - len(ok),
                "errors_seen": [run["error"] for run in group if "error" in run],
            }
            for metric in METRICS if ok else ():
                entry[metric] = spread([run[metric] for run in ok])
            result[size][name] = entry
    return result


def add_ratios(summary: Summary, baseline: str) -> None:
    """Add `ratio_<metric>` (median over the baseline's median) to each server in place."""
    base = summary.get(baseline)
    if not base or base["runs_ok"] == 0:
        return
    for entry in summary.values():
        if entry["runs_ok"] == 0:
            continue
        for metric in RATIOS:
            if base[metric]["median"] > 0:  # a quick run can measure 0 CPU: no ratio then
                entry[f"ratio_{metric}"] = entry[metric]["median"] / base[metric]["median"]


def _num(value: float) -> str:
    """A short rendering: 45.1k, 6.50, 123."""
    if value >= 10_000:
        return f"{value / 1000:.1f}k"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}"


def _cell(stat: dict[str, float]) -> str:
    return f"{_num(stat['median'])} [{_num(stat['min'])}-{_num(stat['max'])}]"


def _ratio(entry: dict[str, Any], metric: str) -> str:
    value = entry.get(f"ratio_{metric}")
    return "" if value is None else f"{value:.2f}x"


def header(short: str = "aio") -> str:
    """The column titles; `short` names the baseline in the ratio columns ("vs aio")."""
    vs = f"vs {short}"
    return (
        f"{'server':<26}{'req/s [min-max]':>24}{vs:>8}"
        f"{'CPU us/req [min-max]':>24}{vs:>8}{'user us/req':>20}{vs:>8}"
        f"{'p50 us':>9}{'p99 us':>9}{'srv%':>6}{'cli%':>6}{'oth%':>6}{'stl%':>6}{'err':>5}"
    )


HEADER = header()


def format_row(name: str, entry: dict[str, Any]) -> str:
    """One line of the table for one server."""
    if entry["runs_ok"] == 0 and not entry["errors_seen"]:
        return f"{name:<26}  not run"
    if entry["runs_ok"] == 0:
        return f"{name:<26}  all {entry['runs_failed']} runs failed: {entry['errors_seen'][0]}"
    return (
        f"{name:<26}{_cell(entry['req_per_s']):>24}{_ratio(entry, 'req_per_s'):>8}"
        f"{_cell(entry['server_total_us']):>24}{_ratio(entry, 'server_total_us'):>8}"
        f"{_cell(entry['server_user_us']):>20}{_ratio(entry, 'server_user_us'):>8}"
        f"{_num(entry['p50_us']['median']):>9}{_num(entry['p99_us']['median']):>9}"
        f"{entry['server_cpu_pct']['median']:>6.0f}{entry['client_cpu_pct']['median']:>6.0f}"
        f"{entry['server_cpu_others_pct']['max']:>6.0f}{entry['server_cpu_steal_pct']['max']:>6.0f}"
        f"{entry['errors']['max']:>5.0f}"
        + (f"  ({entry['runs_failed']} runs failed)" if entry["runs_failed"] else "")
    )


# Above this share of the server's CPU taken by others, a run is called noisy.
NOISY_PCT = 10.0


def noise_warning(summaries: dict[str, Summary]) -> str | None:
    """A warning when other work or steal took a noticeable share of the server's CPU."""
    worst = max(
        (
            entry[metric]["max"]
            for summary in summaries.values()
            for entry in summary.values()
            if entry["runs_ok"]
            for metric in ("server_cpu_others_pct", "server_cpu_steal_pct")
        ),
        default=0.0,
    )
    if worst <= NOISY_PCT:
        return None
    return (
        f"warning: up to {worst:.0f}% of the server's CPU went to other processes or the "
        "hypervisor (oth%, stl%): req/s and latency are unreliable; CPU per request less so. "
        "Rerun on a quiet machine for figures to quote."
    )


def format_table(
    summaries: dict[str, Summary],
    title: str,
    baseline: str,
    *,
    short: str = "aio",
    group_title: Callable[[str], str] = lambda size: f"message size {size} B",
) -> str:
    """The whole printed report: one block per group (message size), then any noise warning.

    Args:
        summaries: {group: {server: summary}}, as `summarise` returns.
        title: the first line.
        baseline: the server the ratios divide by.
        short: how the ratio columns name the baseline ("vs aio").
        group_title: the heading of each group's block, from its key.
    """
    head = header(short)
    lines = [
        title,
        f"medians of the repeats [min-max]; 'vs {short}' = median / {baseline}'s median",
    ]
    for size, summary in summaries.items():
        lines += ["", group_title(size), head, "-" * len(head)]
        lines += [format_row(name, entry) for name, entry in summary.items()]
    warning = noise_warning(summaries)
    return "\n".join([*lines, "", warning] if warning else lines)

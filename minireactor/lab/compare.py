"""The comparisons behind `minireactor compare`: many runs, one table.

`compare_fetch` runs fetch strategies (and concurrency limits) one after the
other against one local internet, so they all meet the same latencies and
the same failures; `compare_servers` starts each server model in turn and
loads it with growing numbers of clients; `compare_keepalive` prices a new
connection per request, model by model; with `backends=` the minireactor
model runs once per backend under the same load (`idle=` adds silent open
connections, where select and poll pay for every one of them). Both show a tqdm progress bar when
tqdm is installed, and skip (with a note) strategies whose optional library
is missing instead of stopping the whole comparison.

Read next: `plots.py` to draw the results; `minireactor/cli.py` for the command.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from .fetch import STRATEGIES, fetch_all
from .load import load
from .procs import MissingDependency
from .report import Report
from .servers import SERVER_MODELS, serve

__all__ = ["compare_fetch", "compare_keepalive", "compare_servers", "progress"]

T = TypeVar("T")


def progress(items: Sequence[T], desc: str, enabled: bool = True) -> Iterator[T]:
    """Iterate with a tqdm bar (a widget in notebooks, text on stderr) when tqdm is installed."""
    if enabled:
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            pass  # no tqdm: plain iteration, the table still follows
        else:
            yield from tqdm(items, desc=desc, file=sys.stderr, leave=False)
            return
    yield from items


def compare_fetch(
    net: Any,
    strategies: Iterable[str] = STRATEGIES,
    concurrencies: Iterable[int] = (10,),
    urls: int = 100,
    timeout: float = 5.0,
    show_progress: bool = True,
    **options: Any,
) -> list[Report]:
    """Run every (strategy, concurrency) pair against `net`; one Report each.

    `net` is an `Internet`; its statistics go into each report's `server`.
    Missing optional libraries skip that strategy with a note on stderr.
    """
    url_list = net.urls(urls)
    runs = [(s, c) for s in strategies for c in concurrencies]
    reports = []
    skipped: set[str] = set()
    for strategy, concurrency in progress(runs, "fetch", show_progress):
        if strategy in skipped:
            continue
        try:
            report = fetch_all(url_list, strategy, concurrency, timeout, net=net, **options)
        except MissingDependency as exc:
            skipped.add(strategy)
            print(f"skipped {strategy}: {exc}", file=sys.stderr)
            continue
        reports.append(report)
    return reports


def compare_servers(
    models: Iterable[str] = SERVER_MODELS,
    clients: Iterable[int] = (1, 10, 50),
    duration: float = 2.0,
    workload: str = "http",
    path: str = "/",
    show_progress: bool = True,
    *,
    backends: Iterable[str] | None = None,
    **load_options: Any,
) -> list[dict[str, Any]]:
    """Load each server model with each number of clients; one row per run.

    Args:
        backends: run the "minireactor" model once per backend named here
            (e.g. `minireactor.available_backends()`); None: the default one.
        load_options: passed to `load` (e.g. `idle=1000`, `keepalive=False`).

    Returns:
        Rows holding "model", "backend" (minireactor only, else None) and
        "label" ("minireactor/epoll", or the model's name), then
        `LoadResult.summary()`, plus the result itself under "result".
    """
    runs: list[tuple[str, str | None]] = []
    for model in models:
        if model == "minireactor" and backends is not None:
            runs += [(model, b) for b in backends]
        else:
            runs.append((model, None))
    rows = []
    client_counts = list(clients)
    for model, backend in progress(runs, "servers", show_progress):
        label = model if backend is None else f"{model}/{backend}"
        with serve(model, workload=workload, backend=backend or "auto") as address:
            for n in client_counts:
                result = load(address, workload, n, duration, path=path, **load_options)
                row = {"model": model, "backend": backend, "label": label}
                rows.append({**row, **result.summary(), "result": result})
    return rows


def compare_keepalive(
    models: Iterable[str] = SERVER_MODELS,
    clients: int = 1,
    duration: float = 1.0,
    path: str = "/",
    show_progress: bool = True,
) -> list[dict[str, Any]]:
    """What a new connection per request costs, model by model.

    Each model is loaded twice under the same server process: with kept-alive
    connections, then with a new connection for every request
    (`load(..., keepalive=False)`).

    Returns:
        One row per model: "model", "keepalive" and "new_connection" (requests
        per second), and "connection_cost_us": the extra microseconds each
        request paid for its own connection (1/new - 1/keepalive).
    """
    rows = []
    for model in progress(list(models), "keep-alive", show_progress):
        with serve(model) as address:
            kept = load(address, "http", clients, duration, path=path, engine="python")
            fresh = load(address, "http", clients, duration, path=path, keepalive=False)
        cost = math.nan
        if kept.throughput > 0 and fresh.throughput > 0:
            cost = (1 / fresh.throughput - 1 / kept.throughput) * clients * 1e6
        rows.append(
            {
                "model": model,
                "keepalive": round(kept.throughput, 1),
                "new_connection": round(fresh.throughput, 1),
                "connection_cost_us": round(cost, 1),
            }
        )
    return rows

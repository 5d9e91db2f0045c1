"""The lab's subcommands of the `minireactor` command.

    minireactor internet --latency exp:0.1 --error-rate 0.1     # serve a local internet
    minireactor fetch --strategy all --urls 200 --seed 1         # compare fetch strategies
    minireactor serve --model threads --workload http --port 8000
    minireactor load --port 8000 --clients 100 --duration 5
    minireactor compare fetch | servers                          # sweeps, a table, --plot
    minireactor crawl --max-pages 50

Each subcommand is one `add_parser` call and one `run_*` function that
returns the exit status; `add_subcommands` adds them all, as `demo/cli.py`
and `grader/cli.py` add theirs. `minireactor/cli.py` builds the command.

Read next: `__init__.py`, the Python side of the same lab.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["add_subcommands"]


def _ints(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {text!r}"
        ) from None


def _names(text: str, allowed: Sequence[str], what: str) -> list[str]:
    from minireactor.lab import LabError

    names = list(allowed) if text == "all" else [n for n in text.split(",") if n]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise LabError(
            f"unknown {what} {unknown or text!r}; choose from: all, {', '.join(allowed)}"
        )
    return names


def _print_json(value: Any) -> None:
    print(json.dumps(value, default=str))


def _save_plot(fig: Any, path: str | None) -> None:
    if path:
        fig.savefig(path, dpi=120, bbox_inches="tight")
        print(f"saved {path}", file=sys.stderr)


# -- internet ------------------------------------------------------------------


def run_internet(args: argparse.Namespace) -> int:
    from minireactor.lab.internet import config_from_args, serve_forever

    config = config_from_args(args)

    def announce(address: tuple[str, int]) -> None:
        print(f"local internet on http://{address[0]}:{address[1]}/site/0 ({config})", flush=True)
        print("stats at /_stats, per-request log at /_log; Ctrl-C to stop", flush=True)

    serve_forever(config, args.host, args.port, args.backend, announce)
    return 0


# -- fetch ------------------------------------------------------------------------


def _add_site_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--latency", default="0.1", help="seconds, or uniform:A:B, exp:M, pareto:S:A")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--errors", default="500,reset,timeout", help="failure kinds to mix")
    p.add_argument("--size", type=int, default=2048, help="page size in bytes")
    p.add_argument("--bandwidth", type=float, default=None, help="bytes/s per response")


def _site_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    latency: float | str = args.latency
    try:
        latency = float(args.latency)
    except ValueError:
        latency = args.latency  # a distribution spec, checked by SiteConfig
    return {
        "seed": args.seed,
        "latency": latency,
        "error_rate": args.error_rate,
        "size": args.size,
        "bandwidth": args.bandwidth,
        "errors": args.errors,
    }


def run_fetch(args: argparse.Namespace) -> int:
    from minireactor.lab import STRATEGIES, Internet, internet
    from minireactor.lab.compare import compare_fetch

    strategies = _names(args.strategy, list(STRATEGIES), "strategy")
    show = not args.json and len(strategies) > 1
    options: dict[str, Any] = {"cpu": args.cpu}
    if args.scheduler:
        options["scheduler"] = args.scheduler
    if args.backend:
        options["backend"] = args.backend
    if args.url_file:
        reports = _fetch_url_file(args, strategies, options)
    elif args.base_url:
        net = Internet.attach(args.base_url)
        reports = compare_fetch(
            net, strategies, [args.concurrency], args.urls, args.timeout, show, **options
        )
    else:
        with internet(**_site_kwargs(args)) as net:
            reports = compare_fetch(
                net, strategies, [args.concurrency], args.urls, args.timeout, show, **options
            )
    summaries = [r.summary() for r in reports]
    if args.json:
        _print_json(summaries[0] if len(summaries) == 1 and args.strategy != "all" else summaries)
    else:
        from minireactor.lab.report import format_table

        print(format_table(summaries))
    if args.plot and reports:
        from minireactor.lab import plots

        fig = plots.timeline(reports[0]) if len(reports) == 1 else plots.wall_times(reports)
        _save_plot(fig, args.plot)
    return 0 if reports else 1


def _fetch_url_file(
    args: argparse.Namespace, strategies: list[str], options: dict[str, Any]
) -> list[Any]:
    from minireactor.lab import fetch_all, read_url_file
    from minireactor.lab.compare import progress
    from minireactor.lab.procs import MissingDependency

    urls = read_url_file(args.url_file)
    reports = []
    for strategy in progress(strategies, "fetch", not args.json and len(strategies) > 1):
        try:
            reports.append(fetch_all(urls, strategy, args.concurrency, args.timeout, **options))
        except MissingDependency as exc:
            print(f"skipped {strategy}: {exc}", file=sys.stderr)
    return reports


# -- serve and load -------------------------------------------------------------------


def run_serve(args: argparse.Namespace) -> int:
    from minireactor.lab.server_process import pin
    from minireactor.lab.servers import run_server

    def announce(address: tuple[str, int]) -> None:
        scheme = "http" if args.workload == "http" else "tcp"
        print(
            f"{args.model} {args.workload} server on {scheme}://{address[0]}:{address[1]}/ "
            f"(Ctrl-C to stop)",
            flush=True,
        )

    pin(args.cpu)
    run_server(
        args.model, args.workload, args.host, args.port, args.workers, args.backend, announce
    )
    return 0


def run_load(args: argparse.Namespace) -> int:
    from minireactor.lab import load

    result = load(
        (args.host, args.port),
        args.protocol,
        args.clients,
        args.duration,
        args.rate,
        path=args.path,
        size=args.size,
        timeout=args.timeout,
        keepalive=not args.no_keepalive,
        processes=args.processes,
        cpu=args.cpu,
        engine=args.engine,
    )
    summary = result.summary()
    if args.json:
        _print_json(summary)
    else:
        from minireactor.lab.report import format_explained

        print(format_explained([summary]))
        for sample in result.error_samples:
            print(f"  e.g. {sample}")
    if args.plot:
        from minireactor.lab import plots

        _save_plot(plots.latency_cdf({f"{args.clients} clients": result}), args.plot)
    return 0


# -- compare and crawl ------------------------------------------------------------------


def run_compare(args: argparse.Namespace) -> int:

    if args.what == "fetch":
        from minireactor.lab import STRATEGIES, internet
        from minireactor.lab.compare import compare_fetch

        strategies = _names(args.strategies, list(STRATEGIES), "strategy")
        with internet(**_site_kwargs(args)) as net:
            reports = compare_fetch(
                net,
                strategies,
                args.concurrency,
                args.urls,
                args.timeout,
                show_progress=not args.json,
                cpu=args.cpu,
            )
        rows = [r.summary() for r in reports]
    else:
        from minireactor.backends import available_backends
        from minireactor.lab import SERVER_MODELS
        from minireactor.lab.compare import compare_servers

        models = _names(args.models, list(SERVER_MODELS), "server model")
        rows = compare_servers(
            models,
            args.clients,
            args.duration,
            args.workload,
            args.path,
            show_progress=not args.json,
            backends=_names(args.backends, available_backends(), "backend")
            if args.backends
            else None,
            processes=args.processes,
        )
    table = [{k: v for k, v in row.items() if k != "result"} for row in rows]
    if args.json:
        _print_json(table)
    else:
        from minireactor.lab.report import format_explained

        print(format_explained(table))
    if args.plot and rows:
        _save_plot(
            _compare_figure(args.what, rows if args.what == "servers" else reports), args.plot
        )
    return 0


def _compare_figure(what: str, data: Any) -> Any:
    from minireactor.lab import plots
    from minireactor.lab.procs import require

    plt = require("matplotlib.pyplot", "notebooks")
    if what == "fetch":
        return plots.wall_vs_concurrency(data)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    plots.throughput_vs_clients(data, ax=left)
    plots.p99_vs_clients(data, ax=right)
    return fig


def run_crawl(args: argparse.Namespace) -> int:
    from minireactor.lab import crawl, internet

    def go(start: str) -> Any:
        return crawl(start, args.strategy, args.max_pages, args.concurrency, args.timeout)

    if args.start_url:
        result = go(args.start_url)
    else:
        with internet(**_site_kwargs(args)) as net:
            result = go(net.base_url + "/site/0")
    ok = sum(r.ok for r in result.records)
    summary = {
        "pages": len(result.records),
        "ok": ok,
        "failed": len(result.records) - ok,
        "waves": result.waves,
        "wall": round(result.wall, 3),
    }
    _print_json(summary) if args.json else print(
        f"crawled {summary['pages']} pages ({ok} ok) in {result.waves} waves, {result.wall:.2f} s"
    )
    return 0


# -- the parser -------------------------------------------------------------------------


def add_subcommands(sub: Any) -> None:
    from minireactor.lab import SERVER_MODELS, STRATEGIES
    from minireactor.lab.internet import add_arguments as internet_arguments
    from minireactor.lab.server_process import add_arguments as server_arguments

    p = sub.add_parser("internet", help="serve a local, seeded internet in the foreground")
    internet_arguments(p)
    p.set_defaults(func=run_internet)

    p = sub.add_parser("fetch", help="fetch URLs with one strategy or all of them")
    p.add_argument(
        "--strategy",
        default="thread_pool",
        help=f"all, or comma-separated: {', '.join(STRATEGIES)}",
    )
    p.add_argument("--urls", type=int, default=100, help="how many local URLs")
    p.add_argument("--url-file", help="a file of real http(s):// URLs, one a line")
    p.add_argument("--base-url", help="a running local internet (default: start one)")
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--cpu", type=int, default=0, help="burn fib(N) per page")
    p.add_argument("--scheduler", help="dask: an existing scheduler (default: a LocalCluster)")
    p.add_argument("--backend", help="minireactor strategies: the reactor backend")
    _add_site_options(p)
    _add_output_options(p)
    p.set_defaults(func=run_fetch)

    p = sub.add_parser("serve", help="run a server model in the foreground")
    p.add_argument("--model", default="minireactor", choices=SERVER_MODELS)
    server_arguments(p)
    p.set_defaults(func=run_serve)

    p = sub.add_parser("load", help="load a server and measure it")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--protocol", default="http", choices=("http", "echo"))
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--rate", type=float, default=None, help="open loop: requests per second")
    p.add_argument("--path", default="/")
    p.add_argument("--size", type=int, default=64, help="echo message size")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--no-keepalive", action="store_true")
    p.add_argument("--processes", type=int, default=1, help="generator processes (0: inline)")
    p.add_argument("--cpu", type=int, default=None, help="pin the generator to this CPU")
    p.add_argument(
        "--engine",
        default="auto",
        choices=("auto", "c", "python"),
        help="load generator: c (fast; closed loop, keep-alive), python, or auto "
        "(c for closed-loop echo when a C compiler is at hand)",
    )
    _add_output_options(p)
    p.set_defaults(func=run_load)

    p = sub.add_parser("compare", help="sweep fetch strategies or server models; print a table")
    p.add_argument("what", choices=("fetch", "servers"))
    p.add_argument("--strategies", default="all")
    p.add_argument("--models", default="all")
    p.add_argument(
        "--backends",
        default=None,
        help="run the minireactor model on each of these backends (e.g. all, or epoll,poll)",
    )
    p.add_argument("--concurrency", type=_ints, default=[1, 10, 50], help="e.g. 1,10,50")
    p.add_argument("--clients", type=_ints, default=[1, 10, 50], help="e.g. 1,10,50")
    p.add_argument("--urls", type=int, default=100)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--cpu", type=int, default=0)
    p.add_argument("--duration", type=float, default=2.0)
    p.add_argument("--workload", default="http", choices=("http", "echo"))
    p.add_argument("--path", default="/")
    p.add_argument("--processes", type=int, default=1)
    _add_site_options(p)
    _add_output_options(p)
    p.set_defaults(func=run_compare)

    p = sub.add_parser("crawl", help="crawl the local internet (or a site) breadth first")
    p.add_argument("--start-url")
    p.add_argument("--strategy", default="asyncio")
    p.add_argument("--max-pages", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--json", action="store_true")
    _add_site_options(p)
    p.set_defaults(func=run_crawl)


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--plot", metavar="FILE.png", help="save a figure")

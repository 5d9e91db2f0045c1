"""The HTTP benchmark: keep-alive "hello" on minireactor, aiohttp, twisted.web, http.server.

    .venv/bin/python -m benchmarks.http                    # every server, ~1 minute
    .venv/bin/python -m benchmarks.http --servers minireactor,aiohttp --repeats 3

The echo benchmark's method, with an HTTP client: for each repeat, each
server in turn is started fresh and pinned to one CPU, and the C keep-alive
client (`c/http_client.c`: N connections, one request in flight on each, every
response checked for status 200 and body `hello`) runs pinned to another.
The server's CPU is read from /proc when the client opens and closes its
measured window. Figures: requests/s, server CPU per request, latency; ratios
to aiohttp, and minireactor's ratios to aiohttp and twisted.web against the
targets (1.5x and 2x req/s).

When `wrk` is installed, each server is also measured under `wrk -t1 -cN`
(as a second client, `--client wrk` or `both`); it is never required.

Read next: `servers/http_servers.py` (the servers), `echo.py` (the harness
this reuses: `measure_window`, `derive`), `README.md` (the method).
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python benchmarks/http.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import importlib.util
import json
import os
import re
import shutil
import time
from typing import Any

from benchmarks import report
from benchmarks.build import BuildError, ensure_built
from benchmarks.echo import (
    Config,
    RunError,
    Snapshot,
    _snapshot,
    _start_server,
    make_config,
    measure_window,
    metadata,
    progress,
)
from benchmarks.processes import PinnedProcess
from benchmarks.servers import ServerSpec

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BASELINE = "aiohttp"
SUBJECT = "minireactor"
# The targets: minireactor's req/s over each peer's, at least.
TARGETS = {"aiohttp": 1.5, "twisted-web": 2.0}
BODY = "hello"


def catalog() -> list[ServerSpec]:
    """The HTTP servers, in report order, with the reason any cannot run here."""

    def spec(name: str, backend: str, about: str, needs: str | None = None) -> ServerSpec:
        skip = None
        if needs is not None and importlib.util.find_spec(needs) is None:
            skip = f"{needs} is not installed (pip install -e '.[dev,peers]')"
        argv = [sys.executable, "-m", "benchmarks.servers.http_servers", "--backend", backend]
        return ServerSpec(name, argv, about, skip)

    return [
        spec("minireactor", "minireactor", "minireactor.protocols.http, best backend"),
        spec("aiohttp", "aiohttp", "aiohttp.web on asyncio's loop", "aiohttp"),
        spec("twisted-web", "twisted", "twisted.web Site, epoll reactor", "twisted"),
        spec("http-server", "stdlib", "http.server.ThreadingHTTPServer, HTTP/1.1"),
    ]


def select_servers(patterns: str | None) -> tuple[list[ServerSpec], dict[str, str]]:
    """The servers named in --servers (all by default) that can run, and the skipped ones."""
    specs = catalog()
    wanted = {p.strip() for p in (patterns or "").split(",") if p.strip()}
    unknown = wanted - {s.name for s in specs}
    if unknown:
        known = ", ".join(s.name for s in specs)
        raise SystemExit(f"--servers: unknown {', '.join(sorted(unknown))}; known: {known}")
    chosen = [s for s in specs if not wanted or s.name in wanted]
    skipped = {s.name: s.skip_reason for s in chosen if s.skip_reason is not None}
    return [s for s in chosen if s.skip_reason is None], skipped


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; see --help."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.http", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    add = parser.add_argument
    add("--servers", help="comma-separated: minireactor, aiohttp, twisted-web, http-server")
    add("--repeats", type=int, default=5, help="runs of each server (default 5)")
    add("--duration", type=float, default=2.0, help="measured seconds per run (default 2)")
    add("--warmup", type=float, default=0.5, help="unmeasured seconds before each run")
    add("--connections", type=int, default=50, help="keep-alive connections (default 50)")
    add("--client", choices=["c", "wrk", "both"], default="c", help="load client (default c)")
    add("--json", type=Path, help="where to write results (default benchmarks/results/...)")
    add("--server-cpu", type=int, help="CPU for the server (default: first usable)")
    add("--client-cpu", type=int, help="CPU for the client (default: second usable)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.duration <= 0 or args.warmup < 0 or args.connections < 1:
        parser.error("need --repeats >= 1, --duration > 0, --warmup >= 0, --connections >= 1")
    args.size = None  # make_config and metadata read it; HTTP has no message size
    return args


def measure_c(spec: ServerSpec, cfg: Config, client_bin: Path) -> dict[str, Any]:
    """One run under the C keep-alive client."""
    connections = cfg.connections[0]

    def client_argv(port: int) -> list[str]:
        return [
            str(client_bin), "--port", str(port), "--connections", str(connections),
            "--expect", BODY, "--duration", str(cfg.duration), "--warmup", str(cfg.warmup),
        ]  # fmt: skip

    return measure_window(spec, cfg, client_argv)


_WRK_RATE = re.compile(r"Requests/sec:\s+([0-9.]+)")
_WRK_COUNT = re.compile(r"(\d+) requests in ([0-9.]+)(m?s)")
_WRK_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)")


def measure_wrk(spec: ServerSpec, cfg: Config, wrk: str) -> dict[str, Any]:
    """One run under wrk: a warm-up invocation, then a measured one.

    wrk prints no START marker, so the server's CPU is read just before the
    measured invocation starts and just after it ends; its own start-up (a
    few ms) falls inside the window, which makes CPU per request slightly
    pessimistic. Latency percentiles are not parsed (wrk reports its own).
    """
    server, port = _start_server(spec, cfg)
    url = f"http://127.0.0.1:{port}/"

    def wrk_argv(seconds: float) -> list[str]:
        # wrk takes whole seconds only.
        return [wrk, "-t1", f"-c{cfg.connections[0]}", f"-d{max(1, round(seconds))}s", url]

    with server:
        if cfg.warmup > 0:
            with PinnedProcess(wrk_argv(cfg.warmup), cfg.client_cpu) as warm:
                _read_all(warm, cfg.warmup + 30)
        with PinnedProcess(wrk_argv(cfg.duration), cfg.client_cpu) as client:
            before = _snapshot(server, client, cfg)
            output = _read_all(client, cfg.duration + 30)
            after = _snapshot(server, client, cfg)
    window = Snapshot.delta(after, before)
    count = _WRK_COUNT.search(output)
    if count is None or _WRK_RATE.search(output) is None:
        raise RunError(f"cannot parse wrk's output: {output[-500:]}")
    requests = int(count.group(1))
    bad = sum(int(m.group(1)) for m in _WRK_ERRORS.finditer(output) if m.group(1))
    return {
        "requests": requests,
        "errors": bad + (1 if "Socket errors" in output else 0),
        "req_per_s": float(_WRK_RATE.search(output).group(1)),  # type: ignore[union-attr]
        "server_user_us": window.server.user / max(requests, 1) * 1e6,
        "server_total_us": window.server.total / max(requests, 1) * 1e6,
        "server_cpu_pct": window.server.total / window.wall * 100,
        "client_cpu_pct": window.client.total / window.wall * 100,
        "server_cpu_others_pct": (window.server_cpu.busy - window.server.total) / window.wall * 100,
        "server_cpu_steal_pct": window.server_cpu.steal / window.wall * 100,
        "client_cpu_steal_pct": window.client_cpu.steal / window.wall * 100,
        "p50_us": 0.0,
        "p99_us": 0.0,
    }


def _read_all(proc: PinnedProcess, timeout: float) -> str:
    """Every line the process prints until it closes its output."""
    lines = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            lines.append(proc.read_line(max(0.1, deadline - time.monotonic())))
    except EOFError:
        return "\n".join(lines)
    except TimeoutError:
        raise RunError("wrk did not finish in time") from None


def run_all(
    specs: list[ServerSpec], clients: list[str], args: argparse.Namespace, cfg: Config
) -> list[dict[str, Any]]:
    """Every run, interleaved: for each repeat, each client, each server once."""
    client_bin = ensure_built("http_client")
    wrk = shutil.which("wrk") or ""
    runs: list[dict[str, Any]] = []
    total = args.repeats * len(specs) * len(clients)
    for repeat in range(args.repeats):
        for client in clients:
            for spec in specs:
                try:
                    if client == "c":
                        run = measure_c(spec, cfg, client_bin)
                    else:
                        run = measure_wrk(spec, cfg, wrk)
                except RunError as exc:
                    run = {"error": str(exc)}
                run.update(server=spec.name, size=0, client=client, repeat=repeat)
                run["group"] = f"{client}-c{cfg.connections[0]}"
                runs.append(run)
                print(progress(len(runs), total, spec, run["group"], run), flush=True)
    return runs


def add_targets(summaries: dict[str, report.Summary]) -> dict[str, dict[str, Any]]:
    """minireactor's req/s and CPU ratio to each target peer, per client group."""
    checks: dict[str, dict[str, Any]] = {}
    for group, summary in summaries.items():
        subject = summary.get(SUBJECT, {})
        for peer, goal in TARGETS.items():
            entry = summary.get(peer, {})
            if not subject.get("runs_ok") or not entry.get("runs_ok"):
                continue
            ratio = subject["req_per_s"]["median"] / entry["req_per_s"]["median"]
            cpu = subject["server_total_us"]["median"] / entry["server_total_us"]["median"]
            checks.setdefault(group, {})[peer] = {
                "target_req_per_s_ratio": goal,
                "req_per_s_ratio": ratio,
                "cpu_per_req_ratio": cpu,
                "met": ratio >= goal,
            }
    return checks


def format_targets(checks: dict[str, dict[str, Any]]) -> str:
    """One line per target: the measured ratio, the goal, met or not."""
    lines = []
    for group, by_peer in checks.items():
        for peer, c in by_peer.items():
            lines.append(
                f"target [{group}] {SUBJECT} req/s vs {peer}: {c['req_per_s_ratio']:.2f}x "
                f"(goal >= {c['target_req_per_s_ratio']:g}x: {'met' if c['met'] else 'NOT met'}); "
                f"CPU per request {c['cpu_per_req_ratio']:.2f}x of {peer}'s"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status (0 unless nothing could run)."""
    args = parse_args(argv)
    specs, skipped = select_servers(args.servers)
    args.connections = [args.connections]
    cfg = make_config(args)
    clients = {"c": ["c"], "wrk": ["wrk"], "both": ["c", "wrk"]}[args.client]
    if "wrk" in clients and shutil.which("wrk") is None:
        print("wrk is not installed: measuring with the C client only")
        clients = ["c"]
    for name, reason in skipped.items():
        print(f"skipping {name}: {reason}")
    if not specs:
        print("no server to run", file=sys.stderr)
        return 1
    os.sched_setaffinity(0, {cfg.client_cpu})
    meta = metadata(args, cfg, prog="benchmarks.http")
    try:
        runs = run_all(specs, clients, args, cfg)
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 2
    meta["loadavg_end"] = os.getloadavg()
    summaries = report.summarise(runs, [spec.name for spec in specs])
    for summary in summaries.values():
        report.add_ratios(summary, BASELINE)
    targets = add_targets(summaries)
    title = (
        f'http: keep-alive GET -> 200 "{BODY}", {cfg.connections[0]} connections, '
        f"{args.repeats} repeats x {cfg.duration:g} s (+{cfg.warmup:g} s warm-up); "
        f"server CPU {cfg.server_cpu}, client CPU {cfg.client_cpu}"
    )
    print()
    print(
        report.format_table(
            summaries, title, BASELINE, short="aioh", group_title=lambda g: f"client {g}"
        )
    )
    print()
    print(format_targets(targets))
    path: Path = args.json or RESULTS_DIR / f"http-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "meta": meta,
        "skipped": skipped,
        "summary": summaries,
        "targets": targets,
        "runs": runs,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults written to {path}")
    return 1 if all("error" in run for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())

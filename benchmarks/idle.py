"""Idle-connection scaling: 10 busy echo connections among 0, 1,000 or 5,000 idle ones.

    .venv/bin/python -m benchmarks.idle                 # every backend, ~1.5 minutes
    .venv/bin/python -m benchmarks.idle --backends epoll,poll --idle 0,5000 --repeats 3

What an event loop's wait costs when most connections say nothing. The C
echo client first opens K idle connections (they never send), then 10
active ones that echo 1 KiB messages in a closed loop; the minireactor echo
server runs on each backend in turn, pinned as in `echo.py`, and we measure
the active connections' throughput and the server's CPU per request.

What to expect, and why: select(2) and poll(2) hand the kernel every
watched descriptor on every wait, and Python rebuilds or rescans the lists,
so each loop pass costs O(watched) and throughput falls as K grows. epoll
keeps the interest list in the kernel and returns only ready descriptors:
a pass costs O(ready), so 5,000 idle connections should cost almost
nothing (target: >= 90 % of its 0-idle throughput). The threaded backend
parks one thread per descriptor; idle ones sleep, so its cost is memory and
start-up rather than per-wait work. select cannot go past FD_SETSIZE (1024)
at all: its 5,000 cell is a gap, recorded with the reason.

Every child gets the hard RLIMIT_NOFILE (`processes.raise_fd_limit`).
Read next: `plots.py` (`idle_figure` draws this), `echo.py` (the harness).
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import os
import resource
import time
from typing import Any

from benchmarks import report
from benchmarks.build import BuildError, ensure_built
from benchmarks.echo import (
    Config,
    RunError,
    make_config,
    measure_window,
    metadata,
    progress,
)
from benchmarks.servers import ServerSpec

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BACKENDS = ("select", "poll", "epoll", "threaded")
FD_SETSIZE = 1024
# Descriptors the minireactor echo server holds besides its connections
# (stdin/out/err, the waker, the listener, the reserve descriptor).
SERVER_OVERHEAD_FDS = 6
TARGET_BACKEND, TARGET_IDLE, TARGET_RETAINED = "epoll", 5000, 0.90


def spec_for(backend: str) -> ServerSpec:
    """The minireactor echo server on `backend`."""
    argv = [sys.executable, "-m", "benchmarks.servers.minireactor_echo", "--backend", backend]
    return ServerSpec(f"minireactor-{backend}", argv, f"minireactor echo, {backend}")


def gap_reason(backend: str, idle: int, active: int) -> str | None:
    """Why a (backend, idle) cell cannot be measured, or None when it can."""
    if backend == "select" and idle + active + SERVER_OVERHEAD_FDS > FD_SETSIZE:
        return (
            f"select(2) cannot watch descriptors >= FD_SETSIZE ({FD_SETSIZE}); "
            f"{idle} idle + {active} active connections need more"
        )
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    # The threaded backend adds one eventfd per watched descriptor.
    needed = (idle + active) * (2 if backend == "threaded" else 1) + 64
    if hard != resource.RLIM_INFINITY and needed > hard:
        return f"needs {needed} descriptors; the hard RLIMIT_NOFILE here is {hard}"
    return None


def parse_idle(text: str) -> list[int]:
    """A comma-separated list of idle-connection counts, 0 allowed: '0,1000,5000'."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad idle count in {text!r}: use e.g. 0,1000") from None
    if not counts or min(counts) < 0:
        raise argparse.ArgumentTypeError(f"idle counts must be >= 0, got {text!r}")
    return counts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; see --help."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.idle", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    add = parser.add_argument
    add("--backends", default=",".join(BACKENDS), help="comma-separated minireactor backends")
    add("--idle", type=parse_idle, default=[0, 1000, 5000], help="idle counts: 0,1000,5000")
    add("--active", type=int, default=10, help="active echo connections (default 10)")
    add("--size", type=int, default=1024, help="message size in bytes (default 1024)")
    add("--repeats", type=int, default=5, help="runs of each cell (default 5)")
    add("--duration", type=float, default=1.0, help="measured seconds per run (default 1)")
    add("--warmup", type=float, default=0.3, help="unmeasured seconds before each run")
    add("--json", type=Path, help="where to write results (default benchmarks/results/...)")
    add("--server-cpu", type=int, help="CPU for the server (default: first usable)")
    add("--client-cpu", type=int, help="CPU for the client (default: second usable)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.duration <= 0 or args.active < 1:
        parser.error("need --repeats >= 1, --duration > 0, --active >= 1")
    args.connections = [args.active]
    return args


def measure(spec: ServerSpec, idle: int, args: argparse.Namespace, cfg: Config) -> dict[str, Any]:
    """One run: `idle` silent connections, then `args.active` echoing ones."""
    client_bin = ensure_built("echo_client")

    def client_argv(port: int) -> list[str]:
        return [
            str(client_bin), "--port", str(port), "--size", str(args.size),
            "--connections", str(args.active), "--idle", str(idle),
            "--duration", str(cfg.duration), "--warmup", str(cfg.warmup),
        ]  # fmt: skip

    return measure_window(spec, cfg, client_argv)


def run_all(
    backends: list[str], args: argparse.Namespace, cfg: Config
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every run, interleaved: for each repeat, each idle count, each backend once."""
    runs: list[dict[str, Any]] = []
    gaps: dict[str, str] = {}
    cells = [(idle, b) for idle in args.idle for b in backends]
    for idle, backend in cells:
        reason = gap_reason(backend, idle, args.active)
        if reason is not None:
            gaps[f"{backend}@{idle}"] = reason
    todo = [(i, b) for i, b in cells if f"{b}@{i}" not in gaps]
    total = len(todo) * args.repeats
    for repeat in range(args.repeats):
        for idle, backend in todo:
            spec = spec_for(backend)
            try:
                run = measure(spec, idle, args, cfg)
            except RunError as exc:
                run = {"error": str(exc)}
            run.update(server=spec.name, backend=backend, idle=idle, size=args.size, repeat=repeat)
            run["group"] = f"idle{idle}"
            runs.append(run)
            print(progress(len(runs), total, spec, f"idle {idle}", run), flush=True)
    return runs, gaps


def retained(summaries: dict[str, report.Summary], backends: list[str]) -> dict[str, Any]:
    """Each backend's median req/s at each idle count over its 0-idle median."""
    result: dict[str, Any] = {}
    for backend in backends:
        name = f"minireactor-{backend}"
        base = summaries.get("idle0", {}).get(name, {})
        if not base.get("runs_ok"):
            continue
        for group, summary in summaries.items():
            entry = summary.get(name, {})
            if entry.get("runs_ok"):
                share = entry["req_per_s"]["median"] / base["req_per_s"]["median"]
                result.setdefault(backend, {})[group.removeprefix("idle")] = share
    return result


def format_retained(shares: dict[str, Any], gaps: dict[str, str], idle: list[int]) -> str:
    """A small table: share of 0-idle throughput kept, per backend and idle count."""
    lines = ["share of the 0-idle req/s kept (median / median):"]
    lines.append(f"{'backend':<10}" + "".join(f"{f'{n} idle':>12}" for n in idle))
    for backend, by_idle in shares.items():
        cells = []
        for n in idle:
            value = by_idle.get(str(n))
            gap = f"{backend}@{n}" in gaps
            cells.append(f"{'gap' if gap else '-' if value is None else f'{value:.0%}':>12}")
        lines.append(f"{backend:<10}" + "".join(cells))
    for cell, reason in gaps.items():
        lines.append(f"gap {cell}: {reason}")
    goal = shares.get(TARGET_BACKEND, {}).get(str(TARGET_IDLE))
    if goal is not None:
        verdict = "met" if goal >= TARGET_RETAINED else "NOT met"
        lines.append(
            f"target: {TARGET_BACKEND} keeps >= {TARGET_RETAINED:.0%} at {TARGET_IDLE} idle: "
            f"{goal:.0%} ({verdict})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status (0 unless nothing could run)."""
    args = parse_args(argv)
    import minireactor

    here = set(minireactor.available_backends())
    wanted = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in wanted if b not in BACKENDS]
    if unknown:
        raise SystemExit(f"--backends: unknown {', '.join(unknown)}; choose from {BACKENDS}")
    backends = [b for b in wanted if b in here]
    for b in wanted:
        if b not in here:
            print(f"skipping {b}: not available on this machine")
    cfg = make_config(args)
    os.sched_setaffinity(0, {cfg.client_cpu})
    meta = metadata(args, cfg, prog="benchmarks.idle")
    meta.update(idle=args.idle, active=args.active, backends=backends)
    try:
        runs, gaps = run_all(backends, args, cfg)
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 2
    meta["loadavg_end"] = os.getloadavg()
    names = [spec_for(b).name for b in backends]
    summaries = report.summarise(runs, names)
    for summary in summaries.values():
        report.add_ratios(summary, "minireactor-epoll")
    shares = retained(summaries, backends)
    title = (
        f"idle: {args.active} active x {args.size} B echo among N idle connections, "
        f"{args.repeats} repeats x {cfg.duration:g} s; server CPU {cfg.server_cpu}, "
        f"client CPU {cfg.client_cpu}"
    )
    print()
    print(
        report.format_table(
            summaries,
            title,
            "minireactor-epoll",
            short="epoll",
            group_title=lambda g: f"{g.removeprefix('idle')} idle connections",
        )
    )
    print()
    print(format_retained(shares, gaps, args.idle))
    path: Path = args.json or RESULTS_DIR / f"idle-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "meta": meta,
        "gaps": gaps,
        "summary": summaries,
        "retained": shares,
        "runs": runs,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults written to {path}")
    return 1 if runs and all("error" in run for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
